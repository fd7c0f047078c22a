"""The plain-CSV fast path: a journal in the layout an engine writes, decoded from its bytes."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports.journal.model import JOURNAL_COLUMNS, REQUIRED_COLUMNS, FillTable, text_of
from reports.journal.scaled import INT64_DIGITS, plain_decimal_bytes, sorted_unique
from reports.journal.times import FIRST_YEAR, LAST_YEAR
from reports.journal.validate import MAX_DUPLICATE_WARNINGS

if TYPE_CHECKING:  # numpy is imported lazily: the CLI must start fast.
    import numpy as np


_PADDING = 64  # zero bytes after the data: gathers of a field may run past the end


class _NotPlain(Exception):
    """The file is not in the plain layout: the general reader takes it."""


def read_plain_csv(p: Path, name: str) -> tuple[FillTable, list[str]] | None:
    """Read a journal in the plain layout column-wise from its bytes, or return None.

    Plain: UTF-8, ``\n`` line ends, no quotes, no blank lines, the same number of fields
    on every line, one time format throughout, every value valid. Fields are located
    with numpy (positions of commas and newlines), then each column is gathered into an
    (n, width) byte matrix and decoded with integer arithmetic: exact, and no Python
    object per value. Returns None at the first thing that does not fit, so every
    error message comes from the general reader.
    """
    import numpy as np

    layout = _locate_fields(p)
    if layout is None:
        return None
    try:
        columns = _decode_columns(layout)
    except _NotPlain:
        return None
    table = _table(columns, layout.n, name)
    warnings: list[str] = []
    if columns.trade_matrix is not None:
        table, warnings = _drop_duplicate_trade_ids(table, columns.trade_matrix, layout.field_of["trade_id"][1] > 0,
                                                    name)
    if len(table) > 1 and not bool((table.time_ns[1:] >= table.time_ns[:-1]).all()):
        table = table.take(np.argsort(table.time_ns, kind="stable"))
    return table, warnings


@dataclass(frozen=True)
class _Layout:
    """The file's bytes and where each field is: column name -> (start, length) per line."""

    buf: np.ndarray  # the bytes, zero-padded: gathers may run past the end
    field_of: dict[str, tuple[np.ndarray, np.ndarray]]
    n: int  # lines after the header


def _locate_fields(p: Path) -> _Layout | None:
    """The field positions of every line, or None when the file is not in the plain layout."""
    import numpy as np

    raw, first, size = _read_padded(p)
    if raw[size - 1:size] != b"\n":
        raw[size] = 10  # a last line without its newline (the padding has room)
        size += 1
    header_end = raw.find(b"\n", first) - first
    try:
        header = [h.strip() for h in raw[first:first + header_end].decode("utf-8").split(",")]
    except UnicodeDecodeError:
        return None
    if (len(set(header)) != len(header) or any(h not in JOURNAL_COLUMNS for h in header)
            or any(c not in header for c in REQUIRED_COLUMNS)):
        return None
    if size - first == header_end + 1 or raw.find(b'"', first, size) >= 0 or raw.find(b"\r", first, size) >= 0:
        return None  # no rows, quotes or CR line ends: the general reader
    buf = np.frombuffer(raw, dtype=np.uint8)[first:]  # the bytes read, no copy; zero padding after them
    size -= first
    body = buf[header_end + 1:size]
    # Positions as int32 below 2 GiB: half the memory (and memory traffic) for 10**7 fields.
    index = "int32" if size < 2 ** 31 else "int64"
    ends = _positions(body, 10, index)
    ends += header_end + 1
    n = int(ends.size)
    commas = _positions(body, 44, index)
    commas += header_end + 1
    per_line = len(header) - 1
    if commas.size != n * per_line:
        return None
    line_start = np.empty(n, dtype=index)
    line_start[0] = header_end + 1
    line_start[1:] = ends[:-1] + 1
    commas = commas.reshape(n, per_line) if per_line else np.zeros((n, 0), dtype=index)
    # Every line must hold exactly its own commas (none borrowed from a neighbour).
    if per_line and not (bool((commas[:, 0] >= line_start).all()) and bool((commas[:, -1] < ends).all())):
        return None
    # (columns, n): each column's positions contiguous. Transposed slice by slice: a whole
    # (n, columns) -> (columns, n) transpose of 5M lines strides through memory.
    starts = np.empty((per_line + 1, n), dtype=index)
    lengths = np.empty((per_line + 1, n), dtype=index)
    starts[0] = line_start
    lengths[per_line] = ends
    for lo, hi in _chunks(n):
        block = commas[lo:hi].T
        starts[1:, lo:hi] = block + 1
        lengths[:per_line, lo:hi] = block
    lengths -= starts
    return _Layout(buf=buf, field_of={h: (starts[j], lengths[j]) for j, h in enumerate(header)}, n=n)


