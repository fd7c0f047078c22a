"""Writes that fail because of the disk (full, quota, I/O error, read-only): said once, not per write.

tradeday's writers during a session (the engine logs, tradeday.log, the state file) never let a
failed write stop trading: they drop what they cannot write, count it, retry now and then, and
report here. ``DISK_FAULTS`` turns those reports into one CRITICAL log line and one call of each
listener (``tradeday run`` sends the ``disk_full`` notification) per *episode*: from the first
failed write until every failing file is written again. A disk that fills again within
``REALERT_SECONDS`` of the last alert gets a WARNING line and no second alert, so a disk on
the edge cannot flood anybody.

Every method may be called from any thread (reader threads, the supervising thread, logging
handlers) and never raises; listeners and log lines run outside the lock, so a log handler
that reports a failure of its own file while this module logs cannot deadlock.
"""
from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# The errors of the disk itself, as opposed to a wrong path or permission.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})

# A writer that failed tries its file again at most this often: a write to a failing disk
# (EIO) can take long, and the writers run on reader threads and the supervising thread.
RETRY_SECONDS = 2.0
REALERT_SECONDS = 3600.0

_log = logging.getLogger("tradeday.disk")


@dataclass(frozen=True)
class DiskFault:
    """One file that cannot be written: what it is, where, and the error."""

    what: str  # "the engine log of chatty", "tradeday.log", "the state file"
    path: str
    errno: int | None
    error: str  # the error's text, e.g. "No space left on device"

    @property
    def of_the_disk(self) -> bool:
        return self.errno in DISK_ERRNOS

    @property
    def full(self) -> bool:
        return self.errno in _FULL_ERRNOS

    def while_text(self) -> str:
        """How the gap is described: "while the disk was full", or with the error."""
        return "while the disk was full" if self.full else f"while writes failed ({self.error})"


def fault_of(what: str, path: str | os.PathLike[str], exc: OSError) -> DiskFault:
    return DiskFault(what=what, path=os.fspath(path), errno=exc.errno, error=exc.strerror or str(exc))


Listener = Callable[[DiskFault], None]


class DiskFaults:
    """The process-wide record of files that cannot be written (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing: dict[str, DiskFault] = {}
        self._listeners: list[Listener] = []
        self._last_alert: float | None = None
        self._local = threading.local()

    def failed(self, fault: DiskFault) -> None:
        """A write of ``fault.path`` failed; it is dropped (the writer counts what) and retried."""
        with self._lock:
            new_path = fault.path not in self._failing
            episode_starts = not any(f.of_the_disk for f in self._failing.values())
            self._failing[fault.path] = fault
            now = time.monotonic()
            alert = (fault.of_the_disk and episode_starts
                     and (self._last_alert is None or now - self._last_alert >= REALERT_SECONDS))
            if alert:
                self._last_alert = now
            listeners = list(self._listeners)
        if not new_path or getattr(self._local, "busy", False):
            return  # already said; or this is the log line about it failing in turn
        self._local.busy = True
        try:
            self._say(fault, alert=alert, episode_starts=episode_starts, listeners=listeners)
        finally:
            self._local.busy = False

    def _say(self, fault: DiskFault, *, alert: bool, episode_starts: bool, listeners: list[Listener]) -> None:
        if not fault.of_the_disk:
            _log.error("cannot write %s (%s: %s); what it should hold is dropped (counted) until it works again",
                       fault.what, fault.path, fault.error)
        elif alert:
            _log.critical(
                "disk %s: cannot write %s (%s: %s); trading continues: engine output and log lines are "
                "dropped (counted) and the state file keeps its last good content until space returns",
                "full" if fault.full else "failing", fault.what, fault.path, fault.error)
            for listener in listeners:
                try:
                    listener(fault)
                except Exception as exc:  # a listener's bug must not reach a writer
                    _log.error("disk fault listener failed: %s: %s", type(exc).__name__, exc)
        elif episode_starts:
            _log.warning("disk %s again: cannot write %s (%s: %s); dropping (counted) until space returns",
                         "full" if fault.full else "failing", fault.what, fault.path, fault.error)
        else:
            _log.warning("also cannot write %s (%s: %s)", fault.what, fault.path, fault.error)

    def recovered(self, path: str | os.PathLike[str], detail: str = "") -> None:
        """``path`` was written again after failing; ``detail`` says what was lost meanwhile."""
        with self._lock:
            fault = self._failing.pop(os.fspath(path), None)
            episode_over = not self._failing
        if fault is None or getattr(self._local, "busy", False):
            return
        self._local.busy = True
        try:
            _log.warning("%s (%s) is written again%s%s", fault.what, fault.path, f"; {detail}" if detail else "",
                         "; every file is written again" if episode_over else "")
        finally:
            self._local.busy = False

    @property
    def failing(self) -> list[DiskFault]:
        with self._lock:
            return list(self._failing.values())

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(fault)`` at each alert (any thread; keep it quick). Returns the unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def reset(self) -> None:
        """Forget every fault and the last alert (a new process state; tests)."""
        with self._lock:
            self._failing.clear()
            self._last_alert = None


DISK_FAULTS = DiskFaults()
