"""The exchange calendar: is there a session on a day, when does it open and close, what state is
the market in at an instant.

Holiday rules come from pandas_market_calendars (pmc); nothing here hand-codes a holiday rule.
On top of pmc sit two layers, later ones winning:

1. a bundled overlay per exchange (``session/data/<pmc name>_overlay.yaml``, e.g. the NSE one):
   weekend sessions pmc cannot represent, Muhurat sessions, holiday names, ad-hoc closures,
   and ``known_through`` when a newer holiday list has been published than pmc carries;
2. the user's configuration: ``extra_holidays``, ``special_sessions`` and an ``hours`` override.

List-based calendars (NSE's holidays are a per-year list) only know the years their list covers.
A day outside those years is reported ``known: false`` -- never as a normal session -- because
pmc itself silently treats every weekday of an unlisted year as a session.

pandas and pandas_market_calendars are imported inside the methods that need them: importing this
module must stay cheap so the CLI starts fast.
"""
from __future__ import annotations

import difflib
import threading
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.durations import parse_time_of_day
from core.errors import ConfigError, UsageError

EXCHANGE_HOLIDAY = "Exchange holiday"  # a listed closure whose name no source carries
PMC_SPECIAL_HOURS = "Special hours"  # pmc moved the open (or the close later) without a name
DEFAULT_EXTENDED_HOURS = timedelta(hours=2)  # default pre/post market length
# How far get_next_market_open/close look before giving up: longer than any real closure.
SEARCH_LIMIT_DAYS = 400

# pmc (and older tz databases) still use some backward-compatible zone names; report the
# canonical IANA name so users see the zone they would write in a config.
_CANONICAL_ZONES = {
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "US/Eastern": "America/New_York",
    "US/Central": "America/Chicago",
    "US/Pacific": "America/Los_Angeles",
    "Europe/Kiev": "Europe/Kyiv",
}


class MarketState(str, Enum):
    PRE_MARKET = "PRE_MARKET"
    TRADING = "TRADING"
    POST_MARKET = "POST_MARKET"
    CLOSED = "CLOSED"


@dataclass(frozen=True)
class SpecialSession:
    """A session at non-regular times: a weekend or Muhurat session, or replaced hours.

    ``breaks`` lists pauses inside [open, close), e.g. NSE's 2024 disaster-recovery drills
    traded 09:15-10:00 and 11:30-12:30.
    """

    open: time
    close: time
    name: str
    breaks: tuple[tuple[time, time], ...] = ()


@dataclass(frozen=True)
class SessionDay:
    date: date
    calendar: str
    timezone: str
    known: bool
    is_trading_day: bool
    open: datetime | None
    close: datetime | None
    early_close: bool
    holiday: str | None
    special_session: str | None
    # Pauses inside [open, close) as tz-aware datetimes; not part of to_json (its keys are fixed).
    breaks: tuple[tuple[datetime, datetime], ...] = field(default=(), compare=False)

    @property
    def kind(self) -> str:
        if not self.known:
            return "unknown"
        if not self.is_trading_day:
            return "closed"
        if self.special_session:
            return "special"
        if self.early_close:
            return "early_close"
        return "regular"

    def trading_intervals(self) -> list[tuple[datetime, datetime]]:
        """The half-open spans [start, end) in which the market trades on this day."""
        if not self.is_trading_day or self.open is None or self.close is None:
            return []
        spans: list[tuple[datetime, datetime]] = []
        start = self.open
        for pause_start, pause_end in self.breaks:
            spans.append((start, pause_start))
            start = pause_end
        spans.append((start, self.close))
        return spans

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "calendar": self.calendar,
            "timezone": self.timezone,
            "known": self.known,
            "is_trading_day": self.is_trading_day,
            "open": self.open.isoformat() if self.open else None,
            "close": self.close.isoformat() if self.close else None,
            "early_close": self.early_close,
            "holiday": self.holiday,
            "special_session": self.special_session,
        }


