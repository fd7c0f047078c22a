"""``MarketCalendar``: one exchange's calendar in one time zone -- is there a session on a day,
when does it open and close, what state is the market in at an instant.

On top of pmc (``session.calendar.pmc``) sit three layers, later ones winning:

1. a bundled overlay per exchange (``session.calendar.overlay``);
2. the user's calendar files, ``{root}/calendars/<NAME>.yaml`` (``session.calendar.local``):
   the exchange's published lists, as ``tradeday calendar import`` writes them;
3. the user's configuration: ``extra_holidays``, ``special_sessions`` and an ``hours`` override.

pmc is asked only when a schedule (or the data horizon) is needed: building a calendar for a
first-class exchange and asking ``today()`` imports neither pandas nor pmc.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ConfigError, UsageError
from session.calendar.days import (
    DEFAULT_EXTENDED_HOURS,
    EXCHANGE_HOLIDAY,
    PMC_SPECIAL_HOURS,
    SEARCH_LIMIT_DAYS,
    MarketState,
    SessionDay,
)
from session.calendar.local import calendars_dir, combine, local_overlays
from session.calendar.overlay import overlay_for
from session.calendar.pmc import BaseDay, PmcDays, horizon_for, identify_calendar, pmc_calendar, pmc_days
from session.calendar.values import as_date, as_day, check_window
from session.calendar.zones import canonical_zone

if TYPE_CHECKING:
    from session.calendar.special import SpecialSession
    from session.config import TradedayConfig


# How far first_unknown_year looks: beyond any list an exchange publishes ahead.
SEARCH_LIMIT_YEARS = 100


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
        calendars_dir: Path | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("market.calendar: missing", hint="set it to an exchange such as XNYS or XNSE")
        identity = identify_calendar(name)
        self.name = identity.name
        self.pmc_name = identity.pmc_name
        self.timezone = _market_zone(timezone, identity.zone)
        self.tz = ZoneInfo(self.timezone)

        self.hours = check_window(hours, "market.hours", "open", "close")
        self.pre_market = check_window(pre_market, "market.pre_market")
        self.post_market = check_window(post_market, "market.post_market")
        self.extra_holidays = _named_closures(extra_holidays or {})
        self.special_sessions = _checked_sessions(special_sessions or {}, self.extra_holidays)

        bundled = overlay_for(self.pmc_name) if use_overlay else None
        # The user's files (``calendars_dir``): the exchange lists imported for this config.
        self.calendars_dir = calendars_dir
        self.overlay = combine(bundled, local_overlays(calendars_dir, identity))
        self._known: tuple[int | None, int | None] | None = None
        self._pmc_days: PmcDays | None = None
        self._cache: dict[date, SessionDay] = {}

    # -- construction from the project's config ---------------------------------------------

    @classmethod
    def from_config(cls, config: TradedayConfig) -> MarketCalendar:
        """The calendar of a loaded config: its ``market`` section, with the calendar files
        under its root (``{root}/calendars``) on top of the bundled data."""
        return cls.from_market_config(config.market, calendars_dir=calendars_dir(config.root_dir))

    @classmethod
    def from_market_config(cls, market: Any, *, calendars_dir: Path | None = None) -> MarketCalendar:
        """Build from a config ``market`` section (duck-typed: any object with its attributes);
        ``calendars_dir`` holds the user's calendar files (none: the bundled data only)."""

        def window(obj: Any, first: str, second: str) -> tuple[time, time] | None:
            if obj is None:
                return None
            return (getattr(obj, first), getattr(obj, second))

        # name and breaks may be left out of a config section; open and close may not.
        specials: dict[Any, Any] = {
            day: SimpleNamespace(
                open=spec.open, close=spec.close, name=getattr(spec, "name", None),
                breaks=getattr(spec, "breaks", None), holiday=getattr(spec, "holiday", None),
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
            calendars_dir=calendars_dir,
        )

    # -- pmc, on first use ------------------------------------------------------------------

    @property
    def _pmc(self) -> Any:
        """pmc's calendar object (shared by every instance of this name)."""
        return pmc_calendar(self.name)

    @property
    def _days(self) -> PmcDays:
        """pmc's days in this calendar's zone (shared by every instance of this name and zone)."""
        if self._pmc_days is None:
            self._pmc_days = pmc_days(self.name, self.tz)
        return self._pmc_days

    # -- what the calendar knows ------------------------------------------------------------

    @property
    def known_from(self) -> int | None:
        """First year with holiday data (None: no lower bound)."""
        return self._horizon()[0]

    @property
    def known_through(self) -> int | None:
        """Last year with holiday data (None: rule-based, every year is known)."""
        return self._horizon()[1]

    def _horizon(self) -> tuple[int | None, int | None]:
        # Computed on first use: it needs pmc (and pandas), which `today()` does not.
        if self._known is None:
            known_from, generic_through = horizon_for(self.name)  # the session cache, else pmc
            overlay_through = self.overlay.known_through if self.overlay is not None else None
            if generic_through is not None and overlay_through is not None:
                generic_through = max(generic_through, overlay_through)
            if generic_through is not None:
                # Imported years right after the horizon extend it; a gap stays unknown.
                while generic_through + 1 in self._extra_years:
                    generic_through += 1
            self._known = (known_from, generic_through)
        return self._known

    @property
    def _extra_years(self) -> frozenset[int]:
        return self.overlay.known_years if self.overlay is not None else frozenset()

    def year_known(self, year: int) -> bool:
        """Whether the calendar has holiday data for ``year`` (pmc, the overlay, imported lists)."""
        if year in self._extra_years:
            return True
        known_from, known_through = self._horizon()
        if known_from is not None and year < known_from:
            return False
        return known_through is None or year <= known_through

    def first_unknown_year(self, year: int) -> int | None:
        """The first year from ``year`` on without holiday data; None when every year is known."""
        if self._horizon() == (None, None):
            return None
        for candidate in range(year, year + SEARCH_LIMIT_YEARS):
            if not self.year_known(candidate):
                return candidate
        return None

    # -- days -------------------------------------------------------------------------------

    def session(self, d: date) -> SessionDay:
        d = as_day(d)
        cached = self._cache.get(d)
        if cached is None:
            cached = self._compose(d, self._days.day(d))
            self._cache[d] = cached
        return cached

    def sessions(self, start: date, end: date) -> list[SessionDay]:
        """Every calendar date from start to end inclusive (weekends and holidays included)."""
        start, end = as_day(start), as_day(end)
        if end < start:
            raise UsageError(f"calendar range: end {end} is before start {start}")
        self._days.ensure_years(start.year, end.year)
        return [self.session(start + timedelta(days=i)) for i in range((end - start).days + 1)]

    def is_trading_day(self, d: date | None = None) -> bool:
        """Whether ``d`` (default: today at the exchange) has a session. A datetime counts as
        its market-local date; a day without holiday data is not a trading day."""
        return self.session(self._market_date(d)).is_trading_day

    # -- copilot_quant's names (docs/PYTHON_API.md) -----------------------------------------

    @property
    def MARKET_OPEN_TIME(self) -> time:  # noqa: N802 -- copilot_quant's public name
        """The regular open as a wall time in this calendar's zone (``market.hours`` if set)."""
        return self._regular_hours()[0]

    @property
    def MARKET_CLOSE_TIME(self) -> time:  # noqa: N802 -- copilot_quant's public name
        """The regular close as a wall time in this calendar's zone; early closes are per day
        (``session(d).close``)."""
        return self._regular_hours()[1]

    def _regular_hours(self) -> tuple[time, time]:
        if self.hours is not None:
            return self.hours
        # pmc's latest regular times, in the exchange's zone; moved to ours on today's date.
        today = datetime.now(self.tz).date()
        return tuple(  # type: ignore[return-value]
            datetime.combine(today, t).astimezone(self.tz).time().replace(tzinfo=None)
            for t in (self._pmc.open_time, self._pmc.close_time)
        )

    def is_weekend(self, d: date | None = None) -> bool:
        """Saturday or Sunday at the exchange (default: today). A weekend day can still have a
        session (NSE's Budget days, Muhurat): ask ``is_trading_day`` whether the market opens."""
        return self._market_date(d).weekday() >= 5

    def is_holiday(self, d: date | None = None) -> bool:
        """The exchange is closed on ``d`` (default: today) for a holiday: a named closure, or
        any closed weekday. Days without holiday data are neither holidays nor trading days."""
        day = self.session(self._market_date(d))
        if day.is_trading_day or not day.known:
            return False
        return day.holiday is not None or day.date.weekday() < 5

    def holidays(self, year: int) -> dict[date, str]:
        """The exchange's holidays of ``year`` (date -> name), weekends left out unless the
        closure is named. UsageError for a year without holiday data (the list would be wrong)."""
        if not self.year_known(year):
            raise UsageError(f"{self.name} has no holiday data for {year}",
                             hint="`tradeday calendar import` adds an exchange's published list")
        return {day.date: day.holiday or EXCHANGE_HOLIDAY
                for day in self.sessions(date(year, 1, 1), date(year, 12, 31)) if self.is_holiday(day.date)}

    def _market_date(self, value: date | None) -> date:
        if value is None:
            return self.today()
        if isinstance(value, datetime):
            return self._local(value).date()
        return as_day(value)

    def _at(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=self.tz)

    def _special_day(self, d: date, spec: SpecialSession, holiday: str | None) -> SessionDay:
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

    def _compose(self, d: date, base: BaseDay) -> SessionDay:
        # Precedence: config > overlay > pmc. Explicit entries make a day known even in a year
        # without holiday data, because they state what happens on that very day.
        overlay_special = self.overlay.special_sessions.get(d) if self.overlay else None
        overlay_holiday = self.overlay.holidays.get(d) if self.overlay else None
        named_holiday = (overlay_special.holiday if overlay_special else None) or overlay_holiday or base.holiday

        config_special = self.special_sessions.get(d)
        if config_special is not None:
            return self._special_day(d, config_special, config_special.holiday or named_holiday)
        if d in self.extra_holidays:
            return self._closed_day(d, True, self.extra_holidays[d])
        if overlay_special is not None:
            if not overlay_special.timed:
                # Announced, times not yet published: saying "closed" or guessing hours would
                # both be wrong, so the day is unknown until someone adds the times.
                return self._closed_day(d, False, named_holiday, overlay_special.name)
            return self._special_day(d, overlay_special, named_holiday)
        if overlay_holiday is not None:
            return self._closed_day(d, True, overlay_holiday)
        if not self.year_known(d.year):
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

    def is_market_open(self, ts: datetime | None = None) -> bool:
        """Whether the market trades at ``ts`` (default: now)."""
        local = self._local(ts or datetime.now(UTC))
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

    def get_market_state(self, ts: datetime | None = None) -> MarketState:
        """TRADING inside a session; PRE_MARKET/POST_MARKET in the windows around it (and in a
        break between two parts of one day's session); CLOSED otherwise, including unknown days.
        ``ts`` defaults to now."""
        local = self._local(ts or datetime.now(UTC))
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

    def get_next_market_open(self, ts: datetime | None = None) -> datetime | None:
        """The first open strictly after ts (default: now; tz-aware, market zone). None when an
        unknown day (a year without holiday data, or a session with unannounced times) comes first."""
        return self._next_edge(ts or datetime.now(UTC), 0)

    def get_next_market_close(self, ts: datetime | None = None) -> datetime | None:
        """The first close strictly after ts (default: now); a break counts as a close. None as
        for opens."""
        return self._next_edge(ts or datetime.now(UTC), 1)

    def today(self, now: datetime | None = None) -> date:
        """The market-local date at ``now`` (default: the current time)."""
        if now is None:
            now = datetime.now(UTC)
        return self._local(now).date()

    def __repr__(self) -> str:
        return f"MarketCalendar({self.name!r}, timezone={self.timezone!r})"



def _market_zone(timezone: str | None, exchange_zone: str) -> str:
    """The zone the calendar reports in: the configured one (canonical name) or the exchange's."""
    if timezone is None:
        return exchange_zone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"market.timezone: unknown time zone '{timezone}'",
            hint=f"use an IANA name; this exchange is in {exchange_zone}",
        ) from None
    return canonical_zone(timezone)


def _named_closures(extra_holidays: Mapping[Any, Any]) -> dict[date, str]:
    """``market.extra_holidays``: each date closes with a name."""
    closures: dict[date, str] = {}
    for key, label in extra_holidays.items():
        day = as_date(key, "market.extra_holidays")
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"market.extra_holidays.{day}: needs a name", hint='e.g. 2025-03-14: "Holi"')
        closures[day] = label.strip()
    return closures


def _checked_sessions(special_sessions: Mapping[Any, Any], closures: Mapping[date, str]) -> dict[date, SpecialSession]:
    """``market.special_sessions``: each a session with known times, on a day not also closed."""
    if not special_sessions:
        return {}
    from session.calendar.special import checked_session  # pydantic: only when there are any

    sessions: dict[date, SpecialSession] = {}
    for key, spec in special_sessions.items():
        day = as_date(key, "market.special_sessions")
        where = f"market.special_sessions.{day}"
        if day in closures:
            raise ConfigError(f"{where}: the date is also in market.extra_holidays; keep one")
        sessions[day] = checked_session(spec, where)
    return sessions
