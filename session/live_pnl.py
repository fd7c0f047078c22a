"""The day's PnL so far, from the fills journal as it is: one reader for ``tradeday status`` and
for the loss limit of a running session (reports/journal/incremental.py does the reading).

It is opened the way the end of day opens the report: the report currency's minor unit
(``reports.currency``, else the market's), and the positions carried from the previous daily
report when ``reports.carry`` is on, so the figures are the ones the daily report will show.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports.journal.incremental import IncrementalJournal, OpeningLot
    from session.config import TradedayConfig

_log = logging.getLogger("tradeday.pnl")


@dataclass(frozen=True)
class LiveJournal:
    reader: IncrementalJournal
    currency: str | None  # None: unknown for this market (reports.currency not set)
    carried_from: date | None  # the report whose open positions opened the day
    note: str | None  # why positions were not carried (a damaged previous report)


def report_currency(config: TradedayConfig) -> str | None:
    """``reports.currency``, else the market's (session/eod/market.py's rule, by calendar name)."""
    from reports.pnl.currency import MARKET_CURRENCY

    if config.reports.currency:
        return config.reports.currency.strip().upper()
    return MARKET_CURRENCY.get(str(config.market.calendar).upper())


def open_live_journal(config: TradedayConfig, day: date) -> LiveJournal:
    """A reader of ``day``'s journal, opened with the previous report's open positions."""
    from reports.journal.incremental import IncrementalJournal
    from reports.pnl.currency import minor_unit

    currency = report_currency(config)
    opening, carried_from, note = _carried_lots(config, day)
    path = config.journal_path(day)
    reader = IncrementalJournal(path, money_places=minor_unit(currency or "USD"), opening=opening,
                                display_name=str(path))
    return LiveJournal(reader=reader, currency=currency, carried_from=carried_from, note=note)


def _carried_lots(config: TradedayConfig, day: date) -> tuple[list[OpeningLot], date | None, str | None]:
    if not config.reports.carry:
        return [], None, None
    if _previous_report(config, day) is None:
        return [], None, None
    # Only now the end of day's readers (session.eod costs ~0.2 s of imports: status starts fast).
    from core.errors import EodError
    from reports.journal.incremental import OpeningLot
    from reports.pnl import opening_positions_from_report
    from session.eod.store import find_previous_report, read_json_report

    found = find_previous_report(config, day)  # the end of day's own rule decides which report
    if found is None:
        return [], None, None
    prev_day, path = found
    try:
        positions = opening_positions_from_report(read_json_report(path), carry=True, source=str(path))
    except EodError as exc:
        _log.warning("positions of %s not carried into the PnL so far: %s", prev_day, exc)
        return [], None, f"positions of {prev_day} not carried: {exc}"
    lots = [OpeningLot(p.strategy, p.symbol, p.side == "LONG", lot.quantity, lot.price)
            for p in positions for lot in p.lots]
    return lots, prev_day, None


def _previous_report(config: TradedayConfig, day: date, lookback_days: int = 10) -> Path | None:
    """Is there a daily report in the ``lookback_days`` before ``day`` (session/eod/store.py's
    CARRY_LOOKBACK_DAYS, checked there again)? A cheap look before importing the end of day."""
    from datetime import timedelta

    folder = config.reports_dir / "daily"
    for back in range(1, lookback_days + 1):
        path = folder / f"{(day - timedelta(days=back)).isoformat()}.json"
        if path.is_file():
            return path
    return None
