"""Open positions at the end of the day: opening units left after the last closing unit.

Vectorised over every group at once: a lot is an opening leg whose units rank after the
group's closed units, so what is left of it is a difference of ranks; no loop per position.
"""
from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

from reports.pnl.fifo import Fifo, Legs
from reports.pnl.inputs import Groups, Scales
from reports.pnl.kernels import div_half_even, stable_order
from reports.pnl.lots import LotBook, trimmed

if TYPE_CHECKING:
    import numpy as np


def open_positions(legs: Legs, fifo: Fifo, groups: Groups, scales: Scales, tz: tzinfo) -> LotBook:
    """Opening legs with units left after their group's last closing unit, as a book of FIFO lots."""
    import numpy as np

    e_abs, opening, e_fee = legs.e_abs, legs.opening, legs.e_fee
    if len(e_abs) == 0:
        return LotBook.empty().with_display(tz=tz, price_places=scales.price_places)
    # Per group: units closed in total. Opening units rank in FIFO order within the group, so
    # the first `closed` of them are gone and each opening leg keeps what ranks after them.
    group_ids = np.flatnonzero(fifo.e_start)
    group_end = np.r_[group_ids[1:] - 1, len(e_abs) - 1]
    closed = fifo.cum_close_all[group_end] - fifo.close_before_group[group_ids]
    leg_group = np.cumsum(fifo.e_start) - 1
    end_rank = fifo.cum_open_all - fifo.open_before_group  # opening legs: units opened up to this one
    start_rank = end_rank - e_abs
    closed_here = closed[leg_group]
    left = end_rank - np.maximum(start_rank, closed_here)
    rows = np.flatnonzero(opening & (left > 0))
    if len(rows) == 0:
        return LotBook.empty().with_display(tz=tz, price_places=scales.price_places)
    left = left[rows]
    whole = e_abs[rows]
    fee = e_fee[rows]
    partial = left != whole
    fee_left = fee.copy()
    if partial.any():
        fee_left[partial] = div_half_even(fee[partial] * left[partial], whole[partial])
    # Positions: runs of rows of one group (rows are in group order, FIFO within a group).
    row_group = leg_group[rows]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = row_group[1:] != row_group[:-1]
    starts = np.flatnonzero(first)
    counts = np.diff(np.r_[starts, len(rows)])
    g = legs.e_group[rows[starts]]
    strat_code, sym_code = groups.group_strategy[g], groups.group_symbol[g]
    last_row = rows[starts + counts - 1]
    is_long = legs.e_sq[last_row] > 0
    # Positions sorted by (strategy, symbol) names, through the names' ranks (a position is one
    # (strategy, symbol) pair, so there are no ties); their lots move with them.
    perm = stable_order(_ranks(groups.strat_names)[strat_code] * max(len(groups.sym_names), 1)
                        + _ranks(groups.sym_names)[sym_code])
    if (perm != np.arange(len(perm))).any():
        new_counts = counts[perm]
        new_starts = np.cumsum(new_counts) - new_counts
        lot_order = np.arange(len(rows)) + np.repeat(starts[perm] - new_starts, new_counts)
        strat_code, sym_code = strat_code[perm], sym_code[perm]
        is_long, counts = is_long[perm], counts[perm]
        rows, left, fee_left = rows[lot_order], left[lot_order], fee_left[lot_order]
    strategy = np.asarray(groups.strat_names, dtype=object)[strat_code].tolist()
    symbol = np.asarray(groups.sym_names, dtype=object)[sym_code].tolist()
    qty, qd = trimmed(left, scales.qd)
    price, pd_ = trimmed(legs.e_price[rows], scales.pd)
    fee_out, fd = trimmed(fee_left, scales.scale)
    return LotBook(
        strategy=tuple(strategy), symbol=tuple(symbol), is_long=np.asarray(is_long, dtype=bool),
        counts=counts.astype(np.int64), qty=qty, price=price, fee=fee_out,
        time_ns=legs.e_time[rows] // 1000 * 1000,  # the report keeps entry times to the microsecond
        qd=qd, pd=pd_, fd=fd, tz=tz, price_places=scales.price_places,
    )


def _ranks(names: list[str]) -> np.ndarray:
    """Each name's place in the sorted names."""
    import numpy as np

    ranks = np.empty(len(names), dtype=np.int64)
    ranks[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    return ranks