# --------------------------------------------------------------------------------------------
# The bundled overlay
# --------------------------------------------------------------------------------------------

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class OverlaySession:
    """A special session from the overlay; ``open``/``close`` are None while NSE has announced
    the session but not yet its times (the day is then reported unknown)."""

    open: time | None
    close: time | None
    name: str
    holiday: str | None
    breaks: tuple[tuple[time, time], ...]
    source: str


@dataclass(frozen=True)
class CalendarOverlay:
    calendar: str
    known_through: int | None
    holidays: dict[date, str]
    special_sessions: dict[date, OverlaySession]
    sources: dict[str, dict[str, Any]]
    path: Path


def overlay_path(pmc_name: str) -> Path:
    """Where the overlay for a pmc calendar lives: ``NSE`` -> ``session/data/nse_overlay.yaml``."""
    safe = "".join(ch if ch.isalnum() else "_" for ch in pmc_name.lower())
    return DATA_DIR / f"{safe}_overlay.yaml"


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{where}: '{value}' is not a date", hint="write dates as YYYY-MM-DD")


def _as_time(value: Any, where: str) -> time:
    try:
        return parse_time_of_day(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _parse_breaks(raw: Any, opens: time, closes: time, where: str) -> tuple[tuple[time, time], ...]:
    if raw in (None, []):
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: must be a list of [start, end] pairs", hint='e.g. breaks: [["10:00", "11:30"]]')
    out: list[tuple[time, time]] = []
    previous_end = opens
    for i, pair in enumerate(raw):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ConfigError(f"{where}[{i}]: must be a [start, end] pair", hint='e.g. ["10:00", "11:30"]')
        start, end = _as_time(pair[0], f"{where}[{i}]"), _as_time(pair[1], f"{where}[{i}]")
        if not previous_end < start < end < closes:
            raise ConfigError(
                f"{where}[{i}]: break {start:%H:%M}-{end:%H:%M} must lie inside the session, after the previous break",
                hint=f"the session runs {opens:%H:%M}-{closes:%H:%M}",
            )
        out.append((start, end))
        previous_end = end
    return tuple(out)


def load_overlay(path: str | Path) -> CalendarOverlay:
    """Read and validate an overlay file; any defect is a ConfigError naming the entry."""
    import yaml  # lazy: only needed when a calendar with an overlay is used

    path = Path(path)
    label = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read the calendar overlay ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{label}: must be a mapping with calendar, sources, holidays, special_sessions")
    unknown_keys = set(raw) - {"calendar", "known_through", "sources", "holidays", "special_sessions"}
    if unknown_keys:
        raise ConfigError(f"{label}: unknown key(s) {', '.join(sorted(map(str, unknown_keys)))}")
    calendar = raw.get("calendar")
    if not isinstance(calendar, str) or not calendar:
        raise ConfigError(f"{label}: calendar: must name the pmc calendar, e.g. NSE")
    known_through = raw.get("known_through")
    if known_through is not None and (isinstance(known_through, bool) or not isinstance(known_through, int)):
        raise ConfigError(f"{label}: known_through: must be a year such as 2026")

    sources = raw.get("sources") or {}
    if not isinstance(sources, dict):
        raise ConfigError(f"{label}: sources: must map a source id to its date, title and url")
    for key, info in sources.items():
        if not isinstance(info, dict) or not info.get("title") or not info.get("date"):
            raise ConfigError(f"{label}: sources.{key}: needs at least a title and a date")

    def source_of(entry: dict[str, Any], where: str) -> str:
        ref = entry.get("source")
        if not isinstance(ref, str) or ref not in sources:
            raise ConfigError(f"{where}.source: '{ref}' is not one of the ids under sources")
        return ref

    holidays: dict[date, str] = {}
    for key, entry in (raw.get("holidays") or {}).items():
        day = _as_date(key, f"{label}: holidays")
        where = f"{label}: holidays.{day}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise ConfigError(f"{where}: needs a name and a source")
        source_of(entry, where)
        holidays[day] = entry["name"].strip()

    specials: dict[date, OverlaySession] = {}
    for key, entry in (raw.get("special_sessions") or {}).items():
        day = _as_date(key, f"{label}: special_sessions")
        where = f"{label}: special_sessions.{day}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise ConfigError(f"{where}: needs a name, open, close and a source")
        if day in holidays:
            raise ConfigError(f"{where}: the date is also under holidays; keep one")
        src = source_of(entry, where)
        has_open, has_close = entry.get("open") is not None, entry.get("close") is not None
        if has_open != has_close:
            raise ConfigError(f"{where}: give both open and close, or neither while the times are unannounced")
        opens = _as_time(entry["open"], f"{where}.open") if has_open else None
        closes = _as_time(entry["close"], f"{where}.close") if has_close else None
        breaks: tuple[tuple[time, time], ...] = ()
        if opens is not None and closes is not None:
            if opens >= closes:
                raise ConfigError(f"{where}: open {opens:%H:%M} must be before close {closes:%H:%M}")
            breaks = _parse_breaks(entry.get("breaks"), opens, closes, f"{where}.breaks")
        holiday = entry.get("holiday")
        specials[day] = OverlaySession(
            open=opens, close=closes, name=entry["name"].strip(),
            holiday=holiday.strip() if isinstance(holiday, str) and holiday.strip() else None,
            breaks=breaks, source=src,
        )
    return CalendarOverlay(
        calendar=calendar, known_through=known_through, holidays=holidays,
        special_sessions=specials, sources=sources, path=path,
    )


_OVERLAYS: dict[str, CalendarOverlay | None] = {}


def _overlay_for(pmc_name: str) -> CalendarOverlay | None:
    if pmc_name not in _OVERLAYS:
        path = overlay_path(pmc_name)
        overlay = load_overlay(path) if path.is_file() else None
        if overlay is not None and overlay.calendar != pmc_name:
            raise ConfigError(f"{path.name}: calendar: says '{overlay.calendar}' but the file is for '{pmc_name}'")
        _OVERLAYS[pmc_name] = overlay
    return _OVERLAYS[pmc_name]


# --------------------------------------------------------------------------------------------
# pmc: calendars, horizons, per-year schedules (shared by every MarketCalendar instance)
# --------------------------------------------------------------------------------------------

_PMC_LOCK = threading.Lock()
_PMC_CALENDARS: dict[str, Any] = {}


def available_calendar_names() -> list[str]:
    """Every calendar name pmc accepts (aliases included), sorted."""
    import pandas_market_calendars as mcal

    return sorted(set(mcal.get_calendar_names()), key=str.lower)


def _resolve_calendar_name(name: str) -> str:
    names = available_calendar_names()
    if name in names:
        return name
    by_lower = {n.lower(): n for n in names}
    wanted = name.strip().lower()
    if wanted in by_lower:  # "xnse" is XNSE: pmc's names are case-sensitive, people are not
        return by_lower[wanted]
    close = difflib.get_close_matches(wanted, list(by_lower), n=4, cutoff=0.6)
    suggestion = f"did you mean {', '.join(by_lower[c] for c in close)}? " if close else ""
    raise ConfigError(
        f"market.calendar: unknown calendar '{name}'",
        hint=(
            f"{suggestion}XNYS (New York) and XNSE (India) are first-class; list every name with: "
            "python -c \"import pandas_market_calendars as m; print(sorted(m.get_calendar_names()))\""
        ),
    )


def _pmc_calendar(name: str) -> Any:
    with _PMC_LOCK:
        cal = _PMC_CALENDARS.get(name)
        if cal is None:
            import pandas_market_calendars as mcal

            with warnings.catch_warnings():
                # Some pmc calendars warn about discontinued lunch breaks on construction;
                # that is pmc's bookkeeping, not something a trader can act on.
                warnings.simplefilter("ignore")
                cal = mcal.get_calendar(name)
            _PMC_CALENDARS[name] = cal
        return cal


def _zone_name(tz: Any) -> str:
    key = getattr(tz, "key", None) or getattr(tz, "zone", None) or str(tz)
    return _CANONICAL_ZONES.get(key, key)


def list_horizon(pmc_cal: Any) -> tuple[int | None, int | None]:
    """First and last year a pmc calendar has holiday data for; (None, None) = every year.

    pmc holds holidays two ways: rules (``regular_holidays``, e.g. "fourth Thursday of
    November") and dated lists (``adhoc_holidays``). A rule answers for any year. A list only
    answers for the years it covers, and pmc says nothing when asked beyond them. The list is
    what decides a calendar's years when either
      * there are no open-ended rules at all (NSE, BSE, XSHG: all holidays are listed), or
      * the list has entries in each of its last five years, i.e. it is an annual list that
        the rules depend on (lunar and religious holidays) rather than a handful of one-off
        closures such as NYSE's 2025-01-09 national day of mourning.
    """
    import pandas as pd

    rules = getattr(pmc_cal.regular_holidays, "rules", None) or []
    has_open_ended_rule = any(getattr(rule, "end_date", None) is None for rule in rules)
    years = sorted({pd.Timestamp(d).year for d in pmc_cal.adhoc_holidays})
    if not years:
        return (None, None)
    listed = set(years)
    annual = all(y in listed for y in range(years[-1] - 4, years[-1] + 1))
    if not has_open_ended_rule:
        return (years[0], years[-1])
    if annual:
        return (None, years[-1])
    return (None, None)


_HORIZONS: dict[str, tuple[int | None, int | None]] = {}


def _horizon_for(name: str, pmc_cal: Any) -> tuple[int | None, int | None]:
    if name not in _HORIZONS:
        _HORIZONS[name] = list_horizon(pmc_cal)
    return _HORIZONS[name]


@dataclass(frozen=True)
class _BaseDay:
    """What pmc alone says about one calendar date (times in the market zone)."""

    open: datetime | None
    close: datetime | None
    regular_open: datetime  # the era's regular times, for early-close detection and window shifts
    regular_close: datetime
    holiday: str | None
    early_close: bool
    special_hours: bool


def _narrow_holidays(cal: Any, first: int, last: int) -> None:
    """Make pmc compute regular holidays for the years at hand only.

    pmc caches one CustomBusinessDay per calendar built from its holiday rules over
    1970-2200: about 1.3 s of every CLI start for a day's answer. Building it over
    [first-1, last+1] gives the same sessions for those years. If pmc's internals ever
    change shape, fall back to its own (slow, correct) path.
    """
    try:
        import pandas as pd
        from pandas.tseries.offsets import CustomBusinessDay

        rules = cal.regular_holidays
        if rules is None or not hasattr(rules, "start_date"):
            return
        rules.start_date = pd.Timestamp(first - 1, 1, 1)
        rules.end_date = pd.Timestamp(last + 1, 12, 31)
        cal._holidays = CustomBusinessDay(holidays=cal.adhoc_holidays, calendar=rules, weekmask=cal.weekmask)
    except Exception:  # pragma: no cover - depends on pmc internals
        try:
            del cal._holidays
        except AttributeError:
            pass


class _PmcDays:
    """pmc's days for one calendar in one zone, loaded a span of years per schedule call."""

    def __init__(self, pmc_cal: Any, tz: ZoneInfo) -> None:
        self.pmc = pmc_cal
        self.tz = tz
        self._days: dict[date, _BaseDay] = {}
        self._years: set[int] = set()
        self._lock = threading.Lock()

    def ensure_years(self, first: int, last: int) -> None:
        missing = [y for y in range(first, last + 1) if y not in self._years]
        if not missing:
            return
        with self._lock:
            missing = [y for y in range(first, last + 1) if y not in self._years]
            if missing:
                # One schedule call for the whole missing span, so sessions() over a range
                # costs one pmc call and session() day after day costs none after the first.
                self._load(min(missing), max(missing))

    def day(self, d: date) -> _BaseDay:
        self.ensure_years(d.year, d.year)
        return self._days[d]

    def _load(self, first: int, last: int) -> None:
        import pandas as pd

        cal = self.pmc
        start, end = pd.Timestamp(first, 1, 1), pd.Timestamp(last, 12, 31)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _narrow_holidays(cal, first, last)
                schedule = cal.schedule(start, end, tz=self.tz)
                every_day = pd.date_range(start, end, freq="D")
                regular_open = cal.days_at_time(every_day, "market_open").dt.tz_convert(self.tz)
                regular_close = cal.days_at_time(every_day, "market_close").dt.tz_convert(self.tz)
                names = self._holiday_names(start, end)
        except (NotImplementedError, ValueError, KeyError, AttributeError) as exc:
            raise ConfigError(
                f"market.calendar: pandas_market_calendars cannot build a schedule for '{cal.name}' "
                f"({type(exc).__name__}: {exc})",
                hint="choose another calendar name, e.g. XNYS or XNSE",
            ) from None
        weekdays = {abbr: i for i, abbr in enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])}
        trading_weekdays = {weekdays[a] for a in str(cal.weekmask).split() if a in weekdays}
        sessions = {
            ts.date(): (o.to_pydatetime(), c.to_pydatetime())
            for ts, o, c in zip(schedule.index, schedule["market_open"], schedule["market_close"])
        }
        for ts, reg_o, reg_c in zip(every_day, regular_open, regular_close):
            d = ts.date()
            reg_open, reg_close = reg_o.to_pydatetime(), reg_c.to_pydatetime()
            if d in sessions:
                o, c = sessions[d]
                self._days[d] = _BaseDay(
                    open=o, close=c, regular_open=reg_open, regular_close=reg_close, holiday=None,
                    early_close=c < reg_close, special_hours=o != reg_open or c > reg_close,
                )
            else:
                # A closed day in the weekmask is a holiday; outside it, a weekend (no name).
                holiday = (names.get(d) or EXCHANGE_HOLIDAY) if d.weekday() in trading_weekdays else None
                self._days[d] = _BaseDay(
                    open=None, close=None, regular_open=reg_open, regular_close=reg_close,
                    holiday=holiday, early_close=False, special_hours=False,
                )
        self._years.update(range(first, last + 1))

    def _holiday_names(self, start: Any, end: Any) -> dict[date, str]:
        rules_calendar = self.pmc.regular_holidays
        if rules_calendar is None or not getattr(rules_calendar, "rules", None):
            return {}
        named = rules_calendar.holidays(start, end, return_name=True)
        out: dict[date, str] = {}
        for ts, name in named.items():
            out.setdefault(ts.date(), str(name))
        return out


