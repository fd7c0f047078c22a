"""The plain-CSV fast path's field decoders: located fields (start, length) to numpy columns.

:mod:`.fastcsv` reads the file and finds where every field is; this module turns those
byte ranges into values: gathering them (a uint64 per short field, a byte matrix for wider
ones), the names and ids, the exact scaled decimals and the times. It is separate because it
is a different idea (decoding bytes with integer arithmetic, independent of the CSV layout)
and each decoder has its own tests against its general counterpart. Every decoder raises
:class:`_NotPlain` at the first value that is not plain, so the general reader can give
the error message.
"""
from __future__ import annotations

import functools
from datetime import UTC, date, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any

from reports.journal.scaled import INT64_DIGITS, plain_decimal_bytes, sorted_unique
from reports.journal.times import FIRST_YEAR, LAST_YEAR

if TYPE_CHECKING:  # numpy is imported lazily: the CLI must start fast.
    import numpy as np


# Fields up to this many bytes (names, sides, ids, most numbers) are loaded as one uint64
# each: one gather per column, and whole-field comparisons instead of byte by byte.
_WORD = 8


class _NotPlain(Exception):
    """The file is not in the plain layout: the general reader takes it."""


# Long columns are decoded in slices of this many rows: each step's temporaries then stay
# in the CPU cache. Whole-column passes over 5M rows went to memory on every one of their
# ~50 steps, and cost 7x what 1M rows cost, not 5x.
_CHUNK_ROWS = 1 << 17


def _chunks(n: int, size: int | None = None) -> list[tuple[int, int]]:
    size = size or _CHUNK_ROWS  # read when called, not when defined (a test makes it small)
    return [(lo, min(n, lo + size)) for lo in range(0, n, size)] or [(0, 0)]


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    import numpy as np

    return parts[0] if len(parts) == 1 else np.concatenate(parts)


# ------------------------------------------------------------------ gathering fields


