"""Scaled money integers to the floats of the JSON document, rounded once, half to even."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reports.pnl.kernels import div_half_even, int_div_half_even

if TYPE_CHECKING:
    import numpy as np


class Money:
    """Scaled integers (10**-S) -> floats rounded half-even to the minor unit."""

    def __init__(self, scale: int, places: int) -> None:
        self.scale = scale
        self.places = places

    def one(self, value: int) -> float:
        return self.many_ints([int(value)])[0] / 10 ** self.places if self.places else float(self.many_ints([int(value)])[0])

    def many(self, values: np.ndarray) -> list[float]:
        import numpy as np

        ints = self.many_ints(values)
        if self.places == 0:
            return [float(v) for v in ints]
        arr = np.asarray(ints, dtype=object if isinstance(ints, list) else None)
        if arr.dtype == object:
            return [int(v) / 10 ** self.places for v in arr]
        return (arr.astype(np.float64) / 10 ** self.places).tolist()

    def many_ints(self, values: Any) -> Any:
        import numpy as np

        arr = np.asarray(values)
        if arr.dtype != object and arr.dtype.kind not in "iu":
            arr = arr.astype(object)
        diff = self.scale - self.places
        if diff <= 0:
            return arr * 10 ** (-diff)
        den = 10 ** diff
        return div_half_even(arr, np.full(arr.shape, den, dtype=arr.dtype) if arr.dtype != object else den)

    def ratio(self, num: int, den: int) -> float:
        """``num / den`` (num in 10**-S) as money."""
        return self.one(int_div_half_even(int(num), int(den)))