# Long columns are decoded in slices of this many rows (bytes, for finding line ends): each
# step's temporaries then stay in the CPU cache. Whole-column passes over 5M rows went to
# memory on every one of their ~50 steps, and cost 7x what 1M rows cost, not 5x.
_CHUNK_ROWS = 1 << 17
_CHUNK_BYTES = 1 << 22


def _chunks(n: int, size: int = _CHUNK_ROWS) -> list[tuple[int, int]]:
    return [(lo, min(n, lo + size)) for lo in range(0, n, size)] or [(0, 0)]


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    import numpy as np

    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _positions(body: np.ndarray, byte: int, index: str) -> np.ndarray:
    """Where ``byte`` occurs in ``body``, slice by slice (no file-sized boolean array)."""
    import numpy as np

    parts = []
    for lo, hi in _chunks(body.shape[0], _CHUNK_BYTES):
        found = np.flatnonzero(body[lo:hi] == byte).astype(index)
        found += lo
        parts.append(found)
    return _joined(parts)


def _read_padded(p: Path) -> tuple[bytearray, int, int]:
    """(the file's bytes followed by zero padding, where the text starts after a BOM, where
    it ends): read once into one buffer, which numpy then uses as it is."""
    with p.open("rb") as fh:
        expected = os.fstat(fh.fileno()).st_size
        raw = bytearray(expected + _PADDING + 1)
        got = fh.readinto(raw)
        if got > expected:  # the file grew while being read: read the rest, pad again
            rest = fh.read()
            raw = raw[:got] + rest + bytes(_PADDING + 1)
            got += len(rest)
    first = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    return raw, first, got


@dataclass(frozen=True)
class _PlainColumns:
    """The decoded columns of a plain file (see FillTable for what each holds)."""

    time_ns: np.ndarray
    tz: tzinfo
    strategy: np.ndarray
    strategy_codes: np.ndarray
    strategy_names: tuple[str, ...]
    symbol: np.ndarray
    symbol_codes: np.ndarray
    symbol_names: tuple[str, ...]
    is_buy: np.ndarray
    qty: np.ndarray
    qd: int
    price: np.ndarray
    pd: int
    fees: np.ndarray
    fd: int
    order_id: np.ndarray
    trade_id: np.ndarray
    trade_matrix: np.ndarray | None  # the trade_id bytes, for finding repeats; None without the column


