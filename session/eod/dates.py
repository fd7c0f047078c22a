"""The dates ``tradeday eod`` and ``tradeday report`` take: never a day that has not happened.

"Today" is the market's: the calendar's date in its time zone (NSE's day starts 5.5 hours
before UTC's). A report for a day in the future would be a report of nothing, and an import
of fills dated tomorrow a journal with the wrong day (or a clock that is wrong).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from core.errors import UsageError

if TYPE_CHECKING:
    from session.calendar import MarketCalendar


def refuse_future(days: Iterable[date | None], calendar: MarketCalendar, what: str) -> None:
    """UsageError (exit 2) naming the first of ``days`` after the market's today, if any."""
    today = calendar.today()
    future = sorted(d for d in days if d is not None and d > today)
    if future:
        raise UsageError(f"{what}: {future[0]} is in the future; today in {calendar.name} is {today}",
                         hint="reports are for days that have happened: check the date (and the machine's clock)")
