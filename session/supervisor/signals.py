"""Stop signals of the supervising process.

SIGTERM, SIGINT and SIGHUP all mean "stop": they set the stop flag (``stop_requested``), and a
second Ctrl+C sets ``kill_now`` (SIGKILL instead of waiting out a grace period). The exit code
is 128 + the first signal: 143, 130, 129. On Windows (``core.platform.STOP_SIGNALS``) they are
SIGTERM, SIGINT (Ctrl+C) and SIGBREAK (Ctrl+Break, exit 149); closing the console window,
logoff and shutdown arrive as SIGTERM (``core.platform.install_console_handler``), and Windows
is held off until the handlers are restored (the engines stopped) or for about 5 s.

Two ways of stopping, because the work differs:

* **Flag** (the default): code that loops (the supervision loop, the wait for the open) polls
  ``stop_requested`` and winds down in order.
* **Raise** (``with signals.raising():``): code that runs straight through and may block for
  long (prechecks, end-of-day hooks and report steps, ``tradeday eod`` and ``report``) gets
  :class:`Interrupted` raised where it is, like Ctrl+C's KeyboardInterrupt. Only the first
  signal raises; a hook waiting for its process group stops that group on the way out
  (session/eod/hooks.py), and a second Ctrl+C then skips the group's grace period.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from core import platform


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived while raising was on. A KeyboardInterrupt, so code that already
    cleans up after Ctrl+C (a hook's process group) does the same for SIGTERM and SIGHUP.

    ``step`` names the end-of-day step it stopped, when the pipeline knows it.
    """

    def __init__(self, signum: int, step: str | None = None) -> None:
        super().__init__(signum)
        self.signum = signum
        self.step = step

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def __str__(self) -> str:
        where = f" during the end-of-day step {self.step}" if self.step else ""
        return f"stopped by {signal_name(self.signum)}{where}"


# The handlers installed now (signal handlers are process-wide): hooks find kill_now here.
_ACTIVE: list[StopSignals] = []


class StopSignals:
    """Installed stop handlers. Call it to restore the previous handlers.

    ``received`` lists the signals in arrival order; ``exit_code`` is 128 + the first one
    (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), None if none arrived.
    """

    SIGNALS: tuple[int, ...] = platform.STOP_SIGNALS

    def __init__(
        self, stop_requested: threading.Event, kill_now: threading.Event, received: list[int] | None = None
    ) -> None:
        self.stop_requested = stop_requested
        self.kill_now = kill_now
        self.received: list[int] = received if received is not None else []
        self._previous: dict[int, Any] = {}
        self._raising = 0
        self._finished = threading.Event()  # a console close event waits for it (Windows)
        self._uninstall_console: Any = None

    @property
    def signal_number(self) -> int | None:
        return self.received[0] if self.received else None

    @property
    def exit_code(self) -> int | None:
        return 128 + self.received[0] if self.received else None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        already_stopping = self._note(signum)
        if self._raising and not already_stopping:
            raise Interrupted(signum)

    def _note(self, signum: int) -> bool:
        """Record the signal and set the flags (never raises: also called off the main thread);
        True if a stop was already under way."""
        already_stopping = bool(self.received)
        self.received.append(signum)
        # A second Ctrl+C means "now": SIGKILL instead of waiting out stop_timeout. Only a
        # signal counts, so one Ctrl+C during the scheduled close does not kill engines
        # that are flattening their positions.
        if already_stopping and signum == platform.INTERRUPT_SIGNAL:
            self.kill_now.set()
        self.stop_requested.set()
        return already_stopping

    @contextmanager
    def raising(self) -> Iterator[None]:
        """Within the block, the first stop signal raises Interrupted where the main thread
        is. A signal that came before the block raises at its start: the block is not begun."""
        self._raising += 1
        try:
            if self.received:
                raise Interrupted(self.received[0])
            yield
        finally:
            self._raising -= 1

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only (a TradingOrchestrator started in a thread)
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        self._finished.clear()
        self._uninstall_console = platform.install_console_handler(self._note, self._finished)
        _ACTIVE.append(self)

    def __call__(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()
        self._finished.set()
        if self._uninstall_console is not None:
            self._uninstall_console()
            self._uninstall_console = None
        if self in _ACTIVE:
            _ACTIVE.remove(self)


def install_stop_signals(
    stop_requested: threading.Event, kill_now: threading.Event, received: list[int] | None = None
) -> StopSignals:
    """SIGTERM/SIGINT/SIGHUP (Windows: SIGBREAK for SIGHUP, and console close/logoff/shutdown as
    SIGTERM) set ``stop_requested``; a second SIGINT also sets ``kill_now``.

    Must be called from the main thread (Python delivers signals there). Returns a callable
    that restores the previous handlers and records which signal arrived (``.received``,
    ``.exit_code``); signal numbers are also appended to ``received`` if given.
    """
    handlers = StopSignals(stop_requested, kill_now, received)
    handlers.install()
    return handlers


def active_kill_now() -> threading.Event | None:
    """The installed handlers' ``kill_now`` (set by a second Ctrl+C), if handlers are installed."""
    return _ACTIVE[-1].kill_now if _ACTIVE else None


@contextmanager
def interrupt_on_stop_signals() -> Iterator[StopSignals]:
    """For a command without a loop of its own (``tradeday eod``, ``tradeday report``): install
    the stop handlers in raising mode for the block, and restore the previous ones after it.
    Interrupted propagates to the caller (the CLI exits with its ``exit_code``)."""
    handlers = StopSignals(threading.Event(), threading.Event())
    if threading.current_thread() is not threading.main_thread():
        yield handlers  # signal handlers can only be installed from the main thread
        return
    handlers.install()
    try:
        with handlers.raising():
            yield handlers
    finally:
        handlers()
