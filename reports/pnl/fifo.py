"""FIFO matching, vectorised: the cost of every closing unit from the cost curve of opening units.

Within a (strategy, symbol) every "closing" unit is matched with the opening unit of
the same rank (positions start and end flat within each cycle, so FIFO order is rank
order), so a closing fill's cost is a difference of the cumulative cost curve of
opening units, found with ``searchsorted``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reports.pnl.inputs import Groups, Rows, Scales
from reports.pnl.kernels import cost_at, div_half_even, segment_starts, segmented_cumsum, stable_order

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Legs:
    """Rows sorted by group (time order within one), a flipping fill split in two legs.

    ``order`` sorts the rows; ``src`` is the sorted row of each leg and ``reps`` the
    number of legs of each sorted row (2 for a flip). The ``e_`` arrays are per leg.
    """

    order: np.ndarray
    src: np.ndarray
    reps: np.ndarray
    e_sq: np.ndarray  # signed quantity
    e_pb: np.ndarray  # position before
    e_pa: np.ndarray  # position after
    e_fee: np.ndarray
    e_price: np.ndarray
    e_group: np.ndarray
    e_carry: np.ndarray
    e_time: np.ndarray
    e_abs: np.ndarray
    opening: np.ndarray  # the leg opens (or adds to) a position
    e_notional: np.ndarray  # 10**-(qd+pd)


@dataclass(frozen=True)
class Fifo:
    """Opening and closing units per leg, their running totals, and the gross PnL per leg."""

    open_qty: np.ndarray
    close_qty: np.ndarray
    cum_open_all: np.ndarray
    cum_close_all: np.ndarray
    e_start: np.ndarray  # the leg starts its group
    open_before_group: np.ndarray
    close_before_group: np.ndarray
    gross: np.ndarray  # realized gross PnL per leg, 10**-S


def split_legs(rows: Rows, groups: Groups) -> Legs:
    """Sort by group and split each fill that takes a position through zero."""
    import numpy as np

    signed = np.where(rows.is_buy, rows.qty, -rows.qty)
    m = rows.n_carry + rows.n
    order = stable_order(groups.group)
    g_s = groups.group[order]
    sq = signed[order]
    price_s = rows.price[order]
    fee_s = rows.fee[order]
    carry_s = rows.is_carry[order]
    time_s = rows.time_ns[order]

    group_start = segment_starts(g_s)
    pos_after = segmented_cumsum(sq, group_start)
    pos_before = pos_after - sq

    # A fill that takes a position through zero is two rows: the closing part and the
    # opening part, with its quantity and fees split pro rata (half-even to 10**-S; the
    # two parts always add up to the fill).
    flip = ((pos_before > 0) & (pos_after < 0)) | ((pos_before < 0) & (pos_after > 0))
    reps = 1 + flip.astype(np.int64)
    src = np.repeat(np.arange(m), reps)
    second = np.zeros(len(src), dtype=bool)
    second[np.cumsum(reps)[flip] - 1] = True
    first_of_flip = np.zeros(len(src), dtype=bool)
    first_of_flip[(np.cumsum(reps) - reps)[flip]] = True

    e_sq = sq[src].copy()
    e_pb = pos_before[src].copy()
    e_sq[first_of_flip] = -pos_before[flip]
    e_sq[second] = pos_after[flip]
    e_pb[second] = 0
    e_pa = e_pb + e_sq
    e_fee = fee_s[src].copy()
    if flip.any():
        total = np.abs(sq[flip])
        closing_share = div_half_even(fee_s[flip] * np.abs(pos_before[flip]), total)
        e_fee[first_of_flip] = closing_share
        e_fee[second] = fee_s[flip] - closing_share
    e_price = price_s[src]
    e_abs = np.abs(e_sq)
    opening = (e_pb == 0) | ((e_sq > 0) == (e_pb > 0))
    return Legs(
        order=order, src=src, reps=reps, e_sq=e_sq, e_pb=e_pb, e_pa=e_pa, e_fee=e_fee, e_price=e_price,
        e_group=g_s[src], e_carry=carry_s[src], e_time=time_s[src], e_abs=e_abs, opening=opening,
        e_notional=e_abs * e_price,
    )


def match_fifo(legs: Legs, scales: Scales) -> Fifo:
    """Gross PnL of every closing leg against the opening units it closes, FIFO by rank."""
    import numpy as np

    opening, e_abs, e_notional = legs.opening, legs.e_abs, legs.e_notional
    legs_count = len(legs.src)
    # FIFO by rank: the cumulative cost curve of opening units, per group laid end to end.
    open_qty = np.where(opening, e_abs, 0)
    close_qty = np.where(opening, 0, e_abs)
    cum_open_all = np.cumsum(open_qty)
    cum_close_all = np.cumsum(close_qty)
    e_start = segment_starts(legs.e_group)
    start_of_row = np.maximum.accumulate(np.where(e_start, np.arange(legs_count), 0))
    open_before_group = cum_open_all[start_of_row] - open_qty[start_of_row]
    close_before_group = cum_close_all[start_of_row] - close_qty[start_of_row]
    closed_before_row = cum_close_all - close_qty - close_before_group

    A = cum_open_all[opening]
    V = np.cumsum(e_notional[opening])
    open_price = legs.e_price[opening]
    gross_nat = np.zeros(legs_count, dtype=e_notional.dtype)
    closing = ~opening
    if closing.any():
        x0 = open_before_group[closing] + closed_before_row[closing]
        x1 = x0 + e_abs[closing]
        matched = cost_at(A, V, open_price, x1) - cost_at(A, V, open_price, x0)
        proceeds = e_notional[closing]
        gross_nat[closing] = np.where(legs.e_pb[closing] > 0, proceeds - matched, matched - proceeds)
    gross = gross_nat * (10 ** (scales.scale - scales.notional_places))  # 10**-S
    return Fifo(
        open_qty=open_qty, close_qty=close_qty, cum_open_all=cum_open_all, cum_close_all=cum_close_all,
        e_start=e_start, open_before_group=open_before_group, close_before_group=close_before_group,
        gross=gross,
    )
