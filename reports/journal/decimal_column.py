"""Exact parse of a text column of decimals into scaled integers (numpy fast path, Decimal fallback)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from reports.journal.problems import Problems
from reports.journal.scaled import INT64_DIGITS, decimal_to_scaled, number_problem, plain_decimal_bytes

if TYPE_CHECKING:  # numpy is imported lazily: the CLI must start fast.
    import numpy as np

# Below 2**50 (15 digits) float(text) * 10**decimals rounds to the exact integer.
_FLOAT_EXACT_DIGITS = 15


def parse_decimal_column(
    values: np.ndarray, lines: np.ndarray, name: str, problems: Problems, *, required: bool
) -> tuple[np.ndarray, int, np.ndarray]:
    """Exact parse of a column of decimal strings into (scaled integers, decimals, bad rows).

    Bad rows are reported to ``problems`` (and hold 0).

    Fast path for plain ``123.45`` text, on the ASCII bytes as an (n, width) matrix:
    a row of digits and at most one dot, whose value scaled to the column's decimals
    has at most 15 digits, is ``rint(float(text) * 10**decimals)`` -- exact, because
    below 2**50 the float's relative error (< 2**-52) cannot move the product by half
    a unit. Rows up to 18 digits are accumulated digit by digit in int64; anything else
    (signs, spaces, exponents, longer numbers, bad text) goes through Decimal, which
    also words the error message.
    """
    import numpy as np

    n = values.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0, np.zeros(0, dtype=bool)
    try:
        raw = values.astype("S")
    except (UnicodeEncodeError, ValueError):
        raw = None  # non-ASCII text somewhere: every row takes the slow path
    if raw is not None and raw.dtype.itemsize:
        scan = _scan_plain(raw, required=required)
    elif raw is not None and not required:
        return np.zeros(n, dtype=np.int64), 0, np.zeros(n, dtype=bool)  # every value is empty: all zero
    else:
        scan = _PlainScan.all_slow(n)
    slow_values, bad = _parse_slow_rows(values, scan.slow, lines, name, problems, required=required)
    scaled, decimals = _scale(scan, slow_values)
    return scaled, decimals, bad


@dataclass(frozen=True)
class _PlainScan:
    """Which rows are plain ``123.45`` text, and their digit and decimal counts (0 for slow rows)."""

    raw: np.ndarray  # the values as ASCII bytes (an optional column's blanks as b"0")
    mat: np.ndarray  # the values' bytes as an (n, width) matrix, zero-padded
    digits: np.ndarray
    decs: np.ndarray
    slow: np.ndarray  # rows that go through Decimal

    @classmethod
    def all_slow(cls, n: int) -> _PlainScan:
        import numpy as np

        return cls(raw=np.full(n, b"", dtype="S1"), mat=np.zeros((n, 0), dtype=np.uint8),
                   digits=np.zeros(n, dtype=np.int64), decs=np.zeros(n, dtype=np.int64),
                   slow=np.ones(n, dtype=bool))


def _scan_plain(raw: np.ndarray, *, required: bool) -> _PlainScan:
    import numpy as np

    n = raw.shape[0]
    width = raw.dtype.itemsize
    mat = raw.view(np.uint8).reshape(n, width)
    length = np.char.str_len(raw).astype(np.int64)
    dot_at = (mat == 46).argmax(axis=1)
    has_dot = mat[np.arange(n), dot_at] == 46
    n_dots = (mat == 46).sum(axis=1) if has_dot.any() else np.zeros(n, dtype=np.int64)
    digits = length - has_dot
    decs = np.where(has_dot, length - dot_at - 1, 0)
    slow = ~(plain_decimal_bytes()[mat].all(axis=1) & (n_dots <= 1) & (digits >= 1) & (digits <= INT64_DIGITS))
    # A zero byte before the end ("1.\x005") is text, not numpy's padding: Decimal refuses it.
    slow |= np.count_nonzero(mat, axis=1) != length
    if not required:
        blank = length == 0
        slow &= ~blank  # an empty optional value means 0
        raw = np.where(blank, b"0", raw)
    digits[slow] = 0
    decs[slow] = 0
    return _PlainScan(raw=raw, mat=mat, digits=digits, decs=decs, slow=slow)


def _parse_slow_rows(
    values: np.ndarray, slow: np.ndarray, lines: np.ndarray, name: str, problems: Problems, *, required: bool
) -> tuple[dict[int, tuple[int, int]], np.ndarray]:
    """The rows the fast path cannot read, through Decimal: {row: (mantissa, decimals)}, bad rows."""
    import numpy as np

    bad = np.zeros(values.shape[0], dtype=bool)
    slow_values: dict[int, tuple[int, int]] = {}
    for i in np.flatnonzero(slow).tolist():
        text = str(values[i]).strip()
        if not text:
            if required:
                problems.add_one(int(lines[i]), name, "is empty")
                bad[i] = True
            else:
                slow_values[i] = (0, 0)
            continue
        try:
            d = Decimal(text)
        except InvalidOperation:
            problems.add_one(int(lines[i]), name, f"{shown(values[i])} is not a number")
            bad[i] = True
            continue
        problem = number_problem(d)
        if problem is not None:
            problems.add_one(int(lines[i]), name, f"{shown(values[i])} {problem}")
            bad[i] = True
            continue
        slow_values[i] = decimal_to_scaled(d)
    return slow_values, bad


def shown(value: object, limit: int = 40) -> str:
    """A value for a message: its repr, shortened in the middle when it is long (a 400-digit price)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit // 2]}…{text[-(limit // 2):]}"