def _decode_columns(layout: _Layout) -> _PlainColumns:
    """Every column decoded from the bytes; raises _NotPlain at the first value that is not plain."""
    import numpy as np

    buf, field_of, n = layout.buf, layout.field_of, layout.n
    time_ns, tz = _plain_times(buf, *field_of["time"])
    strategy, strategy_codes, strategy_names = _plain_names(buf, *field_of["strategy"])
    symbol, symbol_codes, symbol_names = _plain_names(buf, *field_of["symbol"])
    is_buy = _plain_sides(buf, *field_of["side"])
    qty, qd = _plain_decimal(buf, *field_of["quantity"], required=True)
    price, pd_ = _plain_decimal(buf, *field_of["price"], required=True)
    if "fees" in field_of:
        fees, fd = _plain_decimal(buf, *field_of["fees"], required=False)
    else:
        fees, fd = np.zeros(n, dtype=np.int64), 0
    if not bool((qty > 0).all()):
        raise _NotPlain
    order_id = _plain_text(buf, *field_of["order_id"]) if "order_id" in field_of else np.full(n, b"", dtype="S1")
    trade_matrix = _gather(buf, *field_of["trade_id"]) if "trade_id" in field_of else None
    trade_id = _matrix_text(trade_matrix) if trade_matrix is not None else np.full(n, b"", dtype="S1")
    return _PlainColumns(
        time_ns=time_ns, tz=tz, strategy=strategy, strategy_codes=strategy_codes, strategy_names=strategy_names,
        symbol=symbol, symbol_codes=symbol_codes, symbol_names=symbol_names, is_buy=is_buy,
        qty=qty, qd=qd, price=price, pd=pd_, fees=fees, fd=fd, order_id=order_id, trade_id=trade_id,
        trade_matrix=trade_matrix,
    )


def _table(c: _PlainColumns, n: int, name: str) -> FillTable:
    import numpy as np

    return FillTable(
        time_ns=c.time_ns, strategy=c.strategy, symbol=c.symbol, is_buy=c.is_buy,
        quantity=c.qty, quantity_decimals=c.qd, price=c.price, price_decimals=c.pd, fees=c.fees, fee_decimals=c.fd,
        order_id=c.order_id, trade_id=c.trade_id, line=np.arange(2, n + 2, dtype=np.int64), source=name, tz=c.tz,
        strategy_codes=c.strategy_codes, strategy_names=c.strategy_names,
        symbol_codes=c.symbol_codes, symbol_names=c.symbol_names,
    )


def _drop_duplicate_trade_ids(table: FillTable, trade_matrix: np.ndarray, present: np.ndarray,
                              name: str) -> tuple[FillTable, list[str]]:
    """Rows repeating an earlier row's trade_id are dropped, each with a warning."""
    import numpy as np

    warnings: list[str] = []
    dup, first_of = _duplicate_rows(trade_matrix, present)
    if dup.any():
        dup_idx = np.flatnonzero(dup)
        for i in dup_idx[:MAX_DUPLICATE_WARNINGS].tolist():
            warnings.append(f"{name}:{i + 2} trade_id: {text_of(table.trade_id[i])!r} repeats line "
                            f"{first_of[i] + 2}; row dropped")
        if dup_idx.size > MAX_DUPLICATE_WARNINGS:
            warnings.append(f"{name}: {dup_idx.size - MAX_DUPLICATE_WARNINGS} more duplicate trade_id rows dropped")
        table = table.take(~dup)
    return table, warnings


def _gather(buf: np.ndarray, start: np.ndarray, length: np.ndarray, *, width: int | None = None) -> np.ndarray:
    """The fields as an (n, width) uint8 matrix, zero-padded on the right."""
    import numpy as np

    w = int(length.max()) if width is None else width
    if w == 0:
        return np.zeros((start.shape[0], 0), dtype=np.uint8)
    reach = int(start.max()) + w
    if reach > buf.shape[0]:
        # A field wider than the padding (a 400-digit price) near the end of the file.
        buf = np.concatenate([buf, np.zeros(reach - buf.shape[0], dtype=np.uint8)])
    # Rows of a sliding-window view: one w-byte copy per field, no (n, w) index matrix.
    mat = np.lib.stride_tricks.sliding_window_view(buf, w)[start]
    if int(length.min()) != w:
        mat[np.arange(w)[None, :] >= length[:, None]] = 0
    return mat


