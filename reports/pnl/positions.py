"""Open positions at the end of the day: opening units left after the last closing unit."""
from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

from reports.journal import scaled_to_decimal, time_from_ns
from reports.pnl.carry import CarriedLot, OpenPosition
from reports.pnl.fifo import Fifo, Legs
from reports.pnl.inputs import Groups, Scales
from reports.pnl.kernels import div_half_even

if TYPE_CHECKING:
    import numpy as np


def open_positions(legs: Legs, fifo: Fifo, cycle_start: np.ndarray, groups: Groups, scales: Scales,
                   tz: tzinfo) -> list[OpenPosition]:
    """Opening legs with units left after the group's last closing unit, as FIFO lots."""
    import numpy as np

    e_abs, opening, e_fee = legs.e_abs, legs.opening, legs.e_fee
    cum_open_all, open_before_group = fifo.cum_open_all, fifo.open_before_group
    if len(e_abs) == 0:
        return []
    # Per group: units opened and closed in total; what is left is the open position.
    group_ids = np.flatnonzero(fifo.e_start)
    group_end = np.r_[group_ids[1:] - 1, len(e_abs) - 1]
    opened = cum_open_all[group_end] - open_before_group[group_ids]
    closed = fifo.cum_close_all[group_end] - fifo.close_before_group[group_ids]
    still_open = np.flatnonzero(opened != closed)
    positions = []
    for gi in still_open.tolist():
        lo, hi = int(group_ids[gi]), int(group_end[gi]) + 1
        # Only the last cycle (from the last flat point) can hold open lots.
        flat_points = np.flatnonzero(cycle_start[lo:hi])
        lo += int(flat_points[-1]) if len(flat_points) else 0
        rows = np.flatnonzero(opening[lo:hi]) + lo
        # Opening units in rank order; the group's first `closed` units are gone.
        end_rank = cum_open_all[rows] - open_before_group[int(group_ids[gi])]
        start_rank = end_rank - e_abs[rows]
        left = end_rank - np.maximum(start_rank, closed[gi])
        live = left > 0
        rows, left = rows[live], left[live]
        whole = e_abs[rows]
        fee_left = np.where(left == whole, e_fee[rows], div_half_even(e_fee[rows] * left, whole))
        times = [time_from_ns(t, tz) for t in legs.e_time[rows].tolist()]
        lots = tuple(
            CarriedLot(quantity=scaled_to_decimal(q, scales.qd), price=scaled_to_decimal(p, scales.pd),
                       entry_time=t, fees=scaled_to_decimal(f, scales.scale))
            for q, p, t, f in zip(left.tolist(), legs.e_price[rows].tolist(), times, fee_left.tolist(),
                              strict=True)
        )
        g = int(legs.e_group[lo])
        positions.append(OpenPosition(
            strategy=groups.strat_names[int(groups.group_strategy[g])],
            symbol=groups.sym_names[int(groups.group_symbol[g])],
            side="LONG" if legs.e_sq[rows[-1]] > 0 else "SHORT", lots=lots,
        ))
    positions.sort(key=lambda p: (p.strategy, p.symbol))
    return positions
