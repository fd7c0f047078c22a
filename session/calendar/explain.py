"""What to tell a person about the limits of the calendar's data: why a day is unknown, how
to make it known, and that the data is about to end. One wording for precheck, ``run``,
``tradeday calendar`` and the precheck summary line.

A day is unknown for one of two reasons, and each has its own fix:

* its year has no holiday data (the exchange's list for the year is missing): import the
  exchange's published list with ``tradeday calendar import``;
* the exchange announced a session on it without its times (NSE's Muhurat Trading, whose
  times follow weeks later): add the times under ``market.special_sessions`` or import them.

Both are data, never a reason to upgrade a library.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from session.calendar.days import SessionDay

if TYPE_CHECKING:
    from session.calendar.market import MarketCalendar


def import_command(config_path: object | None = None) -> str:
    """``tradeday calendar import FILE -c <config>`` (without ``-c`` when no path is known)."""
    return "tradeday calendar import FILE" + (f" -c {config_path}" if config_path else "")


def unknown_reason(day: SessionDay) -> str:
    """What is unknown about an unknown day, e.g. ``no holiday data for 2027``."""
    if day.special_session:
        return f"a session announced without published times ({day.special_session} {day.date})"
    return f"no holiday data for {day.date.year}"


def unknown_message(day: SessionDay, calendar: str) -> str:
    """The one line for an unknown day: what is unknown and what it means for the day."""
    if day.special_session:
        return f"{calendar}: {unknown_reason(day)}; cannot tell when the session opens and closes"
    return f"{calendar}: {unknown_reason(day)}; cannot tell whether {day.date} is a session"


def unknown_fix(day: SessionDay, config_path: object | None = None) -> str:
    """How to make an unknown day known."""
    command = import_command(config_path)
    if day.special_session:
        return (f'once the exchange publishes its times, add them under market.special_sessions '
                f'({day.date}: {{open: "HH:MM", close: "HH:MM", name: {day.special_session}}}) or import a CSV '
                f"row '{day.date},{day.special_session},HH:MM,HH:MM' with `{command}`")
    return (f"import the exchange's {day.date.year} holiday list with `{command}` (docs/CALENDAR.md), "
            "or declare the day in market.extra_holidays / market.special_sessions")


@dataclass(frozen=True)
class HorizonNotice:
    """The calendar's data ends soon: ``last_known`` is its last day, ``missing_year`` the next."""

    calendar: str
    last_known: date
    days_left: int  # from today to last_known (0: today is the last known day)
    missing_year: int

    def message(self) -> str:
        when = "today" if self.days_left == 0 else f"in {self.days_left} days"
        return (f"{self.calendar} holiday data ends {self.last_known} ({when}): nothing is known about "
                f"{self.missing_year}, so from {self.missing_year}-01-01 every precheck fails until its list is loaded")

    def hint(self, config_path: object | None = None) -> str:
        return (f"when the exchange publishes its {self.missing_year} holiday list (NSE: mid-December), "
                f"load it with `{import_command(config_path)}`; checks.calendar_horizon sets how early this warns")


def horizon_notice(calendar: MarketCalendar, today: date, horizon_days: int) -> HorizonNotice | None:
    """A notice when ``calendar``'s data ends within ``horizon_days`` of ``today`` (0: never).

    Only a year that follows known ones counts: a day already unknown has its own error."""
    if horizon_days <= 0:
        return None
    missing = calendar.first_unknown_year(today.year)
    if missing is None or missing <= today.year:
        return None
    last_known = date(missing - 1, 12, 31)
    days_left = (last_known - today).days
    if days_left + 1 > horizon_days:
        return None
    return HorizonNotice(calendar.name, last_known, days_left, missing)
