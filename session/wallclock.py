"""The wall clock as ``tradeday run`` reads it, watched against the monotonic clock.

The market's open and close are wall-clock moments: they follow the wall clock, jumps included
(the exchange's clock does not jump with ours). ``--duration`` is a length of time: it runs on the
monotonic clock, which no NTP step, suspend or ``date -s`` moves. A jump of the wall clock of
more than JUMP_WARN_SECONDS between two readings is logged as a WARNING with its size, because
the close (and a wait for the open) moved with it.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

# Readings are at most a few seconds apart; NTP slews far slower than this.
JUMP_WARN_SECONDS = 3.0

log = logging.getLogger("tradeday.run")


def _span(seconds: float) -> str:
    from core.durations import format_duration

    seconds = abs(seconds)
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds:.0f}s ({format_duration(seconds)})"


class WatchedClock:
    """``now()`` is ``datetime.now(UTC)``; each reading is compared with the previous one on the
    monotonic clock, and a difference beyond ``threshold`` is logged once per jump."""

    def __init__(self, threshold: float = JUMP_WARN_SECONDS) -> None:
        self.threshold = threshold
        self._lock = threading.Lock()
        self._last: tuple[float, float] | None = None  # (wall, monotonic) of the last reading
        self.jumps: list[float] = []  # seconds, + forward, - back

    def now(self) -> datetime:
        wall, mono = time.time(), time.monotonic()
        with self._lock:
            last, self._last = self._last, (wall, mono)
        if last is not None:
            jump = (wall - last[0]) - (mono - last[1])
            if abs(jump) > self.threshold:
                self.jumps.append(jump)
                log.warning("the wall clock jumped %s by %s (an NTP step, a suspend or a manual change); "
                            "the market's open and close follow the wall clock, --duration does not",
                            "forward" if jump > 0 else "back", _span(jump))
        return datetime.fromtimestamp(wall, UTC)


class StopOrTime(threading.Event):
    """Set when ``stop`` is, or once the monotonic clock reaches ``end``: the supervisor's loop
    returns for either (``run_until`` takes a wall-clock deadline, and a wall clock stepped back
    would stretch a chunk of the session by the size of the step)."""

    def __init__(self, stop: threading.Event, end: float) -> None:
        super().__init__()
        self._stop_event = stop
        self._end = end

    def is_set(self) -> bool:
        return self._stop_event.is_set() or time.monotonic() >= self._end

    def wait(self, timeout: float | None = None) -> bool:
        left = max(0.0, self._end - time.monotonic())
        self._stop_event.wait(left if timeout is None else min(timeout, left))
        return self.is_set()


