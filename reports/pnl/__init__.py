"""The trading day in numbers: round trips, PnL, open positions, reconciliation.

Pure functions over a :class:`~reports.journal.FillTable` (or a list of
:class:`~reports.journal.Fill`); nothing here reads or writes files.

Exactness: quantities, prices and fees stay integers scaled by a power of ten (see
reports.journal) through every step -- FIFO matching, the pro-rata fee split of a fill
that flips a position through zero, every sum. Money leaves this package as a float
only in the JSON-ready dicts, rounded half-to-even to the currency's minor unit (paisa,
cent); the exact values are on :class:`DayResult.exact`. Rounding happens once, on the
final figure, so a total can differ by one minor unit from the sum of its rounded parts.

Speed: the FIFO is vectorised. Within a (strategy, symbol) every "closing" unit is
matched with the opening unit of the same rank (positions start and end flat within
each cycle, so FIFO order is rank order), so a closing fill's cost is a difference of
the cumulative cost curve of opening units, found with ``searchsorted``. A million fills
take well under a second; numpy is imported lazily.

Modules: :mod:`.currency` (market -> currency, minor units), :mod:`.carry` (open
positions and their lots, read back from the previous report), :mod:`.lots` (the same
lots column by column: the carry state one day hands the next), :mod:`.results` (what
compute_day returns), :mod:`.day` (compute_day and its phases: :mod:`.inputs`,
:mod:`.fifo`, :mod:`.trips`, :mod:`.positions`, :mod:`.figures`, :mod:`.curve`,
:mod:`.flags`, :mod:`.isotimes`), :mod:`.kernels` and :mod:`.money` (exact integer array pieces),
:mod:`.reconcile` (the journal against the broker).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

# Loaded on first use (core/lazy.py): `tradeday status` needs only .currency, not the FIFO.
_EXPORTS = {
    "CarriedLot": "reports.pnl.carry",
    "OpenPosition": "reports.pnl.carry",
    "opening_positions_from_report": "reports.pnl.carry",
    "MARKET_CURRENCY": "reports.pnl.currency",
    "currency_for_market": "reports.pnl.currency",
    "minor_unit": "reports.pnl.currency",
    "compute_day": "reports.pnl.day",
    "LotBook": "reports.pnl.lots",
    "Mismatch": "reports.pnl.reconcile",
    "Reconciliation": "reports.pnl.reconcile",
    "reconcile": "reports.pnl.reconcile",
    "DayResult": "reports.pnl.results",
    "ExactTotals": "reports.pnl.results",
}
lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reports.pnl.carry import CarriedLot, OpenPosition, opening_positions_from_report
    from reports.pnl.currency import MARKET_CURRENCY, currency_for_market, minor_unit
    from reports.pnl.day import compute_day
    from reports.pnl.lots import LotBook
    from reports.pnl.reconcile import Mismatch, Reconciliation, reconcile
    from reports.pnl.results import DayResult, ExactTotals

__all__ = [
    "MARKET_CURRENCY",
    "CarriedLot",
    "DayResult",
    "ExactTotals",
    "LotBook",
    "Mismatch",
    "OpenPosition",
    "Reconciliation",
    "compute_day",
    "currency_for_market",
    "minor_unit",
    "opening_positions_from_report",
    "reconcile",
]
