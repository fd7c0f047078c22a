"""What :func:`~reports.pnl.compute_day` returns: the day's figures, JSON-ready, and exact."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from reports.journal import scaled_to_decimal
from reports.pnl.carry import OpenPosition
from reports.pnl.lots import LotBook
from reports.pnl.trade_list import TradeList

if TYPE_CHECKING:
    import numpy as np

# Above these counts the exact per-trade / per-fill lists are left out.
EXACT_LIST_LIMIT = 100_000


class ExactTotals:
    """The day's figures before rounding, for callers that need them exact.

    ``trade_pnls`` (in the order of ``trades``; empty above 100,000 trades) and
    ``fill_realized`` (gross realized per fill, time order; None above 100,000 fills) are
    made into Decimals only when first read: most callers never look at them.
    """

    def __init__(self, *, realized_pnl: Decimal, gross_pnl: Decimal, fees: Decimal, turnover: Decimal,
                 trade_pnl_scaled: np.ndarray, fill_gross_scaled: np.ndarray, scale: int) -> None:
        self.realized_pnl = realized_pnl
        self.gross_pnl = gross_pnl
        self.fees = fees
        self.turnover = turnover
        self._trade_pnl = trade_pnl_scaled
        self._fill_gross = fill_gross_scaled
        self._scale = scale

    @cached_property
    def trade_pnls(self) -> list[Decimal]:
        if len(self._trade_pnl) > EXACT_LIST_LIMIT:
            return []
        return [scaled_to_decimal(int(v), self._scale) for v in self._trade_pnl.tolist()]

    @cached_property
    def fill_realized(self) -> list[Decimal] | None:
        if len(self._fill_gross) > EXACT_LIST_LIMIT:
            return None
        return [scaled_to_decimal(int(v), self._scale) for v in self._fill_gross.tolist()]


@dataclass
class DayResult:
    """Everything :func:`compute_day` found, JSON-ready except the open positions.

    ``open_book`` holds the positions still open, column by column (hand it to the next
    day's ``compute_day(opening_positions=...)``); ``open_positions`` gives them as
    :class:`OpenPosition` objects.
    """

    currency: str
    summary: dict[str, Any]
    strategies: list[dict[str, Any]]
    symbols: list[dict[str, Any]]
    trades: list[dict[str, Any]] | TradeList
    open_book: LotBook
    flags: list[dict[str, Any]]
    equity_curve: dict[str, Any]
    exact: ExactTotals
    warnings: list[str] = field(default_factory=list)
    price_places: int = 4

    @cached_property
    def open_positions(self) -> list[OpenPosition]:
        return self.open_book.positions()

    def open_positions_json(self) -> list[dict[str, Any]]:
        return self.open_book.to_json()