def _matrix_codes(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, first row of each code) for the rows of a byte matrix, exactly.

    Rows are packed into uint64 words and hashed; equal hashes are then checked byte for
    byte against the first row with that hash, so a collision can never merge two values.
    """
    import numpy as np

    n = mat.shape[0]
    key, words = _row_keys(mat, with_words=True)
    codes = _factorize(key)
    first = np.full(int(codes.max()) + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(n))
    if not bool((words == words[first[codes]]).all()):
        # A hash collision (never seen in practice): sort-based exact codes instead.
        _, first_idx, codes = np.unique(mat, axis=0, return_index=True, return_inverse=True)
        codes = codes.reshape(-1)
        first = first_idx
    return codes.astype(np.int64), first


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


def _duplicate_rows(mat: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """Rows (with ``present`` values) repeating an earlier row, and the row each repeats."""
    import numpy as np

    n = mat.shape[0]
    if int(np.count_nonzero(present)) < 2:
        return np.zeros(n, dtype=bool), {}
    key = _row_keys(mat)
    # Which keys occur twice: one sort (sequential memory) rather than a hash table of n keys,
    # whose random access grows faster than n (5M ids: 1.8 s in pandas' table, ~0.4 s sorted).
    ordered = np.sort(key)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size == 0:
        return np.zeros(n, dtype=bool), {}
    candidates = np.isin(key, sorted_unique(repeated)) & present
    dup = np.zeros(n, dtype=bool)
    first_of: dict[int, int] = {}
    if not candidates.any():
        return dup, first_of
    # Few rows share a hash: compare their bytes exactly, in file order.
    seen: dict[bytes, int] = {}
    for i in np.flatnonzero(candidates).tolist():
        value = mat[i].tobytes()
        if value in seen:
            dup[i] = True
            first_of[i] = seen[value]
        else:
            seen[value] = i
    return dup, first_of


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
    mat = _gather(buf, start, length)
    codes, first = _matrix_codes(mat)
    try:
        names = [bytes(mat[i][: int(length[i])]).decode("utf-8") for i in first.tolist()]
    except UnicodeDecodeError:
        raise _NotPlain from None
    if any(not n.strip() for n in names):
        raise _NotPlain
    lookup = np.empty(len(names), dtype=object)
    lookup[:] = names
    return lookup[codes], codes, tuple(names)


def _plain_text(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    return _matrix_text(_gather(buf, start, length))


def _matrix_text(mat: np.ndarray) -> np.ndarray:
    """A byte matrix as a numpy bytes array (ASCII only; see :func:`text_of`)."""
    import numpy as np

    if mat.shape[1] == 0:
        return np.full(mat.shape[0], b"", dtype="S1")
    if bool((mat >= 128).any()):
        raise _NotPlain
    # Kept as bytes: decoding a million ids nobody reads would cost more than parsing them.
    return np.ascontiguousarray(mat).view(f"S{mat.shape[1]}").reshape(-1)



def _plain_sides(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:

    mat = _gather(buf, start, length, width=4)
    mat[length < 4, 3] = 0
    is_buy = (length == 3) & (mat[:, 0] == ord("B")) & (mat[:, 1] == ord("U")) & (mat[:, 2] == ord("Y"))
    is_sell = ((length == 4) & (mat[:, 0] == ord("S")) & (mat[:, 1] == ord("E")) & (mat[:, 2] == ord("L"))
               & (mat[:, 3] == ord("L")))
    if not bool((is_buy | is_sell).all()):
        raise _NotPlain
    return is_buy


def _plain_decimal(buf: np.ndarray, start: np.ndarray, length: np.ndarray, *, required: bool) -> tuple[np.ndarray, int]:
    """Plain ``123.45`` fields to exact scaled int64 (digit by digit), else _NotPlain."""
    import numpy as np

    length = length.astype(np.int64)  # decimal places become powers of ten below: no int32 there
    n = start.shape[0]
    if int(length.max()) == 0:
        if required:
            raise _NotPlain
        return np.zeros(n, dtype=np.int64), 0
    parts = [_decimal_digits(buf, start[lo:hi], length[lo:hi], required=required) for lo, hi in _chunks(n)]
    value = _joined([v for v, _, _ in parts])
    decs = _joined([d for _, d, _ in parts])
    digits = _joined([g for _, _, g in parts])
    decimals = int(decs.max())
    if int((digits + decimals - decs).max()) > INT64_DIGITS:
        raise _NotPlain  # needs Python integers: the general reader does that
    for lo, hi in _chunks(n):
        value[lo:hi] *= 10 ** (decimals - decs[lo:hi])
    return value, decimals


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


def _plain_times(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, tzinfo]:
    """``YYYY-MM-DDTHH:MM:SS[.f…](+HH:MM|Z)``, one layout for all rows, to UTC epoch ns."""
    import numpy as np

    width = int(length[0])
    if width < 20 or not bool((length == width).all()):
        raise _NotPlain
    first = bytes(buf[int(start[0]):int(start[0]) + width])  # every row must have the first row's layout
    parts = [_times_chunk(buf, start[lo:hi], width, first) for lo, hi in _chunks(start.shape[0])]
    offsets = sorted_unique(np.concatenate([o for _, o in parts]))
    tz = timezone(timedelta(minutes=int(offsets[0]))) if offsets.size == 1 else UTC
    return _joined([ns for ns, _ in parts]), tz


def _times_chunk(buf: np.ndarray, start: np.ndarray, width: int, first: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(UTC epoch ns, the distinct UTC offsets in minutes) of rows laid out like ``first``."""
    import numpy as np

    mat = _gather(buf, start, np.full(start.shape[0], width), width=width)
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
    checks = [(mat[:, pos] == ord(ch)) for pos, ch in expect.items()]
    checks.append((mat[:, 10] == ord("T")) | (mat[:, 10] == ord(" ")))
    if not zulu:
        checks.append((mat[:, body_end] == ord("+")) | (mat[:, body_end] == ord("-")))
    digit_pos = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] + list(range(20, 20 + frac_digits))
    if not zulu:
        digit_pos += [body_end + 1, body_end + 2, body_end + 4, body_end + 5]
    sub = mat[:, digit_pos]
    checks.append(((sub >= 48) & (sub <= 57)).all(axis=1))
    if not bool(np.logical_and.reduce(checks).all()):
        raise _NotPlain
    def num(*positions: int) -> np.ndarray:
        out = np.zeros(mat.shape[0], dtype=np.int64)
        for pos in positions:
            out = out * 10 + (mat[:, pos] - 48)
        return out

    # A day's journal has one date (and one offset): decode those once, not per row.
    if bool((mat[:, :10] == mat[0, :10]).all()):
        head = bytes(mat[0, :10])
        year, month, day = (np.array([int(head[a:b])], dtype=np.int64) for a, b in ((0, 4), (5, 7), (8, 10)))
    else:
        year, month, day = num(0, 1, 2, 3), num(5, 6), num(8, 9)
    hour, minute, second = num(11, 12), num(14, 15), num(17, 18)
    frac = num(*range(20, 20 + frac_digits)) * 10 ** (9 - frac_digits) if frac_digits else 0
    if zulu:
        offset = np.zeros(mat.shape[0], dtype=np.int64)
    else:
        sign = np.where(mat[:, body_end] == ord("-"), -1, 1)
        oh, om = num(body_end + 1, body_end + 2), num(body_end + 4, body_end + 5)
        if not bool(((oh < 24) & (om < 60)).all()):
            raise _NotPlain
        offset = sign * (oh * 60 + om)
    days = _days_from_civil(year, month, day)
    valid = ((month >= 1) & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60) & (second < 60)
             & (year >= FIRST_YEAR) & (year <= LAST_YEAR))  # else int64 nanoseconds overflow
    valid &= day <= _days_from_civil(year + (month == 12), np.where(month == 12, 1, month + 1), 1) - (days - day + 1)
    if not bool(valid.all()):
        raise _NotPlain
    ns = ((days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60) * 1_000_000_000) + frac
    return ns, sorted_unique(offset)


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