_PMC_DAYS: dict[tuple[str, str], _PmcDays] = {}


def _pmc_days(pmc_name: str, tz: ZoneInfo) -> _PmcDays:
    key = (pmc_name, tz.key)
    with _PMC_LOCK:
        days = _PMC_DAYS.get(key)
    if days is None:
        days = _PmcDays(_pmc_calendar(pmc_name), tz)
        with _PMC_LOCK:
            days = _PMC_DAYS.setdefault(key, days)
    return days


# --------------------------------------------------------------------------------------------
# MarketCalendar
# --------------------------------------------------------------------------------------------


def _check_window(
    value: tuple[Any, Any] | None, field_name: str, first: str = "start", second: str = "end"
) -> tuple[time, time] | None:
    if value is None:
        return None
    start, end = _as_time(value[0], f"{field_name}.{first}"), _as_time(value[1], f"{field_name}.{second}")
    if start >= end:
        raise ConfigError(
            f"{field_name}: {first} {start:%H:%M} must be before {second} {end:%H:%M}",
            hint="times are HH:MM in the market time zone, within one day",
        )
    return (start, end)


class MarketCalendar:
    """One exchange's calendar in one time zone, with the overlay and config overrides applied."""

    def __init__(
        self,
        name: str = "XNYS",
        *,
        timezone: str | None = None,
        hours: tuple[time, time] | None = None,
        pre_market: tuple[time, time] | None = None,
        post_market: tuple[time, time] | None = None,
        extra_holidays: Mapping[date, str] | None = None,
        special_sessions: Mapping[date, SpecialSession] | None = None,
        use_overlay: bool = True,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("market.calendar: missing", hint="set it to an exchange such as XNYS or XNSE")
        self.name = _resolve_calendar_name(name)
        self._pmc = _pmc_calendar(self.name)
        self.pmc_name = str(self._pmc.name)
        exchange_zone = _zone_name(self._pmc.tz)
        if timezone is None:
            self.timezone = exchange_zone
        else:
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigError(
                    f"market.timezone: unknown time zone '{timezone}'",
                    hint=f"use an IANA name; this exchange is in {exchange_zone}",
                ) from None
            self.timezone = _CANONICAL_ZONES.get(timezone, timezone)
        self.tz = ZoneInfo(self.timezone)

        self.hours = _check_window(hours, "market.hours", "open", "close")
        self.pre_market = _check_window(pre_market, "market.pre_market")
        self.post_market = _check_window(post_market, "market.post_market")

        self.extra_holidays: dict[date, str] = {}
        for key, label in (extra_holidays or {}).items():
            day = _as_date(key, "market.extra_holidays")
            if not isinstance(label, str) or not label.strip():
                raise ConfigError(f"market.extra_holidays.{day}: needs a name", hint='e.g. 2025-03-14: "Holi"')
            self.extra_holidays[day] = label.strip()
        self.special_sessions: dict[date, SpecialSession] = {}
        for key, spec in (special_sessions or {}).items():
            day = _as_date(key, "market.special_sessions")
            where = f"market.special_sessions.{day}"
            if day in self.extra_holidays:
                raise ConfigError(f"{where}: the date is also in market.extra_holidays; keep one")
            try:
                opens, closes, label = spec.open, spec.close, spec.name
            except AttributeError:
                raise ConfigError(f"{where}: needs open, close and name", hint='e.g. {open: "18:00", close: "19:00", name: "Muhurat Trading"}') from None
            opens, closes = _as_time(opens, f"{where}.open"), _as_time(closes, f"{where}.close")
            if opens >= closes:
                raise ConfigError(f"{where}: open {opens:%H:%M} must be before close {closes:%H:%M}")
            raw_breaks = [list(b) for b in (getattr(spec, "breaks", None) or ())]
            breaks = _parse_breaks(raw_breaks, opens, closes, f"{where}.breaks")
            label = label.strip() if isinstance(label, str) and label.strip() else "Special session"
            self.special_sessions[day] = SpecialSession(open=opens, close=closes, name=label, breaks=breaks)

        self.overlay = _overlay_for(self.pmc_name) if use_overlay else None
        self._known_from, generic_through = _horizon_for(self.name, self._pmc)
        if generic_through is not None and self.overlay is not None and self.overlay.known_through is not None:
            generic_through = max(generic_through, self.overlay.known_through)
        self._known_through = generic_through
        self._days = _pmc_days(self.name, self.tz)
        self._cache: dict[date, SessionDay] = {}

    # -- construction from the project's config ---------------------------------------------

    @classmethod
    def from_market_config(cls, market: Any) -> MarketCalendar:
        """Build from a config ``market`` section (duck-typed; see the module docs)."""

        def window(obj: Any, first: str, second: str) -> tuple[time, time] | None:
            if obj is None:
                return None
            return (getattr(obj, first), getattr(obj, second))

        specials = {
            day: SpecialSession(
                open=spec.open, close=spec.close, name=getattr(spec, "name", None) or "Special session",
                breaks=tuple(tuple(b) for b in (getattr(spec, "breaks", None) or ())),
            )
            for day, spec in (getattr(market, "special_sessions", None) or {}).items()
        }
        return cls(
            getattr(market, "calendar", None) or "",
            timezone=getattr(market, "timezone", None),
            hours=window(getattr(market, "hours", None), "open", "close"),
            pre_market=window(getattr(market, "pre_market", None), "start", "end"),
            post_market=window(getattr(market, "post_market", None), "start", "end"),
            extra_holidays=dict(getattr(market, "extra_holidays", None) or {}),
            special_sessions=specials,
        )

    # -- what the calendar knows ------------------------------------------------------------

    @property
    def known_from(self) -> int | None:
        """First year with holiday data (None: no lower bound)."""
        return self._known_from

    @property
    def known_through(self) -> int | None:
        """Last year with holiday data (None: rule-based, every year is known)."""
        return self._known_through

    def _year_known(self, year: int) -> bool:
        if self._known_from is not None and year < self._known_from:
            return False
        return self._known_through is None or year <= self._known_through

    # -- days -------------------------------------------------------------------------------

    def session(self, d: date) -> SessionDay:
        d = _as_day(d)
        cached = self._cache.get(d)
        if cached is None:
            cached = self._compose(d, self._days.day(d))
            self._cache[d] = cached
        return cached

    def sessions(self, start: date, end: date) -> list[SessionDay]:
        """Every calendar date from start to end inclusive (weekends and holidays included)."""
        start, end = _as_day(start), _as_day(end)
        if end < start:
            raise UsageError(f"calendar range: end {end} is before start {start}")
        self._days.ensure_years(start.year, end.year)
        return [self.session(start + timedelta(days=i)) for i in range((end - start).days + 1)]

    def is_trading_day(self, d: date) -> bool:
        return self.session(d).is_trading_day

    def _at(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=self.tz)

    def _special_day(self, d: date, spec: SpecialSession | OverlaySession, holiday: str | None) -> SessionDay:
        assert spec.open is not None and spec.close is not None
        return SessionDay(
            date=d, calendar=self.name, timezone=self.timezone, known=True, is_trading_day=True,
            open=self._at(d, spec.open), close=self._at(d, spec.close), early_close=False,
            holiday=holiday, special_session=spec.name,
            breaks=tuple((self._at(d, a), self._at(d, b)) for a, b in spec.breaks),
        )

    def _closed_day(self, d: date, known: bool, holiday: str | None, special: str | None = None) -> SessionDay:
        return SessionDay(
            date=d, calendar=self.name, timezone=self.timezone, known=known, is_trading_day=False,
            open=None, close=None, early_close=False, holiday=holiday, special_session=special,
        )

    def _compose(self, d: date, base: _BaseDay) -> SessionDay:
        # Precedence: config > overlay > pmc. Explicit entries make a day known even in a year
        # without holiday data, because they state what happens on that very day.
        overlay_special = self.overlay.special_sessions.get(d) if self.overlay else None
        overlay_holiday = self.overlay.holidays.get(d) if self.overlay else None
        named_holiday = (overlay_special.holiday if overlay_special else None) or overlay_holiday or base.holiday

        config_special = self.special_sessions.get(d)
        if config_special is not None:
            return self._special_day(d, config_special, named_holiday)
        if d in self.extra_holidays:
            return self._closed_day(d, True, self.extra_holidays[d])
        if overlay_special is not None:
            if overlay_special.open is None:
                # Announced, times not yet published: saying "closed" or guessing hours would
                # both be wrong, so the day is unknown until someone adds the times.
                return self._closed_day(d, False, named_holiday, overlay_special.name)
            return self._special_day(d, overlay_special, named_holiday)
        if overlay_holiday is not None:
            return self._closed_day(d, True, overlay_holiday)
        if not self._year_known(d.year):
            return self._closed_day(d, False, None)
        if base.open is None or base.close is None:
            return self._closed_day(d, True, base.holiday)

        opens, closes = base.open, base.close
        if self.hours is not None and not base.special_hours:
            opens = self._at(d, self.hours[0])
            override_close = self._at(d, self.hours[1])
            # An early close stays early unless the override closes earlier still.
            closes = min(base.close, override_close) if base.early_close else override_close
        return SessionDay(
            date=d, calendar=self.name, timezone=self.timezone, known=True, is_trading_day=True,
            open=opens.astimezone(self.tz), close=closes.astimezone(self.tz), early_close=base.early_close,
            holiday=None, special_session=PMC_SPECIAL_HOURS if base.special_hours else None,
        )

    # -- instants ---------------------------------------------------------------------------

    def _local(self, ts: datetime) -> datetime:
        # A naive timestamp is market-local time (pmc's open_at_time would read it as UTC).
        if ts.tzinfo is None:
            return ts.replace(tzinfo=self.tz)
        return ts.astimezone(self.tz)

    def _nearby(self, local: datetime) -> Iterable[SessionDay]:
        # Sessions may start the evening before their date (futures calendars) or end after
        # midnight, so the neighbours of the local date are checked too.
        d = local.date()
        return (self.session(d + timedelta(days=k)) for k in (-1, 0, 1))

    def is_market_open(self, ts: datetime) -> bool:
        local = self._local(ts)
        return any(a <= local < b for day in self._nearby(local) for a, b in day.trading_intervals())

    def _regular_times(self, day: SessionDay) -> tuple[datetime, datetime]:
        if self.hours is not None:
            return self._at(day.date, self.hours[0]), self._at(day.date, self.hours[1])
        base = self._days.day(day.date)
        return base.regular_open.astimezone(self.tz), base.regular_close.astimezone(self.tz)

    def _pre_window(self, day: SessionDay) -> tuple[datetime, datetime]:
        assert day.open is not None
        if self.pre_market is None:
            return day.open - DEFAULT_EXTENDED_HOURS, day.open
        # The configured window belongs to the regular open; on a day that opens at another
        # time (Muhurat, late open) it moves with the open, keeping its length.
        shift = day.open - self._regular_times(day)[0]
        return self._at(day.date, self.pre_market[0]) + shift, self._at(day.date, self.pre_market[1]) + shift

    def _post_window(self, day: SessionDay) -> tuple[datetime, datetime]:
        assert day.close is not None
        if self.post_market is None:
            return day.close, day.close + DEFAULT_EXTENDED_HOURS
        shift = day.close - self._regular_times(day)[1]
        return self._at(day.date, self.post_market[0]) + shift, self._at(day.date, self.post_market[1]) + shift

    def get_market_state(self, ts: datetime) -> MarketState:
        """TRADING inside a session; PRE_MARKET/POST_MARKET in the windows around it (and in a
        break between two parts of one day's session); CLOSED otherwise, including unknown days."""
        local = self._local(ts)
        days = [day for day in self._nearby(local) if day.is_trading_day]
        if any(a <= local < b for day in days for a, b in day.trading_intervals()):
            return MarketState.TRADING
        for day in days:
            assert day.open is not None and day.close is not None
            if day.open <= local < day.close:  # inside a break: trading resumes the same day
                return MarketState.PRE_MARKET
            pre_start, pre_end = self._pre_window(day)
            if pre_start <= local < pre_end:
                return MarketState.PRE_MARKET
            post_start, post_end = self._post_window(day)
            if post_start <= local < post_end:
                return MarketState.POST_MARKET
        return MarketState.CLOSED

    def _next_edge(self, ts: datetime, edge: int) -> datetime | None:
        local = self._local(ts)
        first = local.date() - timedelta(days=1)
        for k in range(SEARCH_LIMIT_DAYS):
            day = self.session(first + timedelta(days=k))
            if not day.known:
                if day.date < local.date():
                    continue  # an unknown day before ts cannot hide the next edge
                return None  # past the data horizon: do not guess beyond it
            for span in day.trading_intervals():
                if span[edge] > local:
                    return span[edge]
        return None

    def get_next_market_open(self, ts: datetime) -> datetime | None:
        """The first open strictly after ts (tz-aware, market zone). None when an unknown day
        (a year without holiday data, or a session with unannounced times) comes first."""
        return self._next_edge(ts, 0)

    def get_next_market_close(self, ts: datetime) -> datetime | None:
        """The first close strictly after ts; a break counts as a close. None as for opens."""
        return self._next_edge(ts, 1)

    def today(self, now: datetime | None = None) -> date:
        """The market-local date at ``now`` (default: the current time)."""
        if now is None:
            now = datetime.now(UTC)
        return self._local(now).date()

    def __repr__(self) -> str:
        return f"MarketCalendar({self.name!r}, timezone={self.timezone!r})"


def _as_day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date, got {type(value).__name__}")
