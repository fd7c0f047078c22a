"""MarketCalendar as copilot_quant documented it: the no-argument forms (now), the regular hours,
weekends and holidays."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.errors import UsageError
from tradeday import MarketCalendar, MarketState

NY = ZoneInfo("America/New_York")


def test_now_forms_hours_weekends_and_holidays() -> None:
    calendar = MarketCalendar()  # XNYS, as copilot_quant's NYSE calendar
    with time_machine.travel(datetime(2025, 3, 12, 10, 0, tzinfo=NY), tick=False):
        assert calendar.is_market_open() and calendar.get_market_state() is MarketState.TRADING
        assert calendar.is_trading_day() and not calendar.is_weekend() and not calendar.is_holiday()
        assert calendar.get_next_market_close() == datetime(2025, 3, 12, 16, 0, tzinfo=NY)
        assert calendar.get_next_market_open() == datetime(2025, 3, 13, 9, 30, tzinfo=NY)
    with time_machine.travel(datetime(2025, 4, 18, 12, 0, tzinfo=NY), tick=False):  # Good Friday
        assert calendar.is_holiday() and not calendar.is_trading_day() and not calendar.is_market_open()
        assert calendar.get_market_state() is MarketState.CLOSED
        assert calendar.get_next_market_open() == datetime(2025, 4, 21, 9, 30, tzinfo=NY)

    assert (calendar.MARKET_OPEN_TIME, calendar.MARKET_CLOSE_TIME) == (time(9, 30), time(16, 0))
    assert calendar.is_weekend(date(2025, 3, 15)) and not calendar.is_holiday(date(2025, 3, 15))
    # An aware instant counts at the exchange: 03:00 UTC on Saturday is still Friday in New York.
    assert not calendar.is_weekend(datetime(2025, 3, 15, 3, 0, tzinfo=UTC))
    assert calendar.is_trading_day(datetime(2025, 3, 15, 3, 0, tzinfo=UTC))
    holidays = calendar.holidays(2025)
    assert holidays[date(2025, 4, 18)] == "Good Friday" and holidays[date(2025, 12, 25)] == "Christmas"
    assert all(d.weekday() < 5 and d.year == 2025 for d in holidays) and date(2025, 3, 12) not in holidays

    nse = MarketCalendar("XNSE")
    assert (nse.MARKET_OPEN_TIME, nse.MARKET_CLOSE_TIME) == (time(9, 15), time(15, 30))
    assert MarketCalendar("XNSE", hours=(time(9, 0), time(15, 0))).MARKET_OPEN_TIME == time(9, 0)
    assert nse.holidays(2025)[date(2025, 3, 14)] == "Holi"
    with pytest.raises(UsageError, match="no holiday data for 2035"):
        nse.holidays(2035)  # a list that would be empty, not a year without holidays
