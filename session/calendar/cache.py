"""The session cache: what pandas_market_calendars (pmc) says about each day of a year, per
calendar and zone, and each calendar's data horizon, kept as small JSON files. A command that
answers from the calendar (``calendar``, ``precheck``, ``run``) then imports neither pandas nor
pmc (~0.4 s of every start) once the year has been computed on this machine.

Where: ``$TRADEDAY_CACHE_DIR``, else ``$XDG_CACHE_HOME/tradeday``, else ``~/.cache/tradeday``;
the files are ``sessions/<calendar>-<zone>-<year>.json`` and ``sessions/<calendar>-horizon.json``.

What a file is valid for (its ``key``): the installed versions of pmc, exchange_calendars (pmc's
XNYS mirrors it) and pandas, and a hash of the code that computed it (``session/calendar/pmc.py``
and this module). A file written under another key is not used; it is computed fresh and
rewritten. The overlays (bundled and the user's calendar files) are not in these files: they are
applied on top on every start, so editing or importing one takes effect at once.

Never in the way: a file that is missing, unreadable, corrupt or of another key is computed
fresh; one that cannot be written (read-only folder, full disk) is skipped with a debug log. A
file another user owns, or one others may write, is not trusted (computed fresh, not rewritten
when it cannot be replaced).
"""
from __future__ import annotations

import calendar as _gregorian
import hashlib
import json
import logging
import os
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core.cachedir import CACHE_ENV as CACHE_ENV  # the tests and docs name it here
from core.cachedir import cache_dir, trusted

if TYPE_CHECKING:
    from session.calendar.pmc import BaseDay

log = logging.getLogger("tradeday.calendar.cache")

FOLDER = "sessions"
# The distributions whose data or code the cached days come from.
SOURCES = ("pandas_market_calendars", "exchange_calendars", "pandas")
_CODE = ("pmc.py", "cache.py")  # tradeday's own code that computes and reads the days

_KEY: dict[str, str] | None = None


def _dist_version(name: str) -> str:
    """A distribution's version without importing it: the name of its ``.dist-info`` folder
    next to the package (importlib.metadata when the layout is another)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        return "absent"
    site = Path(spec.origin).parent.parent
    prefix = f"{name}-"
    try:
        found = [n for n in os.listdir(site) if n.startswith(prefix) and n.endswith(".dist-info")]
    except OSError:
        found = []
    if len(found) == 1:
        return found[0][len(prefix):-len(".dist-info")]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def cache_key() -> dict[str, str]:
    """This process's key: the source versions and the hash of the computing code."""
    global _KEY
    if _KEY is None:
        digest = hashlib.sha256()
        here = Path(__file__).resolve().parent
        for code in _CODE:
            digest.update((here / code).read_bytes())
        key = {name: _dist_version(name) for name in SOURCES}
        key["code"] = digest.hexdigest()[:16]
        _KEY = key
    return _KEY


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in text)


def year_path(folder: Path, calendar: str, zone: str, year: int) -> Path:
    return folder / FOLDER / f"{_safe(calendar)}-{_safe(zone)}-{year}.json"


