"""Stop signals of the supervising process: SIGTERM/SIGINT/SIGHUP set the stop flag
(``stop_requested``); a second Ctrl+C sets ``kill_now`` (SIGKILL instead of waiting)."""
from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any


class StopSignals:
    """Installed stop handlers. Call it to restore the previous handlers.

    ``received`` lists the signals in arrival order; ``exit_code`` is 128 + the first one
    (130 for SIGINT, 143 for SIGTERM), None if none arrived.
    """

    SIGNALS: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

    def __init__(
        self, stop_requested: threading.Event, kill_now: threading.Event, received: list[int] | None = None
    ) -> None:
        self.stop_requested = stop_requested
        self.kill_now = kill_now
        self.received: list[int] = received if received is not None else []
        self._previous: dict[int, Any] = {}

    @property
    def signal_number(self) -> int | None:
        return self.received[0] if self.received else None

    @property
    def exit_code(self) -> int | None:
        return 128 + self.received[0] if self.received else None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        already_stopping = bool(self.received)
        self.received.append(signum)
        # A second Ctrl+C means "now": SIGKILL instead of waiting out stop_timeout. Only a
        # signal counts, so one Ctrl+C during the scheduled close does not kill engines
        # that are flattening their positions.
        if already_stopping and signum == signal.SIGINT:
            self.kill_now.set()
        self.stop_requested.set()

    def install(self) -> None:
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def __call__(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()


def install_stop_signals(
    stop_requested: threading.Event, kill_now: threading.Event, received: list[int] | None = None
) -> StopSignals:
    """SIGTERM/SIGINT/SIGHUP set ``stop_requested``; a second SIGINT also sets ``kill_now``.

    Must be called from the main thread (Python delivers signals there). Returns a callable
    that restores the previous handlers and records which signal arrived (``.received``,
    ``.exit_code``); signal numbers are also appended to ``received`` if given.
    """
    handlers = StopSignals(stop_requested, kill_now, received)
    handlers.install()
    return handlers
