"""The equity curve: cumulative realized PnL through the day, thinned for charts."""
from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from reports.pnl.isotimes import iso_times
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

    def series(rows: np.ndarray) -> list[list[Any]]:
        if len(rows) == 0:
            return []
        cum = np.cumsum(delta[rows])
        keep = _thin(cum, max_points)
        times = iso_times(time_ns[rows][keep], tz)
        return [[t, v] for t, v in zip(times, money.many(cum[keep]), strict=True)]

    out: dict[str, Any] = {"total": series(np.arange(len(delta))), "strategies": {}}
    order = stable_order(strat)
    keys = strat[order]
    for code in np.unique(strat).tolist():
        lo, hi = np.searchsorted(keys, code, "left"), np.searchsorted(keys, code, "right")
        out["strategies"][names[code]] = series(order[lo:hi])
    out["strategies"] = dict(sorted(out["strategies"].items()))
    return out


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
    return np.unique(np.concatenate([[0, n - 1], lows, highs]))
