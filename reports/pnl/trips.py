"""Round trips: a cycle starts where a position is flat and ends where it is flat again."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reports.pnl.fifo import Fifo, Legs

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class RoundTrips:
    """The day's complete round trips, in the order they closed (one entry per trade)."""

    cycle_start: np.ndarray  # per leg: the position is flat before it
    pnl: np.ndarray  # net of today's and carried fees, 10**-S
    fees: np.ndarray  # today's and carried, 10**-S
    fees_carried: np.ndarray
    group: np.ndarray
    is_long: np.ndarray
    entry_ns: np.ndarray
    exit_ns: np.ndarray
    open_qty: np.ndarray  # units opened (= closed), 10**-qd
    open_cost: np.ndarray  # 10**-(qd+pd)
    close_qty: np.ndarray
    close_value: np.ndarray  # 10**-(qd+pd)
    fills: np.ndarray  # the day's fills in the trade (a flipping fill counts in both trades it touches)

    def __len__(self) -> int:
        return int(self.pnl.shape[0])


def round_trips(legs: Legs, fifo: Fifo) -> RoundTrips:
    import numpy as np

    legs_count = len(legs.src)
    opening, e_carry, e_fee, e_notional = legs.opening, legs.e_carry, legs.e_fee, legs.e_notional
    cycle_start = legs.e_pb == 0
    starts = np.flatnonzero(cycle_start)
    ends = np.r_[starts[1:] - 1, legs_count - 1] if len(starts) else starts
    complete = legs.e_pa[ends] == 0 if len(starts) else np.zeros(0, dtype=bool)
    fill_in_trade = ~e_carry  # a flipping fill counts in both trades it touches

    def per_cycle(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, starts) if len(starts) else values[:0]

    c_gross = per_cycle(fifo.gross)
    c_fee_today = per_cycle(np.where(e_carry, 0, e_fee))
    c_fee_carried = per_cycle(np.where(e_carry, e_fee, 0))
    c_open_qty = per_cycle(fifo.open_qty)
    c_open_cost = per_cycle(np.where(opening, e_notional, 0))
    c_close_qty = per_cycle(fifo.close_qty)
    c_close_value = per_cycle(np.where(opening, 0, e_notional))
    c_fills = per_cycle(fill_in_trade.astype(np.int64))

    t_idx = np.flatnonzero(complete)
    # Trades in the order they closed (a fill closes at most one trade, so no ties).
    t_idx = t_idx[np.argsort(legs.order[legs.src[ends[t_idx]]], kind="stable")]
    t_start = starts[t_idx]
    t_end = ends[t_idx]
    return RoundTrips(
        cycle_start=cycle_start,
        pnl=c_gross[t_idx] - c_fee_today[t_idx] - c_fee_carried[t_idx],
        fees=c_fee_today[t_idx] + c_fee_carried[t_idx],
        fees_carried=c_fee_carried[t_idx],
        group=legs.e_group[t_start],
        is_long=legs.e_sq[t_start] > 0,
        entry_ns=legs.e_time[t_start],
        exit_ns=legs.e_time[t_end],
        open_qty=c_open_qty[t_idx], open_cost=c_open_cost[t_idx],
        close_qty=c_close_qty[t_idx], close_value=c_close_value[t_idx],
        fills=c_fills[t_idx],
    )
