"""The exchange calendar: is there a session on a day, when does it open and close, what state is
the market in at an instant.

Holiday rules come from pandas_market_calendars (pmc); nothing here hand-codes a holiday rule.
On top of pmc sit three layers, later ones winning:

1. a bundled overlay per exchange (``session/data/<pmc name>_overlay.yaml``, e.g. the NSE one):
   weekend sessions pmc cannot represent, Muhurat sessions, holiday names, ad-hoc closures,
   and ``known_through`` when a newer holiday list has been published than pmc carries;
2. the user's calendar files, ``{root}/calendars/<NAME>.yaml``, in the overlay's schema: the
   exchange's published lists as ``tradeday calendar import`` writes them;
3. the user's configuration: ``extra_holidays``, ``special_sessions`` and an ``hours`` override.

List-based calendars (NSE's holidays are a per-year list) only know the years their list covers.
A day outside those years is reported ``known: false`` -- never as a normal session -- because
pmc itself silently treats every weekday of an unlisted year as a session.

pandas and pandas_market_calendars are imported inside the methods that need them, and only when
the session cache (``cache``: pmc's days per calendar, zone and year, in the user's cache folder)
does not hold the year asked about: importing this module must stay cheap so the CLI starts fast.
For the same reason ``SpecialSession`` (a pydantic model) and the importer are loaded when they
are first asked for.

Modules: ``days`` (SessionDay, MarketState), ``special`` (the one special-session model),
``overlay`` / ``overlay_file`` (the bundled overlay and its file model), ``local`` (the user's
calendar files on top of it), ``published`` / ``importer`` (``tradeday calendar import``: an
exchange's list into the user's file), ``pmc`` (the pandas_market_calendars adapter), ``cache``
(the session cache under it),
``market`` (MarketCalendar), ``listing`` (what ``tradeday calendar`` shows), ``explain`` (what
to say about unknown days and the end of the data), ``values`` and ``zones`` (small helpers).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from session.calendar.days import (
    DEFAULT_EXTENDED_HOURS,
    EXCHANGE_HOLIDAY,
    PMC_SPECIAL_HOURS,
    SEARCH_LIMIT_DAYS,
    MarketState,
    SessionDay,
)
from session.calendar.explain import (
    HorizonNotice,
    horizon_notice,
    import_command,
    unknown_fix,
    unknown_message,
    unknown_reason,
)
from session.calendar.listing import CalendarListing, list_sessions
from session.calendar.local import calendars_dir
from session.calendar.market import MarketCalendar
from session.calendar.overlay import DATA_DIR, CalendarOverlay, load_overlay, overlay_path
from session.calendar.pmc import available_calendar_names, list_horizon

if TYPE_CHECKING:
    from session.calendar.importer import CalendarImport, import_calendar_file
    from session.calendar.special import SpecialSession

__all__ = [
    "DATA_DIR",
    "DEFAULT_EXTENDED_HOURS",
    "EXCHANGE_HOLIDAY",
    "PMC_SPECIAL_HOURS",
    "SEARCH_LIMIT_DAYS",
    "CalendarImport",
    "CalendarListing",
    "CalendarOverlay",
    "HorizonNotice",
    "MarketCalendar",
    "MarketState",
    "SessionDay",
    "SpecialSession",
    "available_calendar_names",
    "calendars_dir",
    "horizon_notice",
    "import_calendar_file",
    "import_command",
    "list_horizon",
    "list_sessions",
    "load_overlay",
    "overlay_path",
    "unknown_fix",
    "unknown_message",
    "unknown_reason",
]


def __getattr__(name: str) -> Any:
    # SpecialSession is a pydantic model: pydantic loads when it is first used, not on import.
    if name == "SpecialSession":
        from session.calendar.special import SpecialSession

        return SpecialSession
    # `tradeday calendar import` alone reads published lists and writes files (csv, hashlib,
    # core.fsutil): the commands that only ask the calendar do not load it.
    if name in ("CalendarImport", "import_calendar_file"):
        from session.calendar import importer

        return getattr(importer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
