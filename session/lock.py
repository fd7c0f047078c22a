"""One ``tradeday run`` per trading day: an exclusive lock on ``{artifacts}/state/{day}.lock``.

The lock is a kernel ``flock`` (through filelock; on Windows a ``LockFileEx`` byte-range
lock), so it dies with its holder: a SIGKILLed run leaves the file behind but not the lock.
The holder's pid is written beside it, in ``{day}.lock.pid``, for the error message and the
precheck; the lock file itself stays empty because filelock owns it.

Both files are 0600 like everything tradeday writes (0640 with ``paths.group``, see
core/fileperms.py): a lock that anyone could open is one anyone could hold (``flock`` only
needs a read descriptor), and that would block tomorrow's run.
"""
from __future__ import annotations

import os
import stat
import time
from datetime import date
from pathlib import Path
from types import TracebackType

import filelock
import psutil

from core import platform
from core.errors import LockHeldError
from core.fileperms import file_mode
from core.fsutil import atomic_write_text

# A `tradeday check` probing the lock holds it (shared) for microseconds; a run that
# starts at that very moment retries for this long instead of failing.
_ACQUIRE_TIMEOUT_SECONDS = 0.3
_PID_READ_RETRIES = 10


def lock_path(artifacts: Path, day: date) -> Path:
    return Path(artifacts) / "state" / f"{day.isoformat()}.lock"


def _pid_path(path: Path) -> Path:
    return path.with_name(path.name + ".pid")


def _read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


class DayLock:
    """The held lock for one day; a context manager. Release it once (``release()`` or ``with``)."""

    def __init__(self, path: Path, day: date, file_lock: filelock.BaseFileLock) -> None:
        self.path = path
        self.day = day
        self.pid = os.getpid()
        self._file_lock = file_lock

    @property
    def held(self) -> bool:
        return bool(self._file_lock.is_locked)

    def release(self) -> None:
        if not self._file_lock.is_locked:
            return
        pid_file = _pid_path(self.path)
        # Remove the pid file first, and only if it is ours, while we still hold the lock.
        if _read_pid(pid_file) == self.pid:
            try:
                pid_file.unlink()
            except FileNotFoundError:
                pass
        self._file_lock.release(force=True)

    def __enter__(self) -> DayLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def acquire_day_lock(artifacts: Path, day: date) -> DayLock:
    """Take the day's lock or raise LockHeldError (exit 6) naming the holder's pid."""
    path = lock_path(artifacts, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    # thread_local=False: the lead may release from another thread than the one that acquired.
    # mode: filelock's default is 0644, whatever the umask says of it.
    file_lock = filelock.FileLock(path, timeout=_ACQUIRE_TIMEOUT_SECONDS, thread_local=False, mode=file_mode())
    try:
        file_lock.acquire()
    except filelock.Timeout:
        holder = lock_holder(artifacts, day)
        who = f" (pid {holder})" if holder else ""
        raise LockHeldError(
            f"another tradeday run holds the lock for {day.isoformat()}{who}",
            hint=f"wait for it to finish or stop it; the lock is {path}",
        ) from None
    try:
        _make_private(path)
        atomic_write_text(_pid_path(path), f"{os.getpid()}\n")
    except BaseException:
        file_lock.release(force=True)
        raise
    return DayLock(path, day, file_lock)


def _make_private(path: Path) -> None:
    """filelock sets the mode only on a file it creates; one left by an older version (0644)
    is made private once we hold it. A file someone else owns is theirs to fix. Windows: ACLs
    decide, not mode bits (nothing to do)."""
    if not platform.MODE_BITS:
        return
    try:
        if stat.S_IMODE(path.stat().st_mode) != file_mode():
            os.chmod(path, file_mode())
    except PermissionError:
        pass


def lock_holder(artifacts: Path, day: date) -> int | None:
    """The pid holding the day's lock right now, or None if nobody holds it. Never takes it.

    ``core.platform.lock_is_held`` probes without keeping the lock (POSIX: a non-blocking
    *shared* flock on a separate descriptor; Windows, which has no shared lock that could not
    block a starting run, an instant non-blocking exclusive one); a run starting in that
    instant retries (see _ACQUIRE_TIMEOUT_SECONDS). Returns 0 if the lock is held but the
    holder has not written its pid (yet).
    """
    path = lock_path(artifacts, day)
    held = platform.lock_is_held(path)
    if held is None:
        if not path.exists():
            return None
        # No locks on this filesystem: fall back to "pid file names a live process".
        pid = _read_pid(_pid_path(path))
        return pid if pid and psutil.pid_exists(pid) else None
    if not held:
        return None
    for _ in range(_PID_READ_RETRIES):
        pid = _read_pid(_pid_path(path))
        if pid is not None:
            return pid
        time.sleep(0.01)
    return 0
