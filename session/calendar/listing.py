"""The sessions of one day or a span of days from a config's market section: what
``tradeday calendar`` shows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from session.calendar.days import SessionDay
from session.calendar.market import MarketCalendar


@dataclass(frozen=True)
class CalendarListing:
    calendar: str
    timezone: str
    days: tuple[SessionDay, ...]
    # One day was asked for (not a span): its JSON is that day's object rather than a list.
    single_day: bool

    def to_json(self) -> dict[str, Any] | list[dict[str, Any]]:
        if self.single_day:
            return self.days[0].to_json()
        return [d.to_json() for d in self.days]


def list_sessions(market: Any, *, day: date | None = None, span: tuple[date, date] | None = None,
                  now: datetime | None = None, calendars_dir: Path | None = None) -> CalendarListing:
    """The sessions from ``span[0]`` to ``span[1]`` inclusive, or of ``day``, or of the
    market's today at ``now`` (default: the current time). ``market`` is a config ``market``
    section and ``calendars_dir`` the folder of the user's calendar files (see
    ``MarketCalendar.from_market_config``)."""
    cal = MarketCalendar.from_market_config(market, calendars_dir=calendars_dir)
    if span is not None:
        days = tuple(cal.sessions(*span))
    else:
        days = (cal.session(day if day is not None else cal.today(now)),)
    return CalendarListing(calendar=cal.name, timezone=cal.timezone, days=days, single_day=span is None)
