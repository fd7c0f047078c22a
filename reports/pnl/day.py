"""The day: :func:`compute_day` runs the phases and assembles the :class:`DayResult`.

Phases, each returning a small frozen dataclass of arrays: carried lots and fills as
exact arrays at one scale (:mod:`.inputs`) -> legs sorted by group, flips split, and FIFO
matching (:mod:`.fifo`) -> round trips (:mod:`.trips`) -> per-fill figures, open
positions, and the figures per strategy, per symbol and for the day (below).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from core.errors import EodError
from reports.journal import Fill, FillTable, scaled_to_decimal
from reports.pnl.carry import OpenPosition
from reports.pnl.currency import currency_for_market, minor_unit
from reports.pnl.curve import equity_curve
from reports.pnl.fifo import Fifo, Legs, match_fifo, split_legs
from reports.pnl.figures import FillFigures, Grouping, TradeInfo, empty_figures, figures_by_each, trade_rows
from reports.pnl.flags import session_flags
from reports.pnl.inputs import Groups, Rows, Scales, group_codes, normalise
from reports.pnl.isotimes import IsoColumn, has_microseconds, iso_times
from reports.pnl.kernels import div_half_even, rescale, total, without_gc
from reports.pnl.lots import LotBook
from reports.pnl.money import Money
from reports.pnl.positions import open_positions
from reports.pnl.results import DayResult, ExactTotals
from reports.pnl.trade_list import LAZY_TRADES, TradeList
from reports.pnl.trips import RoundTrips, round_trips

if TYPE_CHECKING:
    import numpy as np

@without_gc
def compute_day(
    fills: FillTable | Sequence[Fill],
    *,
    currency: str | None = None,
    market: str | None = None,
    opening_positions: Sequence[OpenPosition] | LotBook = (),
    session_open: datetime | None = None,
    session_close: datetime | None = None,
    tz: tzinfo | None = None,
    curve_points: int = 1000,
) -> DayResult:
    """Round trips, PnL, open positions, flags and the equity curve of one day.

    ``fills`` in time order (a FillTable from read_journal is). ``currency`` wins over
    ``market``; one of them is needed. ``opening_positions`` come from the previous
    report (:func:`opening_positions_from_report`), or are the previous day's
    ``DayResult.open_book``. Fills before ``session_open`` or
    after ``session_close`` are flagged. Times print in ``tz`` (default: the journal's
    own UTC offset).
    """
    table = fills if isinstance(fills, FillTable) else FillTable.from_fills(list(fills))
    currency = _report_currency(currency, market)
    money_places = minor_unit(currency)
    tz = tz or table.tz
    book = opening_positions if isinstance(opening_positions, LotBook) else LotBook.from_positions(
        list(opening_positions))
    rows = normalise(table, book, money_places)
    groups = group_codes(table, rows)
    legs = split_legs(rows, groups)
    fifo = match_fifo(legs, rows.scales)
    trips = round_trips(legs, fifo)
    day = _day_fills(rows, groups, legs, fifo)
    # Open positions: opening rows with units left after the group's last closing unit.
    positions = open_positions(legs, fifo, groups, rows.scales, tz)

    money = Money(rows.scales.scale, money_places)
    figures = _figures(money, trips, day, groups, rows.scales, tz)
    flags = session_flags(table, session_open, session_close, tz)
    curve = equity_curve(money, table.time_ns, day.figures.delta, day.strategy, groups.strat_names, tz,
                         curve_points)
    summary = figures.summary
    summary["open_positions"] = len(positions)
    summary["fills_outside_session"] = sum(f.get("count", 1) for f in flags if f["kind"] == "outside_session")
    return DayResult(
        currency=currency, summary=summary, strategies=figures.strategies, symbols=figures.symbols,
        trades=figures.trades, open_book=positions, flags=flags, equity_curve=curve,
        exact=_exact_totals(day, trips, rows.scales), price_places=rows.scales.price_places,
    )


def _report_currency(currency: str | None, market: str | None) -> str:
    """``currency`` (upper case), else the market's; EodError when neither is known."""
    if currency is None:
        if market is None:
            raise EodError("the report currency is unknown", hint="give the market (e.g. XNSE) or the currency")
        currency = currency_for_market(market)
    return currency.upper()


@dataclass(frozen=True)
class _DayFills:
    """The day's fills (carried lots left out), in journal order."""

    figures: FillFigures
    strategy: np.ndarray  # strategy code per fill
    symbol: np.ndarray  # symbol code per fill

    def __len__(self) -> int:
        return int(self.strategy.shape[0])


def _day_fills(rows: Rows, groups: Groups, legs: Legs, fifo: Fifo) -> _DayFills:
    """Gross realized per fill (both parts of a flip) back in journal order, with its fees and notional."""
    import numpy as np

    m = rows.n_carry + rows.n
    n_carry = rows.n_carry
    gross = fifo.gross
    first_copy = np.cumsum(legs.reps) - legs.reps
    fill_gross_sorted = np.add.reduceat(gross, first_copy) if m else gross[:0]
    fill_gross = np.empty(m, dtype=gross.dtype)
    fill_gross[legs.order] = fill_gross_sorted
    day_fill_gross = fill_gross[n_carry:]
    day_fee = rows.fee[n_carry:]
    figures = FillFigures(
        gross=day_fill_gross, fee=day_fee,
        delta=day_fill_gross - day_fee,  # the realized-PnL curve moves by this at each fill
        notional=rows.qty[n_carry:] * rows.price[n_carry:],  # 10**-(qd+pd)
        notional_places=rows.scales.notional_places,
    )
    return _DayFills(figures=figures, strategy=groups.strat_codes[n_carry:], symbol=groups.sym_codes[n_carry:])


