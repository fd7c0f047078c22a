"""What :func:`~reports.pnl.compute_day` returns: the day's figures, JSON-ready, and exact."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reports.pnl.carry import OpenPosition


@dataclass
class ExactTotals:
    """The day's figures before rounding, for callers that need them exact."""

    realized_pnl: Decimal
    gross_pnl: Decimal
    fees: Decimal
    turnover: Decimal
    trade_pnls: list[Decimal]  # in the order of ``trades``; left empty above 100,000 trades
    fill_realized: list[Decimal] | None = None  # gross realized per fill, time order; None above 100,000 fills


@dataclass
class DayResult:
    """Everything :func:`compute_day` found, JSON-ready except ``open_positions``."""

    currency: str
    summary: dict[str, Any]
    strategies: list[dict[str, Any]]
    symbols: list[dict[str, Any]]
    trades: list[dict[str, Any]]
    open_positions: list[OpenPosition]
    flags: list[dict[str, Any]]
    equity_curve: dict[str, Any]
    exact: ExactTotals
    warnings: list[str] = field(default_factory=list)
    price_places: int = 4

    def open_positions_json(self) -> list[dict[str, Any]]:
        return [p.to_dict(price_places=self.price_places) for p in self.open_positions]
