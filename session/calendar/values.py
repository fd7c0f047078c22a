"""Reading the dates and times a person wrote (config, overlay file, API calls) into ``date``/``time``."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from core.durations import parse_time_of_day
from core.errors import ConfigError

DATE_HINT = "write dates as YYYY-MM-DD"


def parse_day(value: Any) -> date | None:
    """A date from a ``date``, a ``datetime`` or ``YYYY-MM-DD`` text; None when it is none of them."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    return None


def as_date(value: Any, where: str) -> date:
    day = parse_day(value)
    if day is None:
        raise ConfigError(f"{where}: '{value}' is not a date", hint=DATE_HINT)
    return day


def as_time(value: Any, where: str) -> time:
    try:
        return parse_time_of_day(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def as_day(value: Any) -> date:
    """The calendar date of an API argument: a ``date`` (a ``datetime`` counts as its date)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date, got {type(value).__name__}")


def check_window(
    value: tuple[Any, Any] | None, field_name: str, first: str = "start", second: str = "end"
) -> tuple[time, time] | None:
    """A configured span of the day (hours, pre/post market) as two times, start before end."""
    if value is None:
        return None
    start, end = as_time(value[0], f"{field_name}.{first}"), as_time(value[1], f"{field_name}.{second}")
    if start >= end:
        raise ConfigError(
            f"{field_name}: {first} {start:%H:%M} must be before {second} {end:%H:%M}",
            hint="times are HH:MM in the market time zone, within one day",
        )
    return (start, end)
