"""The plain-CSV fast path: a journal in the layout an engine writes, decoded from its bytes.

This module reads the file and locates its fields (commas and newlines found with numpy),
then has :mod:`.fastfields` decode each column and drops repeated trade ids.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from reports.journal.fastfields import (
    _chunks,
    _joined,
    _NotPlain,
    _plain_decimal,
    _plain_names,
    _plain_sides,
    _plain_text,
    _plain_times,
)
from reports.journal.model import JOURNAL_COLUMNS, REQUIRED_COLUMNS, FillTable, text_of
from reports.journal.scaled import sorted_unique
from reports.journal.validate import MAX_DUPLICATE_WARNINGS

if TYPE_CHECKING:  # numpy is imported lazily: the CLI must start fast.
    import numpy as np


_PADDING = 64  # zero bytes after the data: gathers of a field may run past the end


def read_plain_csv(p: Path, name: str) -> tuple[FillTable, list[str]] | None:
    """Read a journal in the plain layout column-wise from its bytes, or return None.

    Plain: UTF-8, ``\n`` line ends, no quotes, no NUL bytes, no blank lines, the same
    number of fields on every line, one time format throughout, every value valid.
    Fields are located with numpy (positions of commas and newlines), then each column is
    gathered (a uint64 per field, or an (n, width) byte matrix for wider fields) and
    decoded with integer arithmetic: exact, and no Python object per value. Returns None
    at the first thing that does not fit, so every error message comes from the general
    reader.
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
    if columns.trade_keys is not None:
        table, warnings = _drop_duplicate_trade_ids(table, columns.trade_keys, layout.field_of["trade_id"][1] > 0,
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
    if size - first == header_end + 1 or any(raw.find(b, first, size) >= 0 for b in (b'"', b"\r", b"\0")):
        # No rows, quotes, CR line ends or NUL bytes (zero bytes are the decoders' padding,
        # so a zero inside a field would read as padding): the general reader.
        return None
    buf = np.frombuffer(raw, dtype=np.uint8)[first:]  # the bytes read, no copy; zero padding after them
    size -= first
    body_start = header_end + 1
    # Positions as int32 below 2 GiB: half the memory (and memory traffic) for 10**7 fields.
    index = "int32" if size < 2 ** 31 else "int64"
    # Commas and newlines in one pass: every line must hold exactly one comma per column
    # boundary, then its newline, so they come in groups of (columns) ending with a newline.
    seps, newlines = _separators(buf[body_start:size], index)
    width = len(header)
    if seps.size % width:
        return None
    n = seps.size // width
    seps += body_start
    ends = seps.reshape(n, width)  # where each field ends (its comma or newline), line by line
    # n newlines, each closing a group: then every other separator is a comma.
    if newlines != n or not bool((buf[ends[:, -1]] == 10).all()):
        return None
    # (columns, n): each column's positions contiguous. Transposed slice by slice: a whole
    # (n, columns) -> (columns, n) transpose of 5M lines strides through memory.
    starts = np.empty((width, n), dtype=index)
    lengths = np.empty((width, n), dtype=index)
    for lo, hi in _chunks(n):
        block = ends[lo:hi].T
        starts[1:, lo:hi] = block[:-1] + 1
        lengths[:, lo:hi] = block
    starts[0, 0] = body_start
    starts[0, 1:] = ends[:-1, -1] + 1
    lengths -= starts
    return _Layout(buf=buf, field_of={h: (starts[j], lengths[j]) for j, h in enumerate(header)}, n=n)


# Line ends are found in slices of this many bytes, for the same reason the columns are
# decoded in slices (see fastfields._CHUNK_ROWS): each step's temporaries stay in the CPU cache.
_CHUNK_BYTES = 1 << 22


def _separators(body: np.ndarray, index: str) -> tuple[np.ndarray, int]:
    """(where commas and newlines are in ``body``, how many newlines), slice by slice (no
    file-sized boolean array)."""
    import numpy as np

    parts = []
    newlines = 0
    for lo, hi in _chunks(body.shape[0], _CHUNK_BYTES):
        part = body[lo:hi]
        is_newline = part == 10
        newlines += int(np.count_nonzero(is_newline))
        found = np.flatnonzero(is_newline | (part == 44)).astype(index)
        found += lo
        parts.append(found)
    return _joined(parts), newlines


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
    trade_keys: np.ndarray | None  # a uint64 per trade_id (equal ids, equal keys); None without the column


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
    no_ids = np.full(n, b"", dtype="S1")
    order_id = _plain_text(buf, *field_of["order_id"])[0] if "order_id" in field_of else no_ids
    trade_id, trade_keys = (_plain_text(buf, *field_of["trade_id"], keys=True) if "trade_id" in field_of
                            else (no_ids, None))
    return _PlainColumns(
        time_ns=time_ns, tz=tz, strategy=strategy, strategy_codes=strategy_codes, strategy_names=strategy_names,
        symbol=symbol, symbol_codes=symbol_codes, symbol_names=symbol_names, is_buy=is_buy,
        qty=qty, qd=qd, price=price, pd=pd_, fees=fees, fd=fd, order_id=order_id, trade_id=trade_id,
        trade_keys=trade_keys,
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


def _drop_duplicate_trade_ids(table: FillTable, keys: np.ndarray, present: np.ndarray,
                              name: str) -> tuple[FillTable, list[str]]:
    """Rows repeating an earlier row's trade_id are dropped, each with a warning."""
    import numpy as np

    warnings: list[str] = []
    dup, first_of = _duplicate_rows(keys, table.trade_id, present)
    if dup.any():
        dup_idx = np.flatnonzero(dup)
        for i in dup_idx[:MAX_DUPLICATE_WARNINGS].tolist():
            warnings.append(f"{name}:{i + 2} trade_id: {text_of(table.trade_id[i])!r} repeats line "
                            f"{first_of[i] + 2}; row dropped")
        if dup_idx.size > MAX_DUPLICATE_WARNINGS:
            warnings.append(f"{name}: {dup_idx.size - MAX_DUPLICATE_WARNINGS} more duplicate trade_id rows dropped")
        table = table.take(~dup)
    return table, warnings


def _duplicate_rows(keys: np.ndarray, values: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """Rows (with ``present`` values) repeating an earlier row, and the row each repeats.

    ``keys``: a uint64 per row, equal for equal values (a hash, or the value itself).
    """
    import numpy as np

    n = keys.shape[0]
    if int(np.count_nonzero(present)) < 2:
        return np.zeros(n, dtype=bool), {}
    # Which keys occur twice: one sort (sequential memory) rather than a hash table of n keys,
    # whose random access grows faster than n (5M ids: 1.8 s in pandas' table, ~0.4 s sorted).
    # Stable (timsort): ids an engine numbers in order come sorted, and cost one pass.
    ordered = np.sort(keys, kind="stable")
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size == 0:
        return np.zeros(n, dtype=bool), {}
    candidates = np.isin(keys, sorted_unique(repeated)) & present
    dup = np.zeros(n, dtype=bool)
    first_of: dict[int, int] = {}
    if not candidates.any():
        return dup, first_of
    # Few rows share a key: compare their values exactly, in file order.
    seen: dict[bytes, int] = {}
    for i in np.flatnonzero(candidates).tolist():
        value = bytes(values[i])
        if value in seen:
            dup[i] = True
            first_of[i] = seen[value]
        else:
            seen[value] = i
    return dup, first_of
