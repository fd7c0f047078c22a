"""The equity curve: cumulative realized PnL through the day, thinned for charts."""
from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from reports.journal.scaled import sorted_unique
from reports.pnl.isotimes import iso_times_many
from reports.pnl.kernels import stable_order
from reports.pnl.money import Money

if TYPE_CHECKING:
    import numpy as np


def equity_curve(
    money: Money, time_ns: np.ndarray, delta: np.ndarray, strat: np.ndarray, names: list[str],
    tz: tzinfo, max_points: int,
) -> dict[str, Any]:
    """Cumulative realized PnL after each fill, per strategy and in total (thinned for charts).

    Thinning keeps each bucket's lowest and highest point, so peaks and drawdowns stay
    visible however many fills the day had.
    """
    import numpy as np

    def points(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cum = np.cumsum(delta[rows])
        keep = _thin(cum, max_points)
        return time_ns[rows[keep]], cum[keep]

    every = [points(np.arange(len(delta)))] if len(delta) else []
    order = stable_order(strat)
    keys = strat[order]
    bounds = np.searchsorted(keys, np.arange(len(names) + 1), "left").tolist() if len(keys) else []
    codes = sorted_unique(strat).tolist()
    every += [points(order[bounds[code]:bounds[code + 1]]) for code in codes]
    # All series' times in one pass (one numpy pass per series was most of a small day's curve).
    times = iso_times_many([t for t, _ in every], tz)
    # and their values: each rounded alone either way, so one call gives what one per series would
    values = money.many(np.concatenate([cum for _, cum in every])) if every else []
    series, at = [], 0
    for ts in times:
        series.append(list(map(list, zip(ts, values[at:at + len(ts)], strict=True))))
        at += len(ts)
    total = series.pop(0) if len(delta) else []
    strategies = {names[code]: s for code, s in zip(codes, series, strict=True)}
    return {"total": total, "strategies": dict(sorted(strategies.items()))}


def _thin(values: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most ~max_points points: each bucket's lowest and highest, plus the ends."""
    import numpy as np

    n = len(values)
    if n <= max_points:
        return np.arange(n)
    size = -(-n // max(1, max_points // 2 - 1))
    buckets = -(-n // size)
    as_float = values.astype(np.float64)
    padded = np.concatenate([as_float, np.full(buckets * size - n, as_float[-1])]).reshape(buckets, size)
    base = np.arange(buckets) * size
    lows = np.minimum(base + padded.argmin(axis=1), n - 1)
    highs = np.minimum(base + padded.argmax(axis=1), n - 1)
    return sorted_unique(np.concatenate([[0, n - 1], lows, highs]))
