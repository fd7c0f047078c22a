"""Time-zone names, and what tradeday knows of its first-class calendars without asking pmc."""
from __future__ import annotations

from typing import NamedTuple

# pmc (and older tz databases) still use some backward-compatible zone names; report the
# canonical IANA name so users see the zone they would write in a config.
CANONICAL_ZONES = {
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "US/Eastern": "America/New_York",
    "US/Central": "America/Chicago",
    "US/Pacific": "America/Los_Angeles",
    "Europe/Kiev": "Europe/Kyiv",
}


class CalendarIdentity(NamedTuple):
    name: str  # as pmc spells the name it was asked for ("XNSE")
    pmc_name: str  # the calendar's own name in pmc ("NSE"): it names the overlay file
    zone: str  # the exchange's zone, canonical IANA name


# The first-class calendars (and their pmc aliases), as pmc describes them, keyed by lower-case
# name. Knowing them here lets a MarketCalendar be built, and say which day it is at the
# exchange (``tradeday status``), without importing pandas; any other name asks pmc.
# tests/test_calendar.py checks every entry against pmc.
FIRST_CLASS: dict[str, CalendarIdentity] = {
    "xnys": CalendarIdentity("XNYS", "XNYS", "America/New_York"),
    "nyse": CalendarIdentity("NYSE", "NYSE", "America/New_York"),
    "xnse": CalendarIdentity("XNSE", "NSE", "Asia/Kolkata"),
    "nse": CalendarIdentity("NSE", "NSE", "Asia/Kolkata"),
}


def canonical_zone(key: str) -> str:
    return CANONICAL_ZONES.get(key, key)
