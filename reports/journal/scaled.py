"""Exact numbers as scaled integers: ``Decimal('718.23')`` is ``(71823, 2)``; columns of them.

Past 18 digits an int64 can no longer hold a scaled number; such columns switch to
Python integers (numpy object arrays): slower, still exact.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported lazily: the CLI must start fast.
    import numpy as np

INT64_DIGITS = 18


def decimal_to_scaled(d: Decimal) -> tuple[int, int]:
    """``Decimal('-12.340')`` -> ``(-12340, 3)``: the exact value as mantissa and decimals."""
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digits)) or "0")
    if exponent >= 0:
        mantissa *= 10 ** exponent
        decimals = 0
    else:
        decimals = -exponent
    return (-mantissa if sign else mantissa), decimals


def scaled_to_decimal(value: int, decimals: int) -> Decimal:
    """Inverse of :func:`decimal_to_scaled` (exact, whatever the context precision)."""
    return Decimal(int(value)).scaleb(-decimals) if decimals else Decimal(int(value))


def format_scaled(value: int, decimals: int) -> str:
    """Plain decimal text (no exponent), trailing zeros trimmed: ``(71823, 2)`` -> ``718.23``."""
    value = int(value)
    sign = "-" if value < 0 else ""
    digits = str(abs(value))
    if decimals <= 0:
        return sign + digits + "0" * (-decimals)
    digits = digits.rjust(decimals + 1, "0")
    whole, frac = digits[:-decimals], digits[-decimals:].rstrip("0")
    return f"{sign}{whole}.{frac}" if frac else sign + whole


def scaled_column(values: Sequence[Decimal]) -> tuple[np.ndarray, int]:
    import numpy as np

    parts = [decimal_to_scaled(Decimal(v)) for v in values]
    decimals = max((d for _, d in parts), default=0)
    ints = [m * 10 ** (decimals - d) for m, d in parts]
    if all(-(10 ** INT64_DIGITS) < v < 10 ** INT64_DIGITS for v in ints):
        return np.array(ints, dtype=np.int64), decimals
    arr = np.empty(len(ints), dtype=object)
    arr[:] = ints
    return arr, decimals


def object_array(values: Sequence[str]) -> np.ndarray:
    import numpy as np

    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return arr


@functools.cache
def plain_decimal_bytes() -> np.ndarray:
    """Which byte values may appear in a plain decimal: digits, the dot, numpy's padding."""
    import numpy as np

    table = np.zeros(256, dtype=bool)
    table[ord("0"):ord("9") + 1] = True
    table[ord(".")] = True
    table[0] = True
    return table
