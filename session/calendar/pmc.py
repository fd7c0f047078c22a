"""pandas_market_calendars (pmc): calendars, data horizons and per-year schedules, shared by
every MarketCalendar instance of the process.

Holiday rules come from pmc; nothing here hand-codes a holiday rule. pandas and pmc are
imported inside the functions that need them: importing this module stays cheap. A year's days
and a calendar's horizon are read from the session cache (``session.calendar.cache``) when it
holds them, and kept there when pmc computed them, so that pmc is imported only for years this
machine has not asked about under this pmc version.
"""
from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.errors import ConfigError
from core.suggest import close_matches
from session.calendar.days import EXCHANGE_HOLIDAY
from session.calendar.zones import FIRST_CLASS, CalendarIdentity, canonical_zone

_PMC_LOCK = threading.Lock()
_PMC_CALENDARS: dict[str, Any] = {}


def available_calendar_names() -> list[str]:
    """Every calendar name pmc accepts (aliases included), sorted."""
    import pandas_market_calendars as mcal

    return sorted(set(mcal.get_calendar_names()), key=str.lower)


def resolve_calendar_name(name: str) -> str:
    names = available_calendar_names()
    if name in names:
        return name
    by_lower = {n.lower(): n for n in names}
    wanted = name.strip().lower()
    if wanted in by_lower:  # "xnse" is XNSE: pmc's names are case-sensitive, people are not
        return by_lower[wanted]
    close = close_matches(wanted, names, n=4, ignore_case=True)
    suggestion = f"did you mean {', '.join(close)}? " if close else ""
    raise ConfigError(
        f"market.calendar: unknown calendar '{name}'",
        hint=(
            f"{suggestion}XNYS (New York) and XNSE (India) are first-class; list every name with: "
            "python -c \"import pandas_market_calendars as m; print(sorted(m.get_calendar_names()))\""
        ),
    )


def identify_calendar(name: str) -> CalendarIdentity:
    """Name, pmc name and zone of the calendar a person named; the first-class calendars are
    answered without importing pmc (or pandas), the others by pmc."""
    known = FIRST_CLASS.get(name.strip().lower())
    if known is not None:
        return known
    resolved = resolve_calendar_name(name)
    cal = pmc_calendar(resolved)
    return CalendarIdentity(resolved, str(cal.name), zone_name(cal.tz))


def pmc_calendar(name: str) -> Any:
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


def zone_name(tz: Any) -> str:
    key = getattr(tz, "key", None) or getattr(tz, "zone", None) or str(tz)
    return canonical_zone(str(key))


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


def horizon_for(name: str, pmc_cal: Any = None) -> tuple[int | None, int | None]:
    """``list_horizon`` of a calendar, from the session cache when it holds it (no pmc import)."""
    if name not in _HORIZONS:
        from session.calendar import cache

        horizon = cache.read_horizon(name)
        if horizon is None:
            horizon = list_horizon(pmc_cal if pmc_cal is not None else pmc_calendar(name))
            cache.write_horizon(name, horizon)
        _HORIZONS[name] = horizon
    return _HORIZONS[name]


@dataclass(frozen=True)
class BaseDay:
    """What pmc alone says about one calendar date (times in the market zone)."""

    open: datetime | None
    close: datetime | None
    regular_open: datetime  # the era's regular times, for early-close detection and window shifts
    regular_close: datetime
    holiday: str | None
    early_close: bool
    special_hours: bool


def narrow_holidays(cal: Any, first: int, last: int) -> None:
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


class PmcDays:
    """pmc's days for one calendar in one zone: a year from the session cache
    (``session.calendar.cache``) when it holds it, else a span of years per schedule call."""

    def __init__(self, name: str, tz: ZoneInfo, *, use_cache: bool = True) -> None:
        self.name = name
        self.tz = tz
        self.use_cache = use_cache
        self._days: dict[date, BaseDay] = {}
        self._years: set[int] = set()
        self._lock = threading.Lock()

    @property
    def pmc(self) -> Any:
        """pmc's calendar: imported only when a year is not in the session cache."""
        return pmc_calendar(self.name)

    def ensure_years(self, first: int, last: int) -> None:
        missing = [y for y in range(first, last + 1) if y not in self._years]
        if not missing:
            return
        with self._lock:
            missing = [y for y in range(first, last + 1) if y not in self._years]
            if missing:
                self._fill(missing)

    def _fill(self, missing: list[int]) -> None:
        from session.calendar import cache

        if self.use_cache:
            for year in missing:
                cached = cache.read_year(self.name, self.tz, year)
                if cached is not None:
                    self._days.update(cached)
                    self._years.add(year)
        computed = [y for y in missing if y not in self._years]
        if not computed:
            return
        # One schedule call for the whole missing span, so sessions() over a range
        # costs one pmc call and session() day after day costs none after the first.
        self._load(min(computed), max(computed))
        if self.use_cache:
            for year in computed:
                cache.write_year(self.name, self.tz, year, self._days)

    def day(self, d: date) -> BaseDay:
        self.ensure_years(d.year, d.year)
        return self._days[d]

    def _load(self, first: int, last: int) -> None:
        import pandas as pd

        cal = self.pmc
        start, end = pd.Timestamp(first, 1, 1), pd.Timestamp(last, 12, 31)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                narrow_holidays(cal, first, last)
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
            for ts, o, c in zip(schedule.index, schedule["market_open"], schedule["market_close"], strict=True)
        }
        for ts, reg_o, reg_c in zip(every_day, regular_open, regular_close, strict=True):
            d = ts.date()
            reg_open, reg_close = reg_o.to_pydatetime(), reg_c.to_pydatetime()
            if d in sessions:
                o, c = sessions[d]
                self._days[d] = BaseDay(
                    open=o, close=c, regular_open=reg_open, regular_close=reg_close, holiday=None,
                    early_close=c < reg_close, special_hours=o != reg_open or c > reg_close,
                )
            else:
                # A closed day in the weekmask is a holiday; outside it, a weekend (no name).
                holiday = (names.get(d) or EXCHANGE_HOLIDAY) if d.weekday() in trading_weekdays else None
                self._days[d] = BaseDay(
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


_PMC_DAYS: dict[tuple[str, str], PmcDays] = {}


def pmc_days(pmc_name: str, tz: ZoneInfo) -> PmcDays:
    key = (pmc_name, tz.key)
    with _PMC_LOCK:
        days = _PMC_DAYS.get(key)
    if days is None:
        days = PmcDays(pmc_name, tz)
        with _PMC_LOCK:
            days = _PMC_DAYS.setdefault(key, days)
    return days
