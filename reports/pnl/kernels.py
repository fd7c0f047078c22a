"""Exact integer array kernels for the day's computation (numpy, imported lazily).

Every function keeps integers exact: int64 where the values fit (see ``INT64_SAFE``),
numpy object arrays of Python ints otherwise.
"""
from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    import numpy as np

P = ParamSpec("P")
R = TypeVar("R")

INT64_SAFE = 2 ** 61  # headroom: sums of a few such values still fit in int64


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a while: a day's computation makes 10**4-10**6
    small lists and dicts and no reference cycles, and every few hundred allocations the
    collector would walk them (and every long-lived object of the process) again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def without_gc(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run ``func`` inside :func:`gc_paused`."""
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with gc_paused():
            return func(*args, **kwargs)
    return wrapper


def rescale(values: np.ndarray, extra_places: int) -> np.ndarray:
    """``values * 10**extra_places``, exactly: Python integers where int64 would overflow."""
    if extra_places == 0:
        return values
    factor = 10 ** extra_places
    if values.dtype != object and (factor >= INT64_SAFE
                                   or (len(values) and int(abs(values).max()) >= INT64_SAFE // factor)):
        values = values.astype(object)
    return values * factor


def fits_int64(qty: np.ndarray, price: np.ndarray, fee: np.ndarray, notional_to_money: int) -> bool:
    """True when every product and running sum below stays inside int64."""
    import numpy as np

    if qty.dtype == object or price.dtype == object or fee.dtype == object:
        return False
    if 10 ** max(notional_to_money, 0) >= INT64_SAFE:
        return False  # the notional-to-money factor itself (fees with 19+ decimals), even on zeros
    if len(qty) == 0:
        return True
    notional = np.abs(qty).astype(np.float64) * np.abs(price).astype(np.float64)
    bound = float(notional.sum()) * 10.0 ** notional_to_money + float(np.abs(fee).astype(np.float64).sum())
    return bound * 4 < INT64_SAFE and float(np.abs(fee).max()) * float(np.abs(qty).max()) < INT64_SAFE


def objects(values: list[Any]) -> np.ndarray:
    import numpy as np

    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def factorize(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype("int64"), [str(u) for u in uniques]


def factorize_ints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    keys, inverse = np.unique(values, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1), keys


def stable_order(codes: np.ndarray) -> np.ndarray:
    """Stable argsort of small non-negative integer codes.

    Narrow integer types make numpy use radix sort: several times faster on a million rows.
    """
    import numpy as np

    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    top = int(codes.max())
    narrow = np.uint8 if top < 2 ** 8 else np.uint16 if top < 2 ** 16 else None
    return np.argsort(codes.astype(narrow) if narrow else codes, kind="stable")


def segment_starts(keys: np.ndarray) -> np.ndarray:
    import numpy as np

    starts = np.ones(len(keys), dtype=bool)
    if len(keys) > 1:
        starts[1:] = keys[1:] != keys[:-1]
    return starts


def segmented_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    import numpy as np

    if len(values) == 0:
        return values.copy()
    total = np.cumsum(values)
    first = np.maximum.accumulate(np.where(starts, np.arange(len(values)), 0))
    return total - (total[first] - values[first])


def segmented_running_max(values: np.ndarray, start_mask: np.ndarray,
                          segment: np.ndarray | None = None) -> np.ndarray:
    """The running maximum within each segment (a new array); ``segment``: each row's segment
    number, when the caller has it already."""
    import numpy as np

    if values.dtype != object:
        if bool(start_mask[1:].any()) is False:
            return np.maximum.accumulate(values)  # one segment
        # Lift each segment above all earlier ones, so one running max never crosses a start.
        segment = np.cumsum(start_mask) - 1 if segment is None else segment
        low = int(values.min())
        span = int(values.max()) - low + 1
        if span * (int(segment[-1]) + 1) < 2 ** 62:
            lift = segment * span
            lift -= low
            peak = values + lift
            np.maximum.accumulate(peak, out=peak)
            peak -= lift
            return peak
        import pandas as pd

        segment = np.cumsum(start_mask)
        return pd.Series(values).groupby(segment).cummax().to_numpy()
    out = np.empty(len(values), dtype=object)
    running = None
    for i, (v, new) in enumerate(zip(values.tolist(), start_mask.tolist(), strict=True)):
        running = v if new or v > running else running
        out[i] = running
    return out


def cost_at(A: np.ndarray, V: np.ndarray, price: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Cost of the first ``x`` opening units (A, V: cumulative units and cost per row)."""
    import numpy as np

    k = np.searchsorted(A, x, side="left")
    k = np.minimum(k, len(A) - 1)
    return V[k] - (A[k] - x) * price[k]


def div_half_even(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Integer ``num / den`` rounded half to even (den > 0), exact for int64 and Python ints."""
    import numpy as np

    q = num // den
    r = num - q * den
    twice = 2 * r
    up = (twice > den) | ((twice == den) & (q % 2 == 1))
    return q + up.astype(np.int64) if q.dtype != object else q + np.where(up, 1, 0)


def int_div_half_even(num: int, den: int) -> int:
    """:func:`div_half_even` for one pair of Python ints."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


def total(values: np.ndarray) -> int:
    """The exact sum of an integer array as a Python int (0 when empty)."""
    return int(values.sum()) if len(values) else 0


class GroupSort:
    """Rows ordered by group (stably: time order within a group) for segment reductions."""

    def __init__(self, keys: np.ndarray, groups: int) -> None:
        import numpy as np

        self.groups = groups
        self.counts = np.bincount(keys, minlength=groups) if len(keys) else np.zeros(groups, dtype=np.int64)
        single = groups == 1 or len(keys) == 0
        self.order = np.arange(len(keys)) if single else stable_order(keys)
        sorted_keys = keys[self.order]
        self.start_mask = segment_starts(sorted_keys)
        self.starts = np.flatnonzero(self.start_mask)
        self.present = sorted_keys[self.starts]
        self.sizes = self.counts[self.present]  # rows per present group, in sorted order

    @functools.cached_property
    def segment(self) -> np.ndarray:
        """Per sorted row: its group's index among the present groups."""
        import numpy as np

        return np.repeat(np.arange(len(self.starts)), self.sizes)

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Exact per-group sums (int64, or Python ints for object arrays)."""
        import numpy as np

        out = np.zeros(self.groups, dtype=object if values.dtype == object else np.int64)
        if len(self.starts):
            out[self.present] = np.add.reduceat(values[self.order], self.starts)
        return out

    def extreme(self, values: np.ndarray, *, largest: bool) -> np.ndarray:
        """Per group, the row of its largest (smallest) value; the earliest on ties."""
        import numpy as np

        out = np.full(self.groups, -1, dtype=np.int64)
        if len(self.starts) == 0:
            return out
        ordered = values[self.order]
        top = (np.maximum if largest else np.minimum).reduceat(ordered, self.starts)
        # The rows holding their group's extreme, in group order and time order within one
        # (no sort by value): the first of each group is the earliest.
        hits = np.flatnonzero(ordered == np.repeat(top, self.sizes))
        out[self.present] = self.order[hits[segment_starts(self.segment[hits])]]
        return out

    def drawdown(self, delta: np.ndarray) -> np.ndarray:
        """Per group, the largest fall of its cumulative curve from its running peak (>= 0)."""
        import numpy as np

        out = np.zeros(self.groups, dtype=object if delta.dtype == object else np.int64)
        if len(self.starts) == 0:
            return out
        ordered = delta[self.order]
        curve = np.cumsum(ordered)
        curve -= np.repeat(curve[self.starts] - ordered[self.starts], self.sizes)  # each group from 0
        del ordered
        if curve.dtype == object:
            peak = segmented_running_max(curve, self.start_mask)
            fall = np.array([max(p, 0) for p in peak.tolist()], dtype=object) - curve
        else:
            fall = np.maximum(segmented_running_max(curve, self.start_mask, self.segment), 0)
            fall -= curve
        out[self.present] = np.maximum.reduceat(fall, self.starts)
        return out
