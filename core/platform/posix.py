"""The POSIX side of core/platform (Linux, macOS): sessions and process groups, signals, flock.

What tradeday did before the platform layer existed, moved here unchanged: an engine or hook
leads a new session (``start_new_session``), so its pid is its process-group id; the group is
found by ``getpgid``/``getsid``, stopped with ``killpg``; on Linux the child gets
``PR_SET_PDEATHSIG`` so that it hears of tradeday's death.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # psutil (~10 ms) loads where a process is looked at, not on every command's start
    import psutil

# Only imported on POSIX (core/platform/__init__.py); this tells `mypy --platform win32` so.
assert sys.platform != "win32"

NAME = "posix"
# The hard kill, as a "signal" for proctree: SIGKILL here.
KILL = int(signal.SIGKILL)
KILL_NAME = "SIGKILL"
# Mode bits say who may read a file (secrets-mode checks, 0600 files).
MODE_BITS = True
# Signals that ask tradeday to stop (session/supervisor/signals.py); 128 + the first is the exit code.
STOP_SIGNALS: tuple[int, ...] = (int(signal.SIGTERM), int(signal.SIGINT), int(signal.SIGHUP))
# Ctrl+C twice: kill now.
INTERRUPT_SIGNAL = int(signal.SIGINT)

_PR_SET_PDEATHSIG = 1

Stream = int | IO[Any] | None


# Engine output that is not UTF-8 is shown with U+FFFD on a POSIX console (the log keeps the bytes).
ENGINE_OUTPUT_FALLBACK: str | None = None

def prepare_std_streams() -> None:
    """Nothing to adjust on POSIX (see the Windows side)."""


def machine_name() -> str:
    return os.uname().nodename or socket.gethostname()


def _linux_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_PRCTL = _linux_prctl()


def _child_setup(stop_signal: int | None, parent_death_signal: int | None) -> Callable[[], None]:
    """The preexec function: runs in the forked child, before exec. Keep it minimal.

    * Default dispositions for the stop and death signals: ignored signals stay ignored
      across exec (a tradeday started with `cmd &` from a script ignores SIGINT), and the
      engine must die or handle them itself.
    * PR_SET_PDEATHSIG, then getppid(): if tradeday died between fork and prctl, the
      signal will never come, so deliver it ourselves. PR_SET_PDEATHSIG fires when the
      *thread* that forked the child exits: fork from a thread that lives as long as the
      supervision (session/supervisor/spawn.py's Spawner).
    """
    parent_pid = os.getpid()
    signals = ({stop_signal} if stop_signal else set()) | ({parent_death_signal} if parent_death_signal else set())
    prctl = _PRCTL if parent_death_signal else None

    def setup() -> None:
        for sig in signals:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
        if prctl is not None and parent_death_signal:
            if prctl(_PR_SET_PDEATHSIG, parent_death_signal, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), parent_death_signal)
                os._exit(128 + parent_death_signal)

    return setup


def start_process(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None,
    env: dict[str, str],
    stdin: Stream = subprocess.DEVNULL,
    stdout: Stream = None,
    stderr: Stream = None,
    stop_signal: int | None = None,
    parent_death_signal: int | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` leading its own session and process group (pid == group id).

    With ``stop_signal`` / ``parent_death_signal``, those get their default dispositions in the
    child, and the death signal is armed (Linux: PR_SET_PDEATHSIG). Raises what Popen raises.
    """
    preexec = _child_setup(stop_signal, parent_death_signal) if (stop_signal or parent_death_signal) else None
    return subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr,
        start_new_session=True, close_fds=True, preexec_fn=preexec,
    )


class ProcessGroup:
    """An engine's or hook's process group and session: its leader's pid is the group id."""

    def __init__(self, leader_pid: int) -> None:
        self.leader_pid = leader_pid

    def member_pids(self) -> set[int]:
        """Every live pid still in the group or the session (re-parented orphans included)."""
        import psutil

        leader = self.leader_pid
        found = set()
        for pid in psutil.pids():
            try:
                if os.getpgid(pid) == leader or os.getsid(pid) == leader:
                    found.add(pid)
            except OSError:
                continue
        return found

    def holds(self, pid: int) -> bool | None:
        """Whether ``pid`` is in the group now; None once it is gone."""
        try:
            return os.getpgid(pid) == self.leader_pid
        except OSError:
            return None

    def request_stop(self, sig: int) -> None:
        """The stop signal to the whole group (also reaches members forked after a scan)."""
        self._killpg(sig)

    def kill(self) -> None:
        self._killpg(KILL)

    def _killpg(self, sig: int) -> None:
        try:
            os.killpg(self.leader_pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def release(self) -> None:
        """Nothing to free here (the Windows side closes its job)."""


def group_of(leader_pid: int) -> ProcessGroup:
    return ProcessGroup(leader_pid)


def release_group(leader_pid: int) -> None:
    """Nothing to free (see the Windows side)."""


def request_stop_process(proc: psutil.Process, sig: int) -> None:
    """The stop signal to one process outside the group. psutil refuses a reused pid."""
    import psutil

    try:
        proc.send_signal(sig)
    except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
        pass


def kill_process(proc: psutil.Process) -> None:
    import psutil

    try:
        proc.kill()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
        pass


def clean_stop_codes(stop_signal: int) -> frozenset[int]:
    """Exit codes that mean "stopped as asked": 0, or dying of the stop signal (or 128 + it)."""
    return frozenset({0, -stop_signal, 128 + stop_signal})


def lock_is_held(path: str | os.PathLike[str]) -> bool | None:
    """Whether someone holds an exclusive flock on ``path``, never keeping it; None if the file
    is missing or the filesystem has no flock.

    A non-blocking *shared* flock on a separate read-only descriptor: it fails while a run
    holds the exclusive lock and, when it succeeds, is dropped at once.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return True
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def replace_file(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """``os.replace``: atomic on POSIX even while others have the target open."""
    os.replace(source, target)


def set_mode(target: int | str | os.PathLike[str], mode: int) -> None:
    """chmod / fchmod."""
    if isinstance(target, int):
        os.fchmod(target, mode)
    else:
        os.chmod(target, mode)


def install_console_handler(on_stop: Callable[[int], object], finished: threading.Event) -> Callable[[], None]:
    """Windows' console close/logoff/shutdown events have no POSIX counterpart beyond the signals
    (SIGHUP is one of STOP_SIGNALS): nothing to install. Returns the uninstaller."""
    return lambda: None