def _words(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The 8 bytes from each position ``at`` as one uint64 each, in file order (view them as bytes).

    One gather from an unaligned uint64 view of the bytes: a fancy index of n words, where a
    byte matrix would be n row copies.
    """
    import numpy as np

    view = np.ndarray((buf.shape[0] - _WORD + 1,), dtype=np.uint64, buffer=buf, strides=(1,))
    return view[at]


@functools.cache
def _byte_masks() -> tuple[np.ndarray, np.ndarray]:
    """uint64 masks by length k = 0..8 keeping the first (left) or the last (right) k bytes.

    Built from bytes, so they hold whatever the machine's byte order.
    """
    import numpy as np

    left = np.zeros((_WORD + 1, _WORD), dtype=np.uint8)
    right = np.zeros((_WORD + 1, _WORD), dtype=np.uint8)
    for k in range(_WORD + 1):
        left[k, :k] = 255
        right[k, _WORD - k:] = 255
    return left.view(np.uint64).reshape(-1), right.view(np.uint64).reshape(-1)


def _word_of(text: bytes) -> Any:
    """A field of at most 8 bytes as the uint64 :func:`_left_words` gives for it."""
    import numpy as np

    return np.frombuffer(text.ljust(_WORD, b"\0"), dtype=np.uint64)[0]


def _left_words(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Fields of at most 8 bytes as uint64, zero after each field's end (equal fields, equal words)."""
    return _words(buf, start) & _byte_masks()[0][length]


def _gather(buf: np.ndarray, start: np.ndarray, length: np.ndarray | None, *, width: int | None = None) -> np.ndarray:
    """The fields as an (n, width) uint8 matrix, zero-padded on the right.

    ``length`` None: every field is ``width`` bytes long.
    """
    import numpy as np

    w = int(length.max()) if width is None and length is not None else int(width or 0)
    if w == 0:
        return np.zeros((start.shape[0], 0), dtype=np.uint8)
    reach = int(start.max()) + w
    if reach > buf.shape[0]:
        # A field wider than the padding (a 400-digit price) near the end of the file.
        buf = np.concatenate([buf, np.zeros(reach - buf.shape[0], dtype=np.uint8)])
    # Rows of a sliding-window view: one w-byte copy per field, no (n, w) index matrix.
    windows = np.ndarray((buf.shape[0] - w + 1, w), dtype=np.uint8, buffer=buf, strides=(1, 1))
    mat = windows[start]
    if length is not None and int(length.min()) != w:
        mat *= np.arange(w) < length[:, None]
    return mat


# ------------------------------------------------------------------ text columns


def _matrix_codes(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, first row of each code) for the rows of a byte matrix, exactly.

    Rows are packed into uint64 words and hashed; equal hashes are then checked byte for
    byte against the first row with that hash, so a collision can never merge two values.
    """
    import numpy as np

    key, words = _row_keys(mat, with_words=True)
    codes, first = _key_codes(key)
    if not bool((words == words[first[codes]]).all()):
        # A hash collision (never seen in practice): sort-based exact codes instead.
        _, first_idx, codes = np.unique(mat, axis=0, return_index=True, return_inverse=True)
        codes = codes.reshape(-1)
        first = first_idx
    return codes.astype(np.int64), first


def _key_codes(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, first row of each code) of a key column, codes in order of first appearance."""
    import numpy as np

    n = key.shape[0]
    found = _codes_of_early_keys(key) if n <= _FACTORIZE_WITH_NUMPY else None
    if found is not None:
        return found
    codes = _factorize(key)
    first = np.full(int(codes.max()) + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(n))
    return codes, first


# A day's names (strategies, symbols) are few, and all of them usually appear in its first rows.
_EARLY_ROWS = 1024


def _codes_of_early_keys(key: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_key_codes` by a binary search per row among the distinct keys of the first rows
    (half the cost of sorting all rows), or None when a later row holds a key they lack."""
    import numpy as np

    early = key[:_EARLY_ROWS]
    order = np.argsort(early, kind="stable")
    ordered = early[order]
    head = np.empty(ordered.shape[0], dtype=bool)
    head[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=head[1:])
    distinct, first = ordered[head], order[head]  # sorted, and the first row of each (stable sort)
    at = np.searchsorted(distinct, key)
    np.minimum(at, distinct.shape[0] - 1, out=at)
    if not bool((distinct[at] == key).all()):
        return None
    by_appearance = np.argsort(first)
    rank = np.empty(distinct.shape[0], dtype=np.int64)
    rank[by_appearance] = np.arange(distinct.shape[0])
    return rank[at], first[by_appearance].astype(np.int64)


# Below this many rows codes come from a sort in numpy: importing pandas for its hash table
# (~0.45 s) would cost more than the sort. Above it pandas' table is faster (a few distinct
# names in millions of rows: the table stays in cache; a sort would not).
_FACTORIZE_WITH_NUMPY = 200_000


def _factorize(key: np.ndarray) -> np.ndarray:
    """A code per value, numbered in order of first appearance (what pandas.factorize gives)."""
    import numpy as np

    if key.shape[0] > _FACTORIZE_WITH_NUMPY:
        import pandas as pd

        codes, _ = pd.factorize(key)
        return np.asarray(codes)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    rank = np.empty(first.shape[0], dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.shape[0])
    return rank[inverse.reshape(-1)]


def _row_keys(mat: np.ndarray, *, with_words: bool = False) -> Any:
    """A uint64 hash per row of a byte matrix (equal rows, equal keys).

    With ``with_words``, also the rows packed as uint64 words (for exact comparison).
    """
    import numpy as np

    n, w = mat.shape
    words = max(1, -(-w // 8))
    packed = np.zeros((n, words * 8), dtype=np.uint8)
    packed[:, :w] = mat
    packed_words = packed.view(np.uint64)
    key = packed_words[:, 0].copy()
    for k in range(1, words):
        key = key * np.uint64(0x9E3779B97F4A7C15) + packed_words[:, k]
    return (key, packed_words) if with_words else key


def _plain_names(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """A low-cardinality text column (strategy, symbol): (object array of str, codes, names)."""
    import numpy as np

    if not bool((length > 0).all()):
        raise _NotPlain
    if int(length.max()) <= _WORD:
        codes, first = _key_codes(_left_words(buf, start, length))  # the word is the name: exact
    else:
        codes, first = _matrix_codes(_gather(buf, start, length))
    try:
        names = [buf[s:s + k].tobytes().decode("utf-8") for s, k in zip(start[first].tolist(),
                                                                         length[first].tolist(), strict=True)]
    except UnicodeDecodeError:
        raise _NotPlain from None
    if any(not n.strip() for n in names):
        raise _NotPlain
    lookup = np.empty(len(names), dtype=object)
    lookup[:] = names
    return lookup[codes], codes, tuple(names)


def _plain_text(buf: np.ndarray, start: np.ndarray, length: np.ndarray, *,
                keys: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """An id column as a numpy bytes array (ASCII only; see :func:`text_of`), and with
    ``keys`` a uint64 per row, equal for equal ids (for finding repeats)."""
    import numpy as np

    n = start.shape[0]
    width = int(length.max())
    if width == 0:
        return np.full(n, b"", dtype="S1"), np.zeros(n, dtype=np.uint64) if keys else None
    key = None
    if width <= _WORD:
        words = _left_words(buf, start, length)
        if bool((words & _word_of(b"\x80" * _WORD)).any()):
            raise _NotPlain
        mat = words.view(np.uint8).reshape(n, _WORD)[:, :width]
        if keys:
            # The id itself, read first byte most significant: it sorts like the text, so ids
            # an engine numbers in order come already sorted to the duplicate check.
            key = words.view(">u8").astype(np.uint64)
    else:
        mat = _gather(buf, start, length)
        if bool((mat >= 128).any()):
            raise _NotPlain
        key = _row_keys(mat) if keys else None
    # Kept as bytes: decoding a million ids nobody reads would cost more than parsing them.
    return np.ascontiguousarray(mat).view(f"S{width}").reshape(-1), key


def _plain_sides(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    if int(length.max()) > _WORD:
        raise _NotPlain
    side = _left_words(buf, start, length)  # no NUL bytes: only a 3-byte "BUY" has BUY's word
    is_buy = side == _word_of(b"BUY")
    if not bool((is_buy | (side == _word_of(b"SELL"))).all()):
        raise _NotPlain
    return is_buy


# ------------------------------------------------------------------ numbers


@functools.cache
def _powers_of_ten() -> np.ndarray:
    """10**k for k = 0..18, as int64."""
    import numpy as np

    return 10 ** np.arange(INT64_DIGITS + 1, dtype=np.int64)


def _plain_decimal(buf: np.ndarray, start: np.ndarray, length: np.ndarray, *, required: bool) -> tuple[np.ndarray, int]:
    """Plain ``123.45`` fields to exact scaled int64 (integer arithmetic only), else _NotPlain."""
    import numpy as np

    length = length.astype(np.int64)  # decimal places become powers of ten below: no int32 there
    n = start.shape[0]
    widest = int(length.max())
    if widest == 0:
        if required:
            raise _NotPlain
        return np.zeros(n, dtype=np.int64), 0
    decode = _word_decimal if widest <= _WORD else _decimal_digits
    parts = [decode(buf, start[lo:hi], length[lo:hi], required=required) for lo, hi in _chunks(n)]
    value = _joined([v for v, _, _ in parts])
    decs = _joined([d for _, d, _ in parts])
    digits = _joined([g for _, _, g in parts])
    decimals = int(decs.max())
    # (No row has more digits than bytes: when the widest fits with every decimal, all do.)
    if widest + decimals > INT64_DIGITS and int((digits + decimals - decs).max()) > INT64_DIGITS:
        raise _NotPlain  # needs Python integers: the general reader does that
    if decimals:
        powers = _powers_of_ten()
        for lo, hi in _chunks(n):
            value[lo:hi] *= powers[decimals - decs[lo:hi]]
    return value, decimals


def _word_decimal(buf: np.ndarray, start: np.ndarray, length: np.ndarray, *,
                  required: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_decimal_digits` for fields of at most 8 bytes, on one uint64 per field.

    Each field is loaded right-aligned (its last byte in the word's last byte), so every
    byte has a fixed place value: the digits, the dot counted as a 0, are one dot product
    with 10**7 ... 10**0; the dot's place then splits that number into the whole and
    the fraction digits.
    """
    import numpy as np

    n = start.shape[0]
    # start + length >= 8: the header (over 40 bytes) comes before any field.
    mat = (_words(buf, start + length - _WORD) & _byte_masks()[1][length]).view(np.uint8).reshape(n, _WORD)
    digit = mat - 48  # uint8: bytes below "0" wrap round to >= 208
    is_digit = digit <= 9
    is_dot = mat == 46
    if not bool((is_digit | is_dot | (mat == 0)).all()):  # zero: the bytes before a short field
        raise _NotPlain
    has_dot = is_dot.view(np.uint64).reshape(n) != 0
    if int(np.count_nonzero(is_dot)) != int(np.count_nonzero(has_dot)):
        raise _NotPlain  # a field with two dots
    digits = length - has_dot
    ok = digits >= 1
    if not required:
        ok |= length == 0
    if not bool(ok.all()):
        raise _NotPlain
    decs = np.where(has_dot, _WORD - 1 - is_dot.argmax(axis=1), 0)
    number = (digit * is_digit) @ _powers_of_ten()[_WORD - 1::-1]
    # number = whole * 10**(decs + 1) + fraction (a 0 in the dot's place): drop that place.
    power = _powers_of_ten()[decs]
    value = np.where(has_dot, number // (10 * power) * power + number % power, number)
    return value, decs, digits


def _decimal_digits(buf: np.ndarray, start: np.ndarray, length: np.ndarray, *,
                    required: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(digits as an integer, decimal places, digit count) of plain decimal fields, else _NotPlain."""
    import numpy as np

    n = start.shape[0]
    mat = _gather(buf, start, length)
    width = mat.shape[1]
    is_dot = mat == 46
    dots = np.count_nonzero(is_dot, axis=1)
    digits = length - dots  # only digits, one dot and the zero padding are allowed (checked next)
    allowed = plain_decimal_bytes()[mat].all(axis=1)
    empty = length == 0
    ok = allowed & (dots <= 1) & (digits <= INT64_DIGITS) & ((digits >= 1) | (empty & (not required)))
    if not bool(ok.all()):
        raise _NotPlain
    dot_at = np.where(dots == 1, is_dot.argmax(axis=1), length)
    decs = (length - dot_at - 1).clip(min=0)
    value = np.zeros(n, dtype=np.int64)
    for j in range(width):
        column = mat[:, j]
        is_digit = column >= 48  # allowed bytes: digits (>= 48), the dot (46) and padding (0)
        value = np.where(is_digit, value * 10 + (column - 48), value)
    return value, decs, digits


# ------------------------------------------------------------------ times


def _plain_times(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, tzinfo]:
    """``YYYY-MM-DDTHH:MM:SS[.f…](+HH:MM|Z)``, one layout for all rows, to UTC epoch ns."""
    import numpy as np

    width = int(length[0])
    if width < 20 or not bool((length == width).all()):
        raise _NotPlain
    first = bytes(buf[int(start[0]):int(start[0]) + width])  # every row must have the first row's layout
    parts = [_times_chunk(buf, start[lo:hi], width, first) for lo, hi in _chunks(start.shape[0])]
    offsets = parts[0][1] if len(parts) == 1 else sorted_unique(np.concatenate([o for _, o in parts]))
    tz = timezone(timedelta(minutes=int(offsets[0]))) if offsets.size == 1 else UTC
    return _joined([ns for ns, _ in parts]), tz


def _times_chunk(buf: np.ndarray, start: np.ndarray, width: int, first: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(UTC epoch ns, the distinct UTC offsets in minutes) of rows laid out like ``first``."""
    import numpy as np

    # (width, n): char[k] is every row's k-th byte, contiguous, so each step below is one
    # pass over n bytes rather than a strided walk down a column.
    char = np.ascontiguousarray(_gather(buf, start, None, width=width).T)
    zulu = first.endswith(b"Z")
    body_end = width - (1 if zulu else 6)
    frac_digits = body_end - 20 if body_end > 19 else 0
    if frac_digits < 0 or frac_digits > 9 or (body_end > 19 and first[19:20] != b"."):
        raise _NotPlain
    expect = {4: b"-", 7: b"-", 13: b":", 16: b":"}
    if body_end > 19:
        expect[19] = b"."
    if zulu:
        expect[width - 1] = b"Z"
    else:
        expect[width - 3] = b":"
    digit_pos = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] + list(range(20, 20 + frac_digits))
    if not zulu:
        digit_pos += [body_end + 1, body_end + 2, body_end + 4, body_end + 5]
    # The bytes each position allows (a digit, or the layout's separator; both: none), checked
    # for all positions at once. The "T" (or " ") and the offset's sign are two choices.
    low, high = [0] * width, [255] * width
    for pos in digit_pos:
        low[pos], high[pos] = 48, 57
    for pos, byte in expect.items():
        low[pos], high[pos] = max(low[pos], byte[0]), min(high[pos], byte[0])
    bounds = np.array([low, high], dtype=np.uint8)[:, :, None]
    if not (bool(((char >= bounds[0]) & (char <= bounds[1])).all())
            and bool(((char[10] == 84) | (char[10] == 32)).all())):
        raise _NotPlain
    if not zulu and not bool(((char[body_end] == 43) | (char[body_end] == 45)).all()):
        raise _NotPlain
    digit = char - 48  # the values at the digit positions (checked above)
    # The two-digit fields at once (each at most 99: still uint8): hour, minute, second[, oh, om].
    tens = [11, 14, 17] if zulu else [11, 14, 17, body_end + 1, body_end + 4]
    pairs = digit[tens] * 10 + digit[[t + 1 for t in tens]]
    if not bool((pairs < np.array([[24], [60], [60], [24], [60]][:len(tens)], dtype=np.uint8)).all()):
        raise _NotPlain
    pairs = pairs.astype(np.int64)
    seconds = pairs[0] * 3600 + pairs[1] * 60 + pairs[2]
    if not zulu:
        offset = pairs[3] * 60 + pairs[4]
        offset = np.where(char[body_end] == 45, -offset, offset)
        seconds -= offset * 60
    # A day's journal has one date: decoded once, in Python, not per row.
    days = (_one_date(bytes(char[:10, 0])) if bool((char[:10] == char[:10, :1]).all())
            else _dates(digit[[0, 1, 2, 3, 5, 6, 8, 9]].astype(np.int64)))
    ns = (days * 86_400 + seconds) * 1_000_000_000
    if frac_digits:
        ns += _digits_value(digit[20:20 + frac_digits]) * 10 ** (9 - frac_digits)
    if zulu:
        return ns, np.zeros(1, dtype=np.int64)
    return ns, offset[:1] if bool((offset == offset[0]).all()) else sorted_unique(offset)


def _one_date(text: bytes) -> int:
    """Days since 1970-01-01 of ``YYYY-MM-DD`` (digits checked), else _NotPlain."""
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    if not FIRST_YEAR <= year <= LAST_YEAR:  # else int64 nanoseconds overflow
        raise _NotPlain
    try:
        return date(year, month, day).toordinal() - _EPOCH_ORDINAL
    except ValueError:  # month 13, February 30
        raise _NotPlain from None


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _dates(digit: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of each column of ``YYYYMMDD`` digit values, else _NotPlain."""
    import numpy as np

    year = digit[0] * 1000 + digit[1] * 100 + digit[2] * 10 + digit[3]
    month, day = digit[4] * 10 + digit[5], digit[6] * 10 + digit[7]
    days = _days_from_civil(year, month, day)
    valid = ((month >= 1) & (month <= 12) & (day >= 1)
             & (year >= FIRST_YEAR) & (year <= LAST_YEAR))  # else int64 nanoseconds overflow
    valid &= day <= _days_from_civil(year + (month == 12), np.where(month == 12, 1, month + 1), 1) - (days - day + 1)
    if not bool(valid.all()):
        raise _NotPlain
    return days


def _digits_value(digit: np.ndarray) -> np.ndarray:
    """The digit values ``digit[0], digit[1], ...`` (rows; at most 18) as one int64 per column."""
    import numpy as np

    count = digit.shape[0]
    value = np.zeros(digit.shape[1], dtype=np.int64)
    # Two digits per step: each pair is at most 99, still a byte.
    for pair in (digit[0:count - 1:2] * 10 + digit[1:count:2]).astype(np.int64):
        value *= 100
        value += pair
    if count % 2:
        value *= 10
        value += digit[count - 1]
    return value


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: Any) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    import numpy as np

    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468
