"""session.calendar against hand-written exchange facts (NYSE 2024-2027, NSE 2024-2026)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from core.errors import ConfigError, UsageError
from session.calendar import (
    EXCHANGE_HOLIDAY,
    MarketCalendar,
    MarketState,
    SessionDay,
    SpecialSession,
    list_horizon,
    load_overlay,
    overlay_path,
)
from tests.conftest import REPO

NY = ZoneInfo("America/New_York")
IST = ZoneInfo("Asia/Kolkata")
UTC = UTC


@pytest.fixture(scope="module")
def nyse() -> MarketCalendar:
    return MarketCalendar("XNYS")


@pytest.fixture(scope="module")
def nse() -> MarketCalendar:
    return MarketCalendar("XNSE")


def ny(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=NY)


def ist(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=IST)


def closed_weekdays(cal: MarketCalendar, year: int) -> dict[date, str | None]:
    days = cal.sessions(date(year, 1, 1), date(year, 12, 31))
    return {d.date: d.holiday for d in days if d.date.weekday() < 5 and not d.is_trading_day}


# ---------------------------------------------------------------------------- NYSE


NYSE_HOLIDAYS = {
    2024: ["01-01", "01-15", "02-19", "03-29", "05-27", "06-19", "07-04", "09-02", "11-28", "12-25"],
    # 2025-01-09: national day of mourning for President Carter (ad-hoc closure).
    2025: ["01-01", "01-09", "01-20", "02-17", "04-18", "05-26", "06-19", "07-04", "09-01", "11-27", "12-25"],
    # 2026-07-03: Independence Day observed (July 4th is a Saturday) -- a full holiday.
    2026: ["01-01", "01-19", "02-16", "04-03", "05-25", "06-19", "07-03", "09-07", "11-26", "12-25"],
    # 2027-12-24: Christmas observed (Dec 25th is a Saturday).
    2027: ["01-01", "01-18", "02-15", "03-26", "05-31", "06-18", "07-05", "09-06", "11-25", "12-24"],
}
# Day before Independence Day, day after Thanksgiving, Christmas Eve -- when they are sessions.
NYSE_EARLY_CLOSES = {
    2024: ["07-03", "11-29", "12-24"],
    2025: ["07-03", "11-28", "12-24"],
    2026: ["11-27", "12-24"],
    2027: ["11-26"],
}


@pytest.mark.parametrize("year", sorted(NYSE_HOLIDAYS))
def test_nyse_holidays_are_exactly_the_published_ones(nyse: MarketCalendar, year: int) -> None:
    expected = {date.fromisoformat(f"{year}-{md}") for md in NYSE_HOLIDAYS[year]}
    closed = closed_weekdays(nyse, year)
    assert set(closed) == expected
    assert all(closed.values()), "every weekday holiday carries a name"


@pytest.mark.parametrize("year", sorted(NYSE_EARLY_CLOSES))
def test_nyse_early_closes_close_at_1300_local(nyse: MarketCalendar, year: int) -> None:
    days = nyse.sessions(date(year, 1, 1), date(year, 12, 31))
    early = [d for d in days if d.early_close]
    assert [d.date for d in early] == [date.fromisoformat(f"{year}-{md}") for md in NYSE_EARLY_CLOSES[year]]
    for d in early:
        assert d.close == datetime.combine(d.date, time(13, 0), tzinfo=NY)
        assert d.open == datetime.combine(d.date, time(9, 30), tzinfo=NY)
        assert d.kind == "early_close" and d.is_trading_day and d.special_session is None


def test_nyse_holiday_names_come_from_pmc_rules(nyse: MarketCalendar) -> None:
    assert nyse.session(date(2024, 12, 25)).holiday == "Christmas"
    assert nyse.session(date(2025, 11, 27)).holiday == "Thanksgiving"
    assert nyse.session(date(2026, 4, 3)).holiday == "Good Friday"
    independence_observed = nyse.session(date(2026, 7, 3))
    assert independence_observed.kind == "closed" and not independence_observed.early_close
    assert independence_observed.holiday == "July 4th"
    # A listed one-off closure has no rule name behind it.
    assert nyse.session(date(2025, 1, 9)).holiday == EXCHANGE_HOLIDAY


def test_weekend_is_closed_without_a_holiday_name(nyse: MarketCalendar) -> None:
    saturday = nyse.session(date(2025, 6, 14))
    assert (saturday.known, saturday.is_trading_day, saturday.holiday, saturday.kind) == (True, False, None, "closed")
    assert saturday.open is None and saturday.close is None


def test_nyse_is_rule_based_so_far_years_are_known(nyse: MarketCalendar) -> None:
    assert nyse.known_through is None
    far = nyse.session(date(2031, 12, 25))
    assert far.known and far.holiday == "Christmas"
    assert nyse.session(date(2031, 12, 26)).kind == "regular"


# ---------------------------------------------------------------------------- NSE


def test_nse_named_holidays_2024_to_2026(nse: MarketCalendar) -> None:
    sample = {
        date(2024, 1, 22): "Public holiday in Maharashtra (Shri Ram Lalla Pran Pratishtha)",
        date(2024, 3, 25): "Holi",
        date(2024, 5, 20): "General Parliamentary Elections",
        date(2024, 11, 20): "Assembly Elections in Maharashtra",
        date(2025, 2, 26): "Mahashivratri",
        date(2025, 8, 27): "Shri Ganesh Chaturthi",
        date(2025, 10, 22): "Diwali Balipratipada",
        date(2026, 1, 15): "Municipal Corporation Election in Maharashtra",
        date(2026, 3, 3): "Holi",
        date(2026, 11, 24): "Prakash Gurpurb Sri Guru Nanak Dev",
    }
    for day, name in sample.items():
        s = nse.session(day)
        assert (s.known, s.is_trading_day, s.holiday, s.kind) == (True, False, name, "closed"), day


def test_nse_overlay_holidays_agree_with_pmc(nse: MarketCalendar) -> None:
    # The overlay names pmc's unnamed list; the two must not disagree on which days close.
    raw_pmc = MarketCalendar("XNSE", use_overlay=False)
    for year in (2024, 2025, 2026):
        pmc_closed = set(closed_weekdays(raw_pmc, year))
        overlay_closed = {d for d in nse.overlay.holidays if d.year == year}
        assert pmc_closed == overlay_closed, year
        assert all(name != EXCHANGE_HOLIDAY for name in closed_weekdays(nse, year).values())


def test_nse_regular_day_is_0915_to_1530_ist(nse: MarketCalendar) -> None:
    s = nse.session(date(2025, 6, 10))
    assert s.kind == "regular" and s.timezone == "Asia/Kolkata"
    assert (s.open, s.close) == (ist(2025, 6, 10, 9, 15), ist(2025, 6, 10, 15, 30))
    assert s.to_json()["open"] == "2025-06-10T09:15:00+05:30"


@pytest.mark.parametrize(
    ("day", "opens", "closes"),
    [
        (date(2024, 1, 20), time(9, 15), time(15, 30)),  # Saturday, Ram Mandir swap
        (date(2025, 2, 1), time(9, 15), time(15, 30)),  # Saturday, Union Budget
        (date(2026, 2, 1), time(9, 15), time(15, 30)),  # Sunday, Union Budget
        (date(2024, 3, 2), time(9, 15), time(12, 30)),  # Saturday, DR drill
    ],
)
def test_nse_weekend_sessions_from_the_overlay(nse: MarketCalendar, day: date, opens: time, closes: time) -> None:
    assert day.weekday() >= 5
    s = nse.session(day)
    assert s.is_trading_day and s.known and s.kind == "special" and s.special_session
    assert (s.open, s.close) == (datetime.combine(day, opens, tzinfo=IST), datetime.combine(day, closes, tzinfo=IST))
    assert nse.is_trading_day(day)
    # pmc alone cannot see them: the overlay is what makes them sessions.
    assert not MarketCalendar("XNSE", use_overlay=False).session(day).is_trading_day


def test_nse_split_dr_drill_session_is_closed_during_its_break(nse: MarketCalendar) -> None:
    assert nse.is_market_open(ist(2024, 3, 2, 9, 30))
    assert not nse.is_market_open(ist(2024, 3, 2, 10, 30))
    assert nse.is_market_open(ist(2024, 3, 2, 11, 45))
    assert nse.get_market_state(ist(2024, 3, 2, 10, 30)) == MarketState.PRE_MARKET
    assert nse.get_next_market_close(ist(2024, 3, 2, 9, 30)) == ist(2024, 3, 2, 10, 0)
    assert nse.get_next_market_open(ist(2024, 3, 2, 10, 30)) == ist(2024, 3, 2, 11, 30)
    assert nse.get_next_market_close(ist(2024, 3, 2, 10, 30)) == ist(2024, 3, 2, 12, 30)


@pytest.mark.parametrize(
    ("day", "opens", "closes"),
    [(date(2024, 11, 1), time(18, 0), time(19, 0)), (date(2025, 10, 21), time(13, 45), time(14, 45))],
)
def test_muhurat_day_has_only_the_special_session(nse: MarketCalendar, day: date, opens: time, closes: time) -> None:
    s = nse.session(day)
    assert s.is_trading_day and s.kind == "special" and not s.early_close
    assert s.special_session == "Muhurat Trading" and s.holiday == "Diwali Laxmi Pujan"
    assert (s.open, s.close) == (datetime.combine(day, opens, tzinfo=IST), datetime.combine(day, closes, tzinfo=IST))
    assert not nse.is_market_open(datetime.combine(day, time(10, 0), tzinfo=IST))  # no regular session
    assert nse.is_market_open(datetime.combine(day, opens, tzinfo=IST) + timedelta(minutes=30))
    assert not nse.is_market_open(datetime.combine(day, closes, tzinfo=IST))


def test_muhurat_with_unannounced_times_is_unknown_until_configured(nse: MarketCalendar) -> None:
    s = nse.session(date(2026, 11, 8))  # Sunday; NSE said the times would follow
    assert (s.known, s.is_trading_day, s.open, s.close, s.kind) == (False, False, None, None, "unknown")
    assert (s.holiday, s.special_session) == ("Diwali Laxmi Pujan", "Muhurat Trading")
    # The next open from Friday evening cannot be stated: a session of unknown hours comes first.
    assert nse.get_next_market_open(ist(2026, 11, 6, 16, 0)) is None

    configured = MarketCalendar(
        "XNSE", special_sessions={date(2026, 11, 8): SpecialSession(time(18, 0), time(19, 0), "Muhurat Trading")}
    )
    s = configured.session(date(2026, 11, 8))
    assert s.known and s.is_trading_day and s.holiday == "Diwali Laxmi Pujan"
    assert configured.get_next_market_open(ist(2026, 11, 6, 16, 0)) == ist(2026, 11, 8, 18, 0)


def test_nse_2027_is_unknown_never_a_normal_session(nse: MarketCalendar) -> None:
    assert nse.known_through == 2026
    monday = nse.session(date(2027, 3, 1))
    assert (monday.known, monday.is_trading_day, monday.open, monday.close) == (False, False, None, None)
    assert monday.kind == "unknown" and monday.to_json()["known"] is False
    assert not nse.is_market_open(ist(2027, 3, 1, 11, 0))
    assert nse.get_market_state(ist(2027, 3, 1, 11, 0)) == MarketState.CLOSED
    # The last known session's close is still answered; nothing after the horizon is invented.
    assert nse.get_next_market_close(ist(2026, 12, 31, 10, 0)) == ist(2026, 12, 31, 15, 30)
    assert nse.get_next_market_open(ist(2026, 12, 31, 16, 0)) is None
    span = nse.sessions(date(2026, 12, 30), date(2027, 1, 2))
    assert [d.known for d in span] == [True, True, False, False]


def test_list_horizon_is_derived_from_pmc_not_the_overlay() -> None:
    raw = MarketCalendar("XNSE", use_overlay=False)
    assert (raw.known_from, raw.known_through) == (1996, 2026)
    assert not raw.session(date(2027, 3, 1)).known
    assert raw.session(date(1995, 6, 1)).kind == "unknown"
    assert list_horizon(raw._pmc) == (1996, 2026)


def test_overlay_known_through_extends_the_horizon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A newer published list goes into the overlay with known_through; simulate it for 2027.
    text = overlay_path("NSE").read_text(encoding="utf-8")
    text = text.replace("known_through: 2026", "known_through: 2027").replace(
        "holidays:\n", "holidays:\n  2027-01-26: {name: \"Republic Day\", source: NSE/CMTR/71775}\n", 1
    )
    (tmp_path / "nse_overlay.yaml").write_text(text, encoding="utf-8")
    import session.calendar.overlay as calendar_module

    monkeypatch.setattr(calendar_module, "DATA_DIR", tmp_path)
    monkeypatch.setattr(calendar_module, "_OVERLAYS", {})
    cal = MarketCalendar("XNSE")
    assert cal.known_through == 2027
    assert cal.session(date(2027, 1, 26)).holiday == "Republic Day"
    assert cal.session(date(2027, 3, 1)).kind == "regular"


# ---------------------------------------------------------------------------- overrides


def test_config_extra_holiday_closes_a_normal_day_and_beats_the_overlay() -> None:
    cal = MarketCalendar(
        "XNSE",
        extra_holidays={date(2025, 6, 10): "Broker maintenance", date(2025, 2, 1): "Skip the Budget session"},
    )
    s = cal.session(date(2025, 6, 10))
    assert (s.known, s.is_trading_day, s.holiday, s.kind) == (True, False, "Broker maintenance", "closed")
    assert not cal.session(date(2025, 2, 1)).is_trading_day  # config wins over the overlay's session
    # An explicit entry makes a day known even beyond the data horizon.
    beyond = MarketCalendar("XNSE", extra_holidays={"2027-01-26": "Republic Day"}).session(date(2027, 1, 26))
    assert beyond.known and beyond.holiday == "Republic Day"


def test_config_special_session_creates_or_replaces_a_session() -> None:
    specials = {
        date(2025, 6, 14): SpecialSession(time(10, 0), time(12, 0), "Saturday drill"),  # weekend
        date(2025, 12, 25): SpecialSession(time(9, 30), time(11, 0), "Holiday session"),  # holiday
        date(2025, 6, 10): SpecialSession(time(11, 0), time(14, 0), "Shortened day"),  # normal day
        date(2027, 2, 1): SpecialSession(time(9, 15), time(15, 30), "Budget 2027"),  # unknown year
    }
    cal = MarketCalendar("XNYS", special_sessions=specials)
    weekend = cal.session(date(2025, 6, 14))
    assert weekend.is_trading_day and weekend.special_session == "Saturday drill" and weekend.holiday is None
    assert weekend.open == ny(2025, 6, 14, 10, 0)
    on_holiday = cal.session(date(2025, 12, 25))
    assert on_holiday.is_trading_day and on_holiday.holiday == "Christmas"
    replaced = cal.session(date(2025, 6, 10))
    assert (replaced.open, replaced.close, replaced.kind) == (ny(2025, 6, 10, 11), ny(2025, 6, 10, 14), "special")
    assert not cal.is_market_open(ny(2025, 6, 10, 10, 0))
    nse = MarketCalendar("XNSE", special_sessions={date(2027, 2, 1): specials[date(2027, 2, 1)]})
    assert nse.session(date(2027, 2, 1)).known and nse.session(date(2027, 2, 1)).is_trading_day


def test_hours_override_replaces_regular_hours_but_keeps_early_closes() -> None:
    cal = MarketCalendar("XNYS", hours=(time(10, 0), time(15, 0)))
    regular = cal.session(date(2025, 6, 10))
    assert (regular.open, regular.close) == (ny(2025, 6, 10, 10), ny(2025, 6, 10, 15))
    early = cal.session(date(2024, 11, 29))
    assert early.early_close and early.close == ny(2024, 11, 29, 13)
    stricter = MarketCalendar("XNYS", hours=(time(9, 30), time(12, 0))).session(date(2024, 11, 29))
    assert stricter.early_close and stricter.close == ny(2024, 11, 29, 12)
    # Special sessions keep their own times.
    muhurat = MarketCalendar("XNSE", hours=(time(9, 0), time(15, 0))).session(date(2024, 11, 1))
    assert (muhurat.open, muhurat.close) == (ist(2024, 11, 1, 18), ist(2024, 11, 1, 19))


def test_from_market_config_reads_the_config_shape() -> None:
    market = SimpleNamespace(
        calendar="xnse",  # names are matched case-insensitively
        timezone=None,
        hours=SimpleNamespace(open=time(9, 15), close=time(15, 0)),
        pre_market=SimpleNamespace(start=time(9, 0), end=time(9, 15)),
        post_market=None,
        extra_holidays={date(2025, 6, 10): "Desk offsite"},
        special_sessions={date(2025, 6, 14): SimpleNamespace(open=time(10, 0), close=time(11, 0), name="Mock")},
    )
    cal = MarketCalendar.from_market_config(market)
    assert cal.name == "XNSE" and cal.timezone == "Asia/Kolkata"
    assert cal.session(date(2025, 6, 11)).close == ist(2025, 6, 11, 15, 0)
    assert cal.session(date(2025, 6, 10)).holiday == "Desk offsite"
    assert cal.session(date(2025, 6, 14)).special_session == "Mock"
    assert cal.get_market_state(ist(2025, 6, 11, 9, 5)) == MarketState.PRE_MARKET
    assert cal.get_market_state(ist(2025, 6, 11, 8, 55)) == MarketState.CLOSED


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "XYZ"}, "market.calendar: unknown calendar 'XYZ'"),
        ({"name": "XNYZ"}, "did you mean XNZE, XNYS?"),
        ({"name": ""}, "market.calendar: missing"),
        ({"timezone": "Mars/Olympus"}, "market.timezone: unknown time zone 'Mars/Olympus'"),
        ({"hours": (time(16), time(9, 30))}, "market.hours: open 16:00 must be before close 09:30"),
        ({"hours": ("9:30", "25:00")}, "market.hours.close: '25:00' is not a time of day"),
        ({"pre_market": (time(9, 30), time(4))}, "market.pre_market: start 09:30 must be before end 04:00"),
        ({"extra_holidays": {"2025-13-01": "x"}}, "market.extra_holidays: '2025-13-01' is not a date"),
        ({"extra_holidays": {date(2025, 1, 2): ""}}, "market.extra_holidays.2025-01-02: needs a name"),
        (
            {"special_sessions": {date(2025, 1, 2): SpecialSession(time(12), time(11), "x")}},
            "market.special_sessions.2025-01-02: open 12:00 must be before close 11:00",
        ),
        (
            {
                "extra_holidays": {date(2025, 1, 2): "x"},
                "special_sessions": {date(2025, 1, 2): SpecialSession(time(10), time(11), "y")},
            },
            "also in market.extra_holidays",
        ),
    ],
)
def test_bad_configuration_is_a_one_line_config_error(kwargs: dict, message: str) -> None:
    kwargs = dict(kwargs)
    name = kwargs.pop("name", "XNYS")
    with pytest.raises(ConfigError) as err:
        MarketCalendar(name, **kwargs)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert err.value.exit_code == 3


# ---------------------------------------------------------------------------- instants


@pytest.mark.parametrize(
    ("hh", "mm", "state"),
    [
        (7, 29, MarketState.CLOSED),
        (7, 30, MarketState.PRE_MARKET),  # default pre-market: 2h before the open
        (9, 29, MarketState.PRE_MARKET),
        (9, 30, MarketState.TRADING),
        (15, 59, MarketState.TRADING),
        (16, 0, MarketState.POST_MARKET),  # the close itself is no longer trading
        (17, 59, MarketState.POST_MARKET),
        (18, 0, MarketState.CLOSED),
    ],
)
def test_nyse_state_around_open_and_close(nyse: MarketCalendar, hh: int, mm: int, state: MarketState) -> None:
    assert nyse.get_market_state(ny(2025, 6, 10, hh, mm)) == state
    assert nyse.is_market_open(ny(2025, 6, 10, hh, mm)) == (state == MarketState.TRADING)


def test_configured_extended_hours_follow_early_closes_and_special_opens() -> None:
    cal = MarketCalendar("XNYS", pre_market=(time(4), time(9, 30)), post_market=(time(16), time(20)))
    assert cal.get_market_state(ny(2025, 6, 10, 4, 0)) == MarketState.PRE_MARKET
    assert cal.get_market_state(ny(2025, 6, 10, 3, 59)) == MarketState.CLOSED
    assert cal.get_market_state(ny(2025, 6, 10, 19, 59)) == MarketState.POST_MARKET
    # 2024-11-29 closes at 13:00: the 4h post-market window moves with it to 13:00-17:00.
    assert cal.get_market_state(ny(2024, 11, 29, 13, 0)) == MarketState.POST_MARKET
    assert cal.get_market_state(ny(2024, 11, 29, 17, 0)) == MarketState.CLOSED
    assert cal.get_market_state(ny(2025, 6, 14, 10, 0)) == MarketState.CLOSED  # Saturday

    nse = MarketCalendar("XNSE", pre_market=(time(9, 0), time(9, 15)))
    # Muhurat opens 18:00; the 15-minute pre-open moves with it (NSE ran 17:45-18:00).
    assert nse.get_market_state(ist(2024, 11, 1, 17, 50)) == MarketState.PRE_MARKET
    assert nse.get_market_state(ist(2024, 11, 1, 9, 5)) == MarketState.CLOSED
    assert nse.get_market_state(ist(2024, 11, 1, 18, 30)) == MarketState.TRADING


def test_nyse_dst_boundaries_keep_0930_local(nyse: MarketCalendar) -> None:
    # Spring forward on Sunday 2025-03-09: the open moves from 14:30 UTC to 13:30 UTC.
    assert nyse.session(date(2025, 3, 7)).open.astimezone(UTC) == datetime(2025, 3, 7, 14, 30, tzinfo=UTC)
    assert nyse.session(date(2025, 3, 10)).open.astimezone(UTC) == datetime(2025, 3, 10, 13, 30, tzinfo=UTC)
    assert not nyse.is_market_open(datetime(2025, 3, 7, 14, 0, tzinfo=UTC))
    assert nyse.is_market_open(datetime(2025, 3, 10, 14, 0, tzinfo=UTC))
    # Fall back on Sunday 2025-11-02: the close moves from 20:00 UTC to 21:00 UTC.
    assert nyse.is_market_open(datetime(2025, 11, 3, 20, 30, tzinfo=UTC))
    assert not nyse.is_market_open(datetime(2025, 10, 31, 20, 30, tzinfo=UTC))
    assert nyse.get_next_market_open(datetime(2025, 3, 8, 12, 0, tzinfo=UTC)) == ny(2025, 3, 10, 9, 30)
    assert nyse.session(date(2025, 3, 10)).to_json()["open"] == "2025-03-10T09:30:00-04:00"
    assert nyse.session(date(2025, 3, 7)).to_json()["open"] == "2025-03-07T09:30:00-05:00"


def test_naive_timestamps_are_market_local_time(nyse: MarketCalendar, nse: MarketCalendar) -> None:
    assert nyse.is_market_open(datetime(2025, 6, 10, 10, 0))  # 10:00 New York, not UTC
    assert not nyse.is_market_open(datetime(2025, 6, 10, 9, 0))
    assert nse.is_market_open(datetime(2025, 6, 10, 10, 0))  # 10:00 Kolkata
    assert nse.get_market_state(datetime(2025, 6, 10, 15, 45)) == MarketState.POST_MARKET


def test_next_open_and_close_across_weekends_and_holidays(nyse: MarketCalendar) -> None:
    # Thursday 2025-07-03 closes early; Friday 07-04 is a holiday; next open is Monday.
    assert nyse.get_next_market_close(ny(2025, 7, 3, 10)) == ny(2025, 7, 3, 13)
    assert nyse.get_next_market_open(ny(2025, 7, 3, 13, 30)) == ny(2025, 7, 7, 9, 30)
    assert nyse.get_next_market_open(ny(2025, 12, 24, 14)) == ny(2025, 12, 26, 9, 30)
    assert nyse.get_next_market_close(ny(2025, 6, 14, 12)) == ny(2025, 6, 16, 16)
    # Strictly after: at the open itself the next open is the following session's.
    assert nyse.get_next_market_open(ny(2025, 6, 10, 9, 30)) == ny(2025, 6, 11, 9, 30)
    assert nyse.get_next_market_close(ny(2025, 6, 10, 16, 0)) == ny(2025, 6, 11, 16, 0)
    # From another zone the answer is the same instant, expressed in market time.
    from_utc = nyse.get_next_market_open(datetime(2025, 7, 4, 12, 0, tzinfo=UTC))
    assert from_utc == ny(2025, 7, 7, 9, 30) and from_utc.tzinfo is not None
    assert str(from_utc.tzinfo) == "America/New_York"


def test_today_is_the_market_local_date(nse: MarketCalendar, nyse: MarketCalendar) -> None:
    late_utc = datetime(2025, 6, 10, 20, 0, tzinfo=UTC)  # 01:30 on the 11th in Kolkata
    assert nse.today(late_utc) == date(2025, 6, 11)
    assert nyse.today(late_utc) == date(2025, 6, 10)
    assert nse.today(datetime(2025, 6, 10, 23, 59)) == date(2025, 6, 10)  # naive = market-local
    assert isinstance(nyse.today(), date)


def test_to_json_has_exactly_the_documented_keys_and_formats(nyse: MarketCalendar) -> None:
    payload = nyse.session(date(2024, 11, 29)).to_json()
    assert payload == {
        "date": "2024-11-29",
        "calendar": "XNYS",
        "timezone": "America/New_York",
        "known": True,
        "is_trading_day": True,
        "open": "2024-11-29T09:30:00-05:00",
        "close": "2024-11-29T13:00:00-05:00",
        "early_close": True,
        "holiday": None,
        "special_session": None,
    }
    assert list(payload) == ["date", "calendar", "timezone", "known", "is_trading_day", "open", "close",
                             "early_close", "holiday", "special_session"]
    closed = nyse.session(date(2025, 12, 25)).to_json()
    assert (closed["open"], closed["close"], closed["holiday"]) == (None, None, "Christmas")


def test_sessions_returns_every_calendar_date_with_one_schedule_call(monkeypatch: pytest.MonkeyPatch) -> None:
    # A zone no other test uses, so this instance builds its own pmc schedules.
    cal = MarketCalendar("XNYS", timezone="America/Detroit")
    calls: list[tuple] = []
    original = type(cal._pmc).schedule

    def counting(self, *args, **kwargs):  # noqa: ANN001 - mirrors pmc's signature
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(cal._pmc), "schedule", counting)
    days = cal.sessions(date(2030, 12, 30), date(2033, 1, 2))
    assert len(days) == (date(2033, 1, 2) - date(2030, 12, 30)).days + 1
    assert [d.date for d in days[:3]] == [date(2030, 12, 30), date(2030, 12, 31), date(2031, 1, 1)]
    assert len(calls) == 1
    for i in range(60):  # consecutive days in cached years rebuild nothing
        cal.session(date(2032, 3, 1) + timedelta(days=i))
    assert len(calls) == 1
    cal.session(date(2034, 5, 1))  # a new year costs one more call
    assert len(calls) == 2
    with pytest.raises(UsageError):
        cal.sessions(date(2031, 2, 1), date(2031, 1, 1))


def test_a_different_timezone_reports_times_in_that_zone() -> None:
    cal = MarketCalendar("XNSE", timezone="UTC")
    s = cal.session(date(2025, 6, 10))
    assert s.timezone == "UTC" and s.open == datetime(2025, 6, 10, 3, 45, tzinfo=UTC)


# ---------------------------------------------------------------------------- overlay file


def test_bundled_overlay_is_valid_and_every_entry_is_sourced() -> None:
    overlay = load_overlay(overlay_path("NSE"))
    assert overlay.calendar == "NSE" and overlay.known_through == 2026
    for day in overlay.holidays:
        assert day.weekday() < 5, f"{day}: weekend holidays need no entry"
    for day, spec in overlay.special_sessions.items():
        info = overlay.sources[spec.source]
        assert info["url"].startswith("https://nsearchives.nseindia.com/"), day
        assert info["date"] <= day, f"{day}: the source must predate the session"
    assert set(d.year for d in overlay.holidays) == {2024, 2025, 2026}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("calendar: NSE\nholidays:\n  2025-01-01: {name: X, source: NOPE}\n", "is not one of the ids under sources"),
        ("calendar: NSE\nspecial_sessions:\n  2025-01-04: {name: X, open: '10:00', source: S}\n", "give both open and close"),
        ("calendar: NSE\nspecial_sessions:\n  2025-01-04: {name: X, open: '11:00', close: '10:00', source: S}\n",
         "open 11:00 must be before close 10:00"),
        ("calendar: NSE\nspecial_sessions:\n  2025-01-04: {name: X, open: '09:00', close: '12:00', source: S,"
         " breaks: [['13:00', '14:00']]}\n", "must lie inside the session"),
        ("calendar: NSE\nknown_through: soon\n", "known_through: must be a year"),
        ("calendar: [NSE\n", "not valid YAML"),
    ],
)
def test_a_broken_overlay_is_a_config_error_naming_the_entry(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "nse_overlay.yaml"
    path.write_text("sources:\n  S: {date: 2024-01-01, title: t}\n" + body, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_overlay(path)
    assert message in str(err.value) and "nse_overlay.yaml" in str(err.value)


# ---------------------------------------------------------------------------- import cost


def test_importing_the_module_does_not_import_pandas() -> None:
    code = textwrap.dedent(
        """
        import sys
        import session.calendar
        heavy = [m for m in ("pandas", "pandas_market_calendars", "exchange_calendars", "yaml") if m in sys.modules]
        print(",".join(heavy))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_first_class_calendars_are_known_as_pmc_knows_them() -> None:
    # MarketCalendar answers name, overlay and zone of these without pmc; pmc must agree.
    from session.calendar.pmc import pmc_calendar, resolve_calendar_name, zone_name
    from session.calendar.zones import FIRST_CLASS

    for key, known in FIRST_CLASS.items():
        assert resolve_calendar_name(key) == known.name
        cal = pmc_calendar(known.name)
        assert (str(cal.name), zone_name(cal.tz)) == (known.pmc_name, known.zone)


def test_today_of_a_first_class_calendar_does_not_import_pandas() -> None:
    code = textwrap.dedent(
        """
        import sys
        from session.calendar import MarketCalendar
        MarketCalendar("XNSE").today()
        MarketCalendar("xnys", timezone="Europe/London").today()
        print(",".join(m for m in ("pandas", "pandas_market_calendars") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_session_day_is_immutable(nyse: MarketCalendar) -> None:
    s: SessionDay = nyse.session(date(2025, 6, 10))
    with pytest.raises(AttributeError):
        s.open = None  # type: ignore[misc]