def _scale(scan: _PlainScan, slow_values: dict[int, tuple[int, int]]) -> tuple[np.ndarray, int]:
    """Every row at the column's decimals: int64 when all fit, else Python integers."""
    import numpy as np

    fast = ~scan.slow
    decimals = int(scan.decs[fast].max()) if fast.any() else 0
    if slow_values:
        decimals = max(decimals, max(d for _, d in slow_values.values()))
    scaled_digits = np.where(fast, scan.digits + decimals - scan.decs, 0)
    if int(scaled_digits.max()) <= INT64_DIGITS and all(
        len(str(abs(m))) + decimals - d <= INT64_DIGITS for m, d in slow_values.values()
    ):
        return _scale_int64(scan, fast, scaled_digits, decimals, slow_values), decimals
    # Too many digits for int64: Python integers, exact at any size.
    scaled = np.empty(scan.slow.shape[0], dtype=object)
    fast_values = (_accumulate_digits(scan.mat) if fast.any()
                   else np.zeros(scan.slow.shape[0], dtype=np.int64))
    for row in range(scan.slow.shape[0]):
        m, d = slow_values.get(row, (0, 0)) if scan.slow[row] else (int(fast_values[row]), int(scan.decs[row]))
        scaled[row] = m * 10 ** (decimals - d)
    return scaled, decimals


def _scale_int64(scan: _PlainScan, fast: np.ndarray, scaled_digits: np.ndarray, decimals: int,
                 slow_values: dict[int, tuple[int, int]]) -> np.ndarray:
    import numpy as np

    scaled = np.zeros(scan.slow.shape[0], dtype=np.int64)
    if fast.any():
        with np.errstate(invalid="ignore"):
            as_float = np.where(fast, scan.raw, b"0").astype(np.float64)
        scaled = np.rint(as_float * float(10 ** decimals)).astype(np.int64)
        long_rows = np.flatnonzero(fast & (scaled_digits > _FLOAT_EXACT_DIGITS))
        if long_rows.size:
            scaled[long_rows] = _accumulate_digits(scan.mat[long_rows]) * 10 ** (decimals - scan.decs[long_rows])
    for row, (m, d) in slow_values.items():
        scaled[row] = m * 10 ** (decimals - d)
    return scaled


def _accumulate_digits(mat: np.ndarray) -> np.ndarray:
    """The digits of each row of an ASCII matrix as one int64 (dots and padding skipped)."""
    import numpy as np

    out = np.zeros(mat.shape[0], dtype=np.int64)
    for j in range(mat.shape[1]):
        col = mat[:, j]
        is_digit = (col >= 48) & (col <= 57)
        out = np.where(is_digit, out * 10 + (col.astype(np.int64) - 48), out)
    return out
