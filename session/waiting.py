"""Wait for a wall-clock moment without trusting a single long sleep.

A ``time.sleep(3600)`` measures monotonic time: after a laptop suspend or an NTP step the
wake-up lands at the wrong wall-clock time. Sleeping in short steps and re-reading the wall
clock each step lands within one step of the intended moment either way.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


def seconds_until(deadline: datetime, now: Callable[[], datetime] | None = None) -> float:
    """Seconds from now until ``deadline`` (negative once it passed). ``deadline`` must be tz-aware."""
    if deadline.tzinfo is None or deadline.utcoffset() is None:
        raise ValueError("deadline must be a timezone-aware datetime")
    return (deadline - (now or _utc_now)()).total_seconds()


def sleep_until(
    deadline: datetime,
    stop_requested: threading.Event,
    *,
    step: float = 1.0,
    now: Callable[[], datetime] | None = None,
) -> bool:
    """Sleep until the wall clock reaches ``deadline``; True when reached, False if stop was requested.

    Checks ``stop_requested`` at once and wakes the moment it is set; re-reads the wall clock
    at least every ``step`` seconds.
    """
    if step <= 0:
        raise ValueError("step must be positive")
    clock = now or _utc_now
    while True:
        if stop_requested.is_set():
            return False
        remaining = seconds_until(deadline, clock)
        if remaining <= 0:
            return True
        if stop_requested.wait(min(step, remaining)):
            return False