@dataclass(frozen=True)
class _Figures:
    """The JSON-ready figures: the day's summary, per strategy and symbol, and the trades."""

    summary: dict[str, Any]
    strategies: list[dict[str, Any]]
    symbols: list[dict[str, Any]]
    trades: list[dict[str, Any]] | TradeList


def _figures(money: Money, trips: RoundTrips, day: _DayFills, groups: Groups, scales: Scales,
             tz: tzinfo) -> _Figures:
    import numpy as np

    n_trades = len(trips)
    t_strat = groups.group_strategy[trips.group]
    t_sym = groups.group_symbol[trips.group]
    if n_trades > LAZY_TRADES:  # the trades' times as text only a slice at a time (TradeList)
        with_us = has_microseconds(trips.entry_ns) or has_microseconds(trips.exit_ns)
        entry_iso: Sequence[str] = IsoColumn(trips.entry_ns, tz, with_us=with_us)  # type: ignore[assignment]
        exit_iso: Sequence[str] = IsoColumn(trips.exit_ns, tz, with_us=with_us)  # type: ignore[assignment]
    else:
        trade_times = iso_times(np.concatenate([trips.entry_ns, trips.exit_ns]), tz) if n_trades else []
        entry_iso, exit_iso = trade_times[:n_trades], trade_times[n_trades:]
    trade_info = TradeInfo(pnl=trips.pnl, strategy=t_strat, symbol=t_sym, entry_iso=entry_iso,
                           exit_iso=exit_iso, strat_names=groups.strat_names, sym_names=groups.sym_names)
    day_rows, strategies, symbols = figures_by_each(money, trade_info, [
        Grouping(np.zeros(n_trades, dtype=np.int64), np.zeros(len(day), dtype=np.int64), ["day"]),
        Grouping(t_strat, day.strategy, groups.strat_names),
        Grouping(t_sym, day.symbol, groups.sym_names),
    ], day.figures)
    summary = day_rows[0] if day_rows else empty_figures(money)
    summary.pop("name", None)
    trades = _trades(money, trade_info, trips, scales)
    return _Figures(summary=summary, strategies=strategies, symbols=symbols, trades=trades)


def _trades(money: Money, trade_info: TradeInfo, trips: RoundTrips,
            scales: Scales) -> list[dict[str, Any]] | TradeList:
    """One row per round trip, with its average entry and exit prices."""
    extra = scales.price_places - scales.pd  # cost / quantity is in 10**-pd units
    none = trips.open_cost[:0]
    avg_entry = _average(rescale(trips.open_cost, extra), trips.open_qty) if len(trips) else none
    avg_exit = _average(rescale(trips.close_value, extra), trips.close_qty) if len(trips) else none

    def rows(lo: int, hi: int) -> list[dict[str, Any]]:
        info = trade_info if (lo, hi) == (0, len(trips)) else replace(
            trade_info, pnl=trade_info.pnl[lo:hi], strategy=trade_info.strategy[lo:hi],
            symbol=trade_info.symbol[lo:hi], entry_iso=trade_info.entry_iso[lo:hi],
            exit_iso=trade_info.exit_iso[lo:hi])
        return trade_rows(
            money, info, t_long=trips.is_long[lo:hi], t_qty=trips.open_qty[lo:hi], qd=scales.qd,
            avg_entry=avg_entry[lo:hi], avg_exit=avg_exit[lo:hi], price_places=scales.price_places,
            fees=trips.fees[lo:hi], fees_carried=trips.fees_carried[lo:hi], fills=trips.fills[lo:hi],
        )

    if len(trips) > LAZY_TRADES:  # dicts on demand: the report writes them a piece at a time
        return TradeList(len(trips), rows)
    return rows(0, len(trips))


def _average(value: np.ndarray, quantity: np.ndarray) -> np.ndarray:
    """``value / quantity`` half-even; both as Python ints when either had to leave int64."""
    if value.dtype == object or quantity.dtype == object:
        value, quantity = value.astype(object), quantity.astype(object)
    return div_half_even(value, quantity)


def _exact_totals(day: _DayFills, trips: RoundTrips, scales: Scales) -> ExactTotals:
    scale = scales.scale
    gross_total = total(day.figures.gross)
    fees_total = total(day.figures.fee)
    return ExactTotals(
        realized_pnl=scaled_to_decimal(gross_total - fees_total, scale),
        gross_pnl=scaled_to_decimal(gross_total, scale),
        fees=scaled_to_decimal(fees_total, scale),
        turnover=scaled_to_decimal(total(day.figures.notional), scales.notional_places),
        trade_pnl_scaled=trips.pnl, fill_gross_scaled=day.figures.gross, scale=scale,
    )
