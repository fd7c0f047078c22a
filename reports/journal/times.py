"""Instants as UTC epoch nanoseconds, and back to aware datetimes and ISO-8601 text."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

# Instants are int64 nanoseconds (numpy's, pandas'): about 1677-09-21 to 2262-04-11 UTC.
# The journal takes the whole years inside that range (as written, in the time's own offset).
FIRST_YEAR = 1678
LAST_YEAR = 2261


def time_problem(t: datetime) -> str | None:
    """Why ``t`` is outside the instants a journal can hold, or None."""
    if FIRST_YEAR <= t.year <= LAST_YEAR:
        return None
    return f"is outside the years {FIRST_YEAR}-{LAST_YEAR}"


def epoch_ns(t: datetime) -> int:
    delta = t - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def time_from_ns(ns: int, tz: tzinfo = UTC) -> datetime:
    """UTC epoch nanoseconds -> aware datetime in ``tz`` (to the microsecond)."""
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)).astimezone(tz)


def format_time(ns: int, tz: tzinfo) -> str:
    """UTC epoch nanoseconds -> ISO-8601 in ``tz`` (microseconds only when present)."""
    t = time_from_ns(ns, tz)
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds")


def common_tz(offsets: set[timedelta]) -> tzinfo:
    """The one UTC offset all times share as a time zone; UTC when they differ (or there are none)."""
    return timezone(offsets.pop()) if len(offsets) == 1 else UTC
