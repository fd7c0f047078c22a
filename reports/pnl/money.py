"""Scaled money integers to the floats of the JSON document, rounded once, half to even."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reports.pnl.kernels import div_half_even, int_div_half_even, rescale

if TYPE_CHECKING:
    import numpy as np

# int64 values below this convert to float64 exactly, so dividing the float by 10**places is
# one correctly rounded step; larger ones are divided as Python integers (also one step).
_FLOAT_EXACT = 2 ** 53
# A divisor (10**(S - places)) past this no longer fits an int64 array: Python integers then.
_INT64_DIVISOR = 2 ** 61


class Money:
    """Scaled integers (10**-S) -> floats rounded half-even to the minor unit."""

    def __init__(self, scale: int, places: int) -> None:
        self.scale = scale
        self.places = places

    def one(self, value: int) -> float:
        """One scaled integer as money (Python integers throughout: exact at any size)."""
        value = int(value)
        diff = self.scale - self.places
        minor = value * 10 ** (-diff) if diff <= 0 else int_div_half_even(value, 10 ** diff)
        return minor / 10 ** self.places  # int / int: correctly rounded

    def many(self, values: np.ndarray) -> list[float]:
        import numpy as np

        ints = self.many_ints(values)
        if self.places == 0:
            return [float(v) for v in ints.tolist()]
        if ints.dtype != object and (len(ints) == 0 or int(np.abs(ints).max()) < _FLOAT_EXACT):
            return (ints.astype(np.float64) / 10 ** self.places).tolist()
        den = 10 ** self.places
        return [int(v) / den for v in ints.tolist()]

    def many_ints(self, values: Any) -> Any:
        """The values in minor units, rounded half to even (int64, or Python ints when they would not fit)."""
        import numpy as np

        arr = np.asarray(values)
        if arr.dtype != object and arr.dtype.kind not in "iu":
            arr = arr.astype(object)
        diff = self.scale - self.places
        if diff <= 0:
            return rescale(arr, -diff)  # switches to Python ints rather than overflow
        den = 10 ** diff
        if arr.dtype != object and den >= _INT64_DIVISOR:
            arr = arr.astype(object)
        return div_half_even(arr, np.full(arr.shape, den, dtype=arr.dtype) if arr.dtype != object else den)

    def ratio(self, num: int, den: int) -> float:
        """``num / den`` (num in 10**-S) as money."""
        return self.one(int_div_half_even(int(num), int(den)))
