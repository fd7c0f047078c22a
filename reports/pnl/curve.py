"""The equity curve: cumulative realized PnL through the day, thinned for charts."""
from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from reports.journal.scaled import sorted_unique
from reports.pnl.isotimes import iso_times_runs
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

    if len(delta) == 0:
        return {"total": [], "strategies": {}}
    cum_total = np.cumsum(delta)
    keep_total = _thin(cum_total, max_points)
    # The strategies' curves at once: fills by strategy (time order within one), one running sum
    # restarting at each strategy, and a thinning pass only for a strategy with too many points.
    order = stable_order(strat)
    keys = strat[order]
    bounds = np.searchsorted(keys, np.arange(len(names) + 1), "left").tolist()
    runs = [(code, lo, hi) for code, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)) if hi > lo]
    del keys
    cum = delta[order]
    np.cumsum(cum, out=cum)
    if len(runs) > 1:  # each strategy's sum from its own first fill on
        lows = np.asarray([lo for _, lo, _ in runs[1:]], dtype=np.int64)
        cum[lows[0]:] -= np.repeat(cum[lows - 1], np.diff(np.append(lows, len(cum))))
    if any(hi - lo > max_points for _, lo, hi in runs):
        kept = [lo + _thin(cum[lo:hi], max_points) for _, lo, hi in runs]
        sizes = [len(k) for k in kept]
        picked = np.concatenate(kept)
        order, cum = order[picked], cum[picked]
    else:
        sizes = [hi - lo for _, lo, hi in runs]
    # All series' times in one formatting pass, and their values in one rounding pass (each
    # value is rounded alone either way).
    times = iso_times_runs(np.concatenate([time_ns[keep_total], time_ns[order]]), [len(keep_total), *sizes], tz)
    values = money.many(np.concatenate([cum_total[keep_total], cum]))
    points = [[t, v] for t, v in zip(times, values, strict=True)]
    at = len(keep_total)
    strategies: dict[str, list[list[Any]]] = {}
    for (code, _, _), size in zip(runs, sizes, strict=True):
        strategies[names[code]] = points[at:at + size]
        at += size
    return {"total": points[:len(keep_total)], "strategies": dict(sorted(strategies.items()))}


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
