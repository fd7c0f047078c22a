"""The broker's fills from Kite: today's trades as journal fills, with the engine's strategies."""
from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from core.errors import EodError

if TYPE_CHECKING:
    from reports.journal import Fill, FillTable
    from session.calendar import MarketCalendar
    from session.config import TradedayConfig


def fetch_kite_fills(config: TradedayConfig, calendar: MarketCalendar, day: date) -> list[Fill]:
    """The day's trades from Kite (official client) as journal fills, in market time.

    Trades from other days (Kite's list is today's) are left out. Raises EodError/
    ConfigError with a one-line message that names neither the key nor the token.
    """
    from reports.importers import kite_trades_to_journal
    from session.brokers.kite import IST, fetch_kite_trades, load_kite_credentials

    kite = config.broker.kite
    creds = load_kite_credentials(config.resolve(kite.secrets_file), config.resolve(kite.tokens_file), os.environ)
    if not creds.api_key or not creds.access_token:
        missing = "API key" if not creds.api_key else "access token"
        raise EodError(f"no Kite {missing} (broker.kite.secrets_file / tokens_file, or KITE_API_KEY / "
                       "KITE_ACCESS_TOKEN)", hint="log in to Kite and write the token file, then run tradeday eod")
    trades = fetch_kite_trades(creds.api_key, creds.access_token, root=kite.api_root, timeout=kite.timeout)
    fills = kite_trades_to_journal(trades, IST)  # Kite's timestamps are exchange (IST) time
    return [f for f in fills if f.time.astimezone(calendar.tz).date() == day]


def attribute_strategies(broker: list[Fill], journal: FillTable | None) -> list[Fill]:
    """Give each broker fill the strategy the engine journalled for it (by trade_id, else
    order_id), so per-strategy figures survive taking the broker as the source of truth."""
    if journal is None or not broker:
        return broker
    by_trade: dict[str, str] = {}
    by_order: dict[str, str] = {}
    for f in journal.to_fills():
        if f.trade_id:
            by_trade.setdefault(f.trade_id, f.strategy)
        if f.order_id:
            by_order.setdefault(f.order_id, f.strategy)
    out = []
    for f in broker:
        strategy = by_trade.get(f.trade_id) or by_order.get(f.order_id)
        out.append(replace(f, strategy=strategy) if strategy else f)
    return out
