"""Exact numbers as scaled integers: ``Decimal('718.23')`` is ``(71823, 2)``; columns of them.

Past 18 digits an int64 can no longer hold a scaled number; such columns switch to
Python integers (numpy object arrays): slower, still exact.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:  # numpy is imported lazily: the CLI must start fast.
    import numpy as np

P = ParamSpec("P")
R = TypeVar("R")

INT64_DIGITS = 18
# The journal format's limits (docs/REPORTS.md, "Limits"): digits before the decimal point
# and decimal places (trailing zeros not counted) of one number.
MAX_INTEGER_DIGITS = 40
MAX_DECIMALS = 40


# Decimal arithmetic on journal numbers (sums of lots, a quantity times a multiplier) in a
# context that cannot round them: the default one keeps 28 digits, a journal number has up to
# 80. Anything inexact raises instead of rounding silently. (1000 digits: also any sum of
# floats, 1e308 + 1e-308, as the period reports add them.)
EXACT = Context(prec=1000, Emax=999_999, Emin=-999_999,
                traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])


def localcontext_of(context: Context) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: run the function with ``context`` as the thread's Decimal context."""
    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with localcontext(context):
                return func(*args, **kwargs)
        return wrapper
    return decorate


# Exponents this far out are nobody's number (``1e999999999`` would take 10**9 digits):
# refused before any power of ten is computed, so no input can stall the computation.
_EXPONENT_GUARD = 10_000


def number_problem(d: Decimal, *, max_decimals: int = MAX_DECIMALS) -> str | None:
    """Why ``d`` is not a number the journal format takes (the limits above), or None."""
    if not d.is_finite():
        return "is not a finite number"
    if d.is_zero():
        return None
    whole = d.adjusted() + 1
    if whole > MAX_INTEGER_DIGITS:
        return f"has {whole} digits before the decimal point; at most {MAX_INTEGER_DIGITS} are supported"
    decimals = significant_decimals(d)
    if decimals > max_decimals:
        return f"has {decimals} decimal places; at most {max_decimals} are supported"
    return None


def significant_decimals(d: Decimal) -> int:
    """Decimal places of ``d`` without trailing zeros: ``1.2500`` -> 2, ``5E+3`` -> 0."""
    _, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing)) if any(digits) else 0


def decimal_to_scaled(d: Decimal) -> tuple[int, int]:
    """``Decimal('-12.340')`` -> ``(-12340, 3)``: the exact value as mantissa and decimals.

    Trailing zeros are kept (they say how precise the column is) up to MAX_DECIMALS places;
    beyond that only the significant decimals are. Raises ValueError for a value whose
    exponent is absurd (its digits could not even be written out).
    """
    sign, digits, exponent = d.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"{d} is not a finite number")
    mantissa = int("".join(map(str, digits)) or "0")
    if mantissa == 0:
        return 0, min(max(0, -exponent), MAX_DECIMALS)
    if not -_EXPONENT_GUARD < d.adjusted() < _EXPONENT_GUARD:
        raise ValueError(f"{d}: the number is far outside what can be computed")
    if exponent >= 0:
        return (-1 if sign else 1) * mantissa * 10 ** exponent, 0
    decimals = -exponent
    if decimals > MAX_DECIMALS:
        keep = max(MAX_DECIMALS, significant_decimals(d))
        mantissa //= 10 ** (decimals - keep)  # only zeros go
        decimals = keep
    return (-mantissa if sign else mantissa), decimals


def scaled_to_decimal(value: int, decimals: int) -> Decimal:
    """Inverse of :func:`decimal_to_scaled`, exact whatever the context precision.

    (``Decimal(n).scaleb(-d)`` is not: it rounds to the context's 28 digits.)
    """
    return Decimal(f"{int(value)}E{-int(decimals)}") if decimals else Decimal(int(value))


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


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` of a 1-d array: its distinct values, sorted. np.unique's first plain
    call imports numpy.ma (~7 ms of every ``tradeday report``), a sort and a compare do not."""
    import numpy as np

    ordered = np.sort(np.asarray(values).reshape(-1))
    if ordered.size < 2:
        return ordered
    keep = np.empty(ordered.shape, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


@functools.cache
def plain_decimal_bytes() -> np.ndarray:
    """Which byte values may appear in a plain decimal: digits, the dot, numpy's padding."""
    import numpy as np

    table = np.zeros(256, dtype=bool)
    table[ord("0"):ord("9") + 1] = True
    table[ord(".")] = True
    table[0] = True
    return table