def horizon_path(folder: Path, calendar: str) -> Path:
    return folder / FOLDER / f"{_safe(calendar)}-horizon.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fh:
            if not trusted(os.fstat(fh.fileno())):
                log.debug("session cache %s is writable by others or not ours: not used", path)
                return None
            data = json.loads(fh.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.debug("session cache %s unreadable (%s): computing it fresh", path, exc)
        return None
    if not isinstance(data, dict) or data.get("key") != cache_key():
        log.debug("session cache %s was made by another pmc or tradeday: computing it fresh", path)
        return None
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    from core.fsutil import atomic_write_bytes

    try:
        atomic_write_bytes(path, json.dumps(data, separators=(",", ":")).encode("utf-8"))
    except OSError as exc:  # read-only, full, not ours: the answer is computed; only speed is lost
        log.debug("session cache %s not written (%s)", path, exc)


# --- days ------------------------------------------------------------------------------------

def _stamp(value: datetime | None) -> float | int | None:
    if value is None:
        return None
    seconds = value.timestamp()
    return int(seconds) if seconds.is_integer() else seconds


def _moment(value: Any, tz: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"not a time stamp: {value!r}")
    return datetime.fromtimestamp(value, tz)


def _row(day: BaseDay) -> list[Any]:
    return [_stamp(day.open), _stamp(day.close), _stamp(day.regular_open), _stamp(day.regular_close),
            day.holiday, day.early_close, day.special_hours]


def _day(row: Any, tz: ZoneInfo) -> BaseDay:
    from session.calendar.pmc import BaseDay

    if not isinstance(row, list) or len(row) != 7:
        raise ValueError(f"not a day: {row!r}")
    opens, closes, reg_open, reg_close, holiday, early, special = row
    if not (isinstance(early, bool) and isinstance(special, bool) and (holiday is None or isinstance(holiday, str))):
        raise ValueError(f"not a day: {row!r}")
    regular_open, regular_close = _moment(reg_open, tz), _moment(reg_close, tz)
    if regular_open is None or regular_close is None:
        raise ValueError(f"a day without regular times: {row!r}")
    return BaseDay(open=_moment(opens, tz), close=_moment(closes, tz), regular_open=regular_open,
                   regular_close=regular_close, holiday=holiday, early_close=early, special_hours=special)


def _year_days(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range(366 if _gregorian.isleap(year) else 365)]


def read_year(calendar: str, tz: ZoneInfo, year: int, folder: Path | None = None) -> dict[date, BaseDay] | None:
    """pmc's days of ``year`` from the cache; None when it has no valid file for them."""
    folder = folder if folder is not None else cache_dir()
    if folder is None:
        return None
    path = year_path(folder, calendar, tz.key, year)
    data = _read(path)
    if data is None:
        return None
    try:
        if (data.get("calendar"), data.get("zone"), data.get("year")) != (calendar, tz.key, year):
            raise ValueError("made for another calendar, zone or year")
        rows = data.get("days")
        days = _year_days(year)
        if not isinstance(rows, list) or len(rows) != len(days):
            raise ValueError("not one entry per day of the year")
        return {d: _day(row, tz) for d, row in zip(days, rows, strict=True)}
    except (ValueError, TypeError, OverflowError, OSError) as exc:
        log.debug("session cache %s is corrupt (%s): computing it fresh", path, exc)
        return None


def write_year(calendar: str, tz: ZoneInfo, year: int, days: Mapping[date, BaseDay], folder: Path | None = None) -> None:
    """Keep pmc's days of ``year`` (every date of it must be in ``days``)."""
    folder = folder if folder is not None else cache_dir()
    if folder is None:
        return
    rows = [_row(days[d]) for d in _year_days(year)]
    _write(year_path(folder, calendar, tz.key, year),
           {"key": cache_key(), "calendar": calendar, "zone": tz.key, "year": year, "days": rows})


# --- the data horizon --------------------------------------------------------------------------

def _year_or_none(value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ValueError(f"not a year: {value!r}")


def read_horizon(calendar: str, folder: Path | None = None) -> tuple[int | None, int | None] | None:
    """The calendar's (first, last) year with holiday data from the cache; None if not cached."""
    folder = folder if folder is not None else cache_dir()
    if folder is None:
        return None
    path = horizon_path(folder, calendar)
    data = _read(path)
    if data is None:
        return None
    try:
        if data.get("calendar") != calendar:
            raise ValueError("made for another calendar")
        first, last = data["horizon"]
        return (_year_or_none(first), _year_or_none(last))
    except (ValueError, TypeError, KeyError) as exc:
        log.debug("session cache %s is corrupt (%s): computing it fresh", path, exc)
        return None


def write_horizon(calendar: str, horizon: tuple[int | None, int | None], folder: Path | None = None) -> None:
    folder = folder if folder is not None else cache_dir()
    if folder is not None:
        _write(horizon_path(folder, calendar), {"key": cache_key(), "calendar": calendar, "horizon": list(horizon)})
