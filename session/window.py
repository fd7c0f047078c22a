"""When a day's session runs: the window ``tradeday run`` plans (start, stop, the market's close
and ``--duration``), and what a late start is."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from session.calendar import SessionDay

# A start later than this after `open - start_before_open` is a late start (cron's own jitter
# and the prechecks take seconds, not a minute).
LATE_START_GRACE_S = 60.0


@dataclass
class SessionWindow:
    """When to start and stop the engines for one day (all tz-aware)."""

    start_at: datetime
    stop_at: datetime | None  # None: until the engines finish or a signal
    open: datetime  # the market open; with --start-now on a day without a session, the start
    close: datetime | None  # None only with --start-now on a day without a session, without --duration
    market_stop: datetime | None = None  # close + stop_after_close (wall clock); None: no session today
    duration: float | None = None  # --duration: seconds from the start, on the monotonic clock


def plan_window(day: SessionDay, now: datetime, *, start_before_open: float, stop_after_close: float,
                start_now: bool, duration: float | None) -> SessionWindow | None:
    """Pure: the session window for ``day`` seen at ``now``; None when there is nothing to run.

    ``start_now`` skips the wait (a demo, a test, a manual run); ``duration`` bounds the
    session from its start. A run started after the open starts at once; after the close
    (plus ``stop_after_close``) there is nothing to do.
    """
    if start_now:
        stop_at = now + timedelta(seconds=duration) if duration else None
        market_stop = None
        if day.is_trading_day and day.close is not None:
            day_stop = day.close + timedelta(seconds=stop_after_close)
            if day_stop > now:
                market_stop = day_stop
                stop_at = min(stop_at, day_stop) if stop_at else day_stop
        return SessionWindow(start_at=now, stop_at=stop_at, open=day.open or now, close=day.close or stop_at,
                             market_stop=market_stop, duration=duration)
    if not day.is_trading_day or day.open is None or day.close is None:
        return None
    stop_at = day.close + timedelta(seconds=stop_after_close)
    if now >= stop_at:
        return None
    market_stop = stop_at
    start_at = max(now, day.open - timedelta(seconds=start_before_open))
    if duration:
        stop_at = min(stop_at, start_at + timedelta(seconds=duration))
    return SessionWindow(start_at=start_at, stop_at=stop_at, open=day.open, close=day.close,
                         market_stop=market_stop, duration=duration)


def late_start_text(day: SessionDay, now: datetime, start_before_open: float,
                    tz: tzinfo) -> tuple[str, str, dict[str, Any]] | None:
    """(title, message, fields) when engines starting at ``now`` start late for ``day``: more than
    LATE_START_GRACE_S after ``open - start_before_open``; None when on time (or no session)."""
    from core.durations import format_duration
    from core.logsetup import clock

    if not day.is_trading_day or day.open is None:
        return None
    planned = day.open - timedelta(seconds=start_before_open)
    late = (now - planned).total_seconds()
    if late <= LATE_START_GRACE_S:
        return None
    span = format_duration(round(late))
    if now >= day.open:
        matters = (f"the session opened {format_duration(round((now - day.open).total_seconds()))} ago "
                   "without the engines")
    else:
        matters = (f"the engines get {format_duration(round((day.open - now).total_seconds()))} before "
                   f"the open instead of {format_duration(start_before_open)}")
    text = (f"late start: the engines start {span} late, at {clock(now, tz)} instead of "
            f"{clock(planned, tz)} (the open {clock(day.open, tz)} minus "
            f"session.start_before_open); {matters}. If cron or a timer started tradeday, check its "
            "timezone: Debian's cron ignores CRON_TZ and fires in the server's own timezone "
            "(`tradeday schedule cron` prints the right line)")
    fields = {"late_s": round(late), "planned": planned.isoformat(), "started": now.isoformat()}
    return f"late start {day.date}: {span} late", text, fields
