"""The market the end of day reports on: its calendar and the report's currency."""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from session.calendar import MarketCalendar
    from session.config import TradedayConfig


def load_calendar(config: TradedayConfig) -> MarketCalendar:
    from session.calendar import MarketCalendar

    return MarketCalendar.from_config(config)


def resolve_currency(config: TradedayConfig, calendar: MarketCalendar) -> str:
    """``reports.currency``, else the market's; ConfigError (exit 3) if neither is known."""
    from reports.pnl import MARKET_CURRENCY

    if config.reports.currency:
        return config.reports.currency.strip().upper()
    for name in (calendar.name, getattr(calendar, "pmc_name", "")):
        if name and name.upper() in MARKET_CURRENCY:
            return MARKET_CURRENCY[name.upper()]
    raise ConfigError(f"{config.path} reports.currency: no known currency for market {calendar.name}",
                      hint="set reports.currency (e.g. USD, INR, EUR)")
