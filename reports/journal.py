"""The fills journal: one file per trading day, read, validated and written exactly.

Format (public contract, docs/REPORTS.md): CSV with the header
``time,strategy,symbol,side,quantity,price,fees,order_id,trade_id`` or JSON Lines with
the same field names. ``time`` is ISO-8601 with a UTC offset; ``side`` is BUY or SELL;
``quantity`` > 0; ``price`` >= 0; ``fees`` >= 0 (optional, default 0); ``order_id``
and ``trade_id`` are optional, ``trade_id`` unique when present.

Money is exact: every number is held as an integer count of ``10**-decimals`` units
(``quantity``, ``price`` and ``fees`` each with their own column-wide number of
decimals), never as a float. A million rows are parsed column-wise with numpy (the
digits are read straight from the bytes), so the exact path is also the fast one;
rows the fast path cannot read (spaces, exponents, signs) go through
:class:`decimal.Decimal` one by one, which also words the error message.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EodError
from core.fsutil import atomic_write_text

if TYPE_CHECKING:  # numpy is imported lazily: the CLI must start fast.
    import numpy as np

JOURNAL_COLUMNS: tuple[str, ...] = (
    "time", "strategy", "symbol", "side", "quantity", "price", "fees", "order_id", "trade_id",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("time", "strategy", "symbol", "side", "quantity", "price")
SIDES: tuple[str, str] = ("BUY", "SELL")

# Past 18 digits an int64 can no longer hold a scaled number; such columns switch to
# Python integers (numpy object arrays): slower, still exact.
_INT64_DIGITS = 18
_MAX_DUPLICATE_WARNINGS = 20


class JournalError(EodError):
    """The fills journal (or a broker export) is missing, unreadable or invalid."""


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution, as a person or an importer sees it."""

    time: datetime
    strategy: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    fees: Decimal = Decimal(0)
    order_id: str = ""
    trade_id: str = ""

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError(f"fill time {self.time.isoformat()} has no UTC offset")
        if self.side not in SIDES:
            raise ValueError(f"side {self.side!r} must be BUY or SELL")
        for name in ("quantity", "price", "fees"):
            if not isinstance(getattr(self, name), Decimal):
                object.__setattr__(self, name, Decimal(str(getattr(self, name))))
        if not self.quantity.is_finite() or self.quantity <= 0:
            raise ValueError(f"quantity {self.quantity} must be > 0")
        if not self.price.is_finite() or self.price < 0:
            raise ValueError(f"price {self.price} must be >= 0")
        if not self.fees.is_finite() or self.fees < 0:
            raise ValueError(f"fees {self.fees} must be >= 0")


@dataclass(frozen=True, eq=False)
class FillTable:
    """Fills column by column, numbers as exact scaled integers.

    ``quantity[i] * 10**-quantity_decimals`` is the quantity of fill ``i`` (likewise
    price and fees). Integer arrays are int64, or object arrays of Python ints when a
    value would not fit. ``strategy``/``symbol`` are object arrays of str; ``order_id``/
    ``trade_id`` are object arrays of str or numpy bytes arrays (read them with
    :func:`text_of`). ``line`` is the source line (0 when the fill did not come from
    a file). ``tz`` is the journal's common UTC offset (UTC when offsets differ), used
    to print times the way the journal wrote them.
    """

    time_ns: np.ndarray
    strategy: np.ndarray
    symbol: np.ndarray
    is_buy: np.ndarray
    quantity: np.ndarray
    quantity_decimals: int
    price: np.ndarray
    price_decimals: int
    fees: np.ndarray
    fee_decimals: int
    order_id: np.ndarray
    trade_id: np.ndarray
    line: np.ndarray
    source: str = ""
    tz: tzinfo = UTC
    # Optional: the strategy/symbol columns as codes into name lists (the fast reader
    # has them already; compute_day then skips factorizing a million strings).
    strategy_codes: np.ndarray | None = None
    strategy_names: tuple[str, ...] | None = None
    symbol_codes: np.ndarray | None = None
    symbol_names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return int(self.time_ns.shape[0])

    @classmethod
    def empty(cls, *, source: str = "", tz: tzinfo = UTC) -> FillTable:
        return cls.from_fills([], source=source, tz=tz)

    @classmethod
    def from_fills(cls, fills: Iterable[Fill], *, source: str = "", tz: tzinfo | None = None) -> FillTable:
        import numpy as np

        rows = list(fills)
        qty, qd = _scaled_column([f.quantity for f in rows])
        price, pd_ = _scaled_column([f.price for f in rows])
        fees, fd = _scaled_column([f.fees for f in rows])
        if tz is None:
            offsets = {f.time.utcoffset() for f in rows}
            tz = timezone(offsets.pop()) if len(offsets) == 1 else UTC
        return cls(
            time_ns=np.array([_epoch_ns(f.time) for f in rows], dtype=np.int64),
            strategy=_object_array([f.strategy for f in rows]),
            symbol=_object_array([f.symbol for f in rows]),
            is_buy=np.array([f.side == "BUY" for f in rows], dtype=bool),
            quantity=qty, quantity_decimals=qd,
            price=price, price_decimals=pd_,
            fees=fees, fee_decimals=fd,
            order_id=_object_array([f.order_id for f in rows]),
            trade_id=_object_array([f.trade_id for f in rows]),
            line=np.zeros(len(rows), dtype=np.int64),
            source=source,
            tz=tz,
        )

    def take(self, index: np.ndarray) -> FillTable:
        """The rows at ``index`` (an integer or boolean numpy array), in that order."""
        return FillTable(
            time_ns=self.time_ns[index], strategy=self.strategy[index], symbol=self.symbol[index],
            is_buy=self.is_buy[index], quantity=self.quantity[index],
            quantity_decimals=self.quantity_decimals, price=self.price[index],
            price_decimals=self.price_decimals, fees=self.fees[index], fee_decimals=self.fee_decimals,
            order_id=self.order_id[index], trade_id=self.trade_id[index], line=self.line[index],
            source=self.source, tz=self.tz,
            strategy_codes=None if self.strategy_codes is None else self.strategy_codes[index],
            strategy_names=self.strategy_names,
            symbol_codes=None if self.symbol_codes is None else self.symbol_codes[index],
            symbol_names=self.symbol_names,
        )

    def to_fills(self) -> list[Fill]:
        """Back to :class:`Fill` objects (fine for a day's fills; avoid for millions)."""
        out = []
        for i in range(len(self)):
            out.append(Fill(
                time=time_from_ns(int(self.time_ns[i]), self.tz),
                strategy=str(self.strategy[i]), symbol=str(self.symbol[i]),
                side="BUY" if self.is_buy[i] else "SELL",
                quantity=scaled_to_decimal(int(self.quantity[i]), self.quantity_decimals),
                price=scaled_to_decimal(int(self.price[i]), self.price_decimals),
                fees=scaled_to_decimal(int(self.fees[i]), self.fee_decimals),
                order_id=text_of(self.order_id[i]), trade_id=text_of(self.trade_id[i]),
            ))
        return out


@dataclass
class LoadedJournal:
    """A journal read from disk: its fills (sorted by time) and what was dropped."""

    path: Path
    fills: FillTable
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reading


def read_journal(path: str | os.PathLike[str], *, display_name: str | None = None) -> LoadedJournal:
    """Read and validate a day's journal (``.csv``, or ``.jsonl`` for JSON Lines).

    Raises :class:`JournalError` naming ``file:line`` and the field for the first bad
    row. Rows whose ``trade_id`` repeats an earlier row's are dropped, each with a
    warning in the result. Fills come back sorted by time (stable for equal times).
    ``display_name`` is how the file is named in messages (default: the path given).
    """
    p = Path(path)
    name = display_name or str(path)
    if not p.is_file():
        raise JournalError(f"{name}: no such journal file", hint="check the artifacts path, or write the journal first")
    if p.suffix.lower() in (".jsonl", ".ndjson"):
        columns, lines = _read_jsonl_columns(p, name)
    else:
        # The plain layout an engine writes (no quotes, one format throughout) is read
        # straight from the bytes; anything else, including every file with a problem,
        # goes through pandas and the row-level checks, which word the messages.
        fast = _read_plain_csv(p, name)
        if fast is not None:
            return LoadedJournal(path=p, fills=fast[0], warnings=fast[1])
        columns, lines = _read_csv_columns(p, name)
    table, warnings = fills_from_text_columns(columns, lines, source=name)
    return LoadedJournal(path=p, fills=table, warnings=warnings)


# ------------------------------------------------------------- the plain-CSV fast path


class _NotPlain(Exception):
    """The file is not in the plain layout: the general reader takes it."""


def _read_plain_csv(p: Path, name: str) -> tuple[FillTable, list[str]] | None:
    """Read a journal in the plain layout column-wise from its bytes, or return None.

    Plain: UTF-8, ``\n`` line ends, no quotes, no blank lines, the same number of fields
    on every line, one time format throughout, every value valid. Fields are located
    with numpy (positions of commas and newlines), then each column is gathered into an
    (n, width) byte matrix and decoded with integer arithmetic: exact, and no Python
    object per value. Returns None at the first thing that does not fit, so every
    error message comes from the general reader.
    """
    import numpy as np

    data = p.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.endswith(b"\n"):
        data += b"\n"
    header_end = data.find(b"\n")
    try:
        header = [h.strip() for h in data[:header_end].decode("utf-8").split(",")]
    except UnicodeDecodeError:
        return None
    if (len(set(header)) != len(header) or any(h not in JOURNAL_COLUMNS for h in header)
            or any(c not in header for c in REQUIRED_COLUMNS)):
        return None
    size = len(data)
    if size == header_end + 1 or data.find(b'"') >= 0 or data.find(b"\r") >= 0:
        return None  # no rows, quotes or CR line ends: the general reader
    buf = np.zeros(size + 64, dtype=np.uint8)  # zero padding: gathers may run past the end
    buf[:size] = np.frombuffer(data, dtype=np.uint8)
    del data  # the numpy copy is all we read from now on
    body = buf[header_end + 1:size]
    ends = np.flatnonzero(body == 10) + header_end + 1
    n = int(ends.size)
    commas = np.flatnonzero(body == 44) + header_end + 1
    per_line = len(header) - 1
    if commas.size != n * per_line:
        return None
    line_start = np.empty(n, dtype=np.int64)
    line_start[0] = header_end + 1
    line_start[1:] = ends[:-1] + 1
    commas = commas.reshape(n, per_line) if per_line else np.zeros((n, 0), dtype=np.int64)
    # Every line must hold exactly its own commas (none borrowed from a neighbour).
    if per_line and not (bool((commas[:, 0] >= line_start).all()) and bool((commas[:, -1] < ends).all())):
        return None
    starts = np.vstack([line_start[None, :], commas.T + 1])  # (columns, n): rows are contiguous
    lengths = np.vstack([commas.T, ends[None, :]]) - starts
    field_of = {h: (starts[j], lengths[j]) for j, h in enumerate(header)}
    try:
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
    except _NotPlain:
        return None
    lines = np.arange(2, n + 2, dtype=np.int64)
    table = FillTable(
        time_ns=time_ns, strategy=strategy, symbol=symbol, is_buy=is_buy, quantity=qty, quantity_decimals=qd,
        price=price, price_decimals=pd_, fees=fees, fee_decimals=fd, order_id=order_id, trade_id=trade_id,
        line=lines, source=name, tz=tz, strategy_codes=strategy_codes, strategy_names=strategy_names,
        symbol_codes=symbol_codes, symbol_names=symbol_names,
    )
    warnings: list[str] = []
    if trade_matrix is not None:
        dup, first_of = _duplicate_rows(trade_matrix, field_of["trade_id"][1] > 0)
        if dup.any():
            dup_idx = np.flatnonzero(dup)
            for i in dup_idx[:_MAX_DUPLICATE_WARNINGS].tolist():
                warnings.append(f"{name}:{i + 2} trade_id: {text_of(trade_id[i])!r} repeats line "
                                f"{first_of[i] + 2}; row dropped")
            if dup_idx.size > _MAX_DUPLICATE_WARNINGS:
                warnings.append(f"{name}: {dup_idx.size - _MAX_DUPLICATE_WARNINGS} more duplicate trade_id rows dropped")
            table = table.take(~dup)
    if len(table) > 1 and not bool((table.time_ns[1:] >= table.time_ns[:-1]).all()):
        table = table.take(np.argsort(table.time_ns, kind="stable"))
    return table, warnings


def _gather(buf: np.ndarray, start: np.ndarray, length: np.ndarray, *, width: int | None = None) -> np.ndarray:
    """The fields as an (n, width) uint8 matrix, zero-padded on the right."""
    import numpy as np

    w = int(length.max()) if width is None else width
    if w == 0:
        return np.zeros((start.shape[0], 0), dtype=np.uint8)
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
    import pandas as pd

    n = mat.shape[0]
    key, words = _row_keys(mat, with_words=True)
    codes, _ = pd.factorize(key)
    first = np.full(int(codes.max()) + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(n))
    if not bool((words == words[first[codes]]).all()):
        # A hash collision (never seen in practice): sort-based exact codes instead.
        _, first_idx, codes = np.unique(mat, axis=0, return_index=True, return_inverse=True)
        codes = codes.reshape(-1)
        first = first_idx
    return codes.astype(np.int64), first


def _duplicate_rows(mat: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """Rows (with ``present`` values) repeating an earlier row, and the row each repeats."""
    import numpy as np

    n = mat.shape[0]
    if int(np.count_nonzero(present)) < 2:
        return np.zeros(n, dtype=bool), {}
    import pandas as pd

    key = _row_keys(mat)
    candidates = pd.Series(key).duplicated(keep=False).to_numpy() & present
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


def text_of(value: Any) -> str:
    """A FillTable text cell as str (id columns from the fast reader hold ASCII bytes)."""
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


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

    n = start.shape[0]
    if int(length.max()) == 0:
        if required:
            raise _NotPlain
        return np.zeros(n, dtype=np.int64), 0
    mat = _gather(buf, start, length)
    width = mat.shape[1]
    is_dot = mat == 46
    dots = np.count_nonzero(is_dot, axis=1)
    digits = length - dots  # only digits, one dot and the zero padding are allowed (checked next)
    allowed = _plain_decimal_bytes()[mat].all(axis=1)
    empty = length == 0
    ok = allowed & (dots <= 1) & (digits <= _INT64_DIGITS) & ((digits >= 1) | (empty & (not required)))
    if not bool(ok.all()):
        raise _NotPlain
    dot_at = np.where(dots == 1, is_dot.argmax(axis=1), length)
    decs = (length - dot_at - 1).clip(min=0)
    value = np.zeros(n, dtype=np.int64)
    for j in range(width):
        column = mat[:, j]
        is_digit = column >= 48  # allowed bytes: digits (>= 48), the dot (46) and padding (0)
        value = np.where(is_digit, value * 10 + (column - 48), value)
    decimals = int(decs.max())
    if int((digits + decimals - decs).max()) > _INT64_DIGITS:
        raise _NotPlain  # needs Python integers: the general reader does that
    return value * (10 ** (decimals - decs)), decimals


def _plain_times(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, tzinfo]:
    """``YYYY-MM-DDTHH:MM:SS[.f…](+HH:MM|Z)``, one layout for all rows, to UTC epoch ns."""
    import numpy as np

    width = int(length[0])
    if width < 20 or not bool((length == width).all()):
        raise _NotPlain
    mat = _gather(buf, start, length, width=width)
    first = bytes(mat[0])
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
        year, month, day = (np.array([int(first[a:b])], dtype=np.int64) for a, b in ((0, 4), (5, 7), (8, 10)))
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
    valid = ((month >= 1) & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60) & (second < 60))
    valid &= day <= _days_from_civil(year + (month == 12), np.where(month == 12, 1, month + 1), 1) - (days - day + 1)
    if not bool(valid.all()):
        raise _NotPlain
    ns = ((days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60) * 1_000_000_000) + frac
    offsets = np.unique(offset)
    from datetime import timedelta

    tz = timezone(timedelta(minutes=int(offsets[0]))) if offsets.size == 1 else UTC
    return ns, tz


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


def _read_csv_columns(p: Path, name: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    import numpy as np
    import pandas as pd

    try:
        with p.open("r", encoding="utf-8-sig", newline="") as fh:
            header_line = fh.readline()
    except UnicodeDecodeError as exc:
        raise JournalError(f"{name}:1: not UTF-8 text ({exc.reason})", hint="save the journal as UTF-8 CSV") from None
    if not header_line.strip():
        raise JournalError(f"{name}:1: empty file, expected the header {','.join(JOURNAL_COLUMNS)}",
                           hint="a day without fills still needs the header line")
    header = [h.strip() for h in next(csv.reader([header_line]))]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise JournalError(
            f"{name}:1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            hint=f"the header must be {','.join(JOURNAL_COLUMNS)} (fees, order_id and trade_id may be left out)",
        )
    dupes = sorted({h for h in header if header.count(h) > 1 and h in JOURNAL_COLUMNS})
    if dupes:
        raise JournalError(f"{name}:1: column {dupes[0]} appears twice in the header", hint="keep one of them")
    import warnings

    try:
        with warnings.catch_warnings():
            # read_csv only warns when a row has more fields than the header: an error here.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                p, dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False,
                encoding="utf-8-sig", index_col=False, engine="c",
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning):
        line, found = _first_ragged_row(p, len(header))
        raise JournalError(f"{name}:{line} expected {len(header)} fields, found {found}",
                           hint="every row needs the same number of fields as the header; quote values containing commas") from None
    except UnicodeDecodeError as exc:
        raise JournalError(f"{name}: not UTF-8 text ({exc.reason})", hint="save the journal as UTF-8 CSV") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    columns = {c: frame[c].to_numpy(dtype=object) for c in frame.columns if c in JOURNAL_COLUMNS}
    # Blank lines are kept by read_csv (so line numbers stay true) and dropped here.
    if len(frame):
        blank = columns["time"] == ""
        if blank.any():
            for c in columns.values():
                blank &= c == ""
        if blank.any():
            keep = ~blank
            columns = {c: v[keep] for c, v in columns.items()}
            lines = lines[keep]
    return columns, lines


def _first_ragged_row(p: Path, width: int) -> tuple[int | str, int]:
    """(line, fields) of the first row whose field count differs from the header's."""
    with p.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row in reader:
            if row and len(row) != width:
                return reader.line_num, len(row)
    return "?", 0


def _read_jsonl_columns(p: Path, name: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    import numpy as np

    values: dict[str, list[str]] = {c: [] for c in JOURNAL_COLUMNS}
    lines: list[int] = []
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JournalError(f"{name}: not UTF-8 text ({exc.reason})", hint="save the journal as UTF-8") from None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            # Exact numbers: a JSON 718.23 becomes Decimal('718.23'), never a float.
            obj = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
        except json.JSONDecodeError as exc:
            raise JournalError(f"{name}:{lineno}: not valid JSON ({exc.msg})", hint="one JSON object per line") from None
        if not isinstance(obj, dict):
            raise JournalError(f"{name}:{lineno}: expected a JSON object, found {type(obj).__name__}",
                               hint="one JSON object per line with the journal's field names")
        for col in REQUIRED_COLUMNS:
            if col not in obj or obj[col] is None:
                raise JournalError(f"{name}:{lineno} {col}: missing", hint=f"every line needs {', '.join(REQUIRED_COLUMNS)}")
        for col in JOURNAL_COLUMNS:
            v = obj.get(col)
            values[col].append("" if v is None else (format(v, "f") if isinstance(v, Decimal) else str(v)))
        lines.append(lineno)
    return {c: _object_array(v) for c, v in values.items()}, np.array(lines, dtype=np.int64)


# ------------------------------------------------------------------- validation


@dataclass
class _Problems:
    """The bad rows found so far; the earliest (by line) becomes the error."""

    source: str
    found: list[tuple[int, str, str]] = field(default_factory=list)
    count: int = 0

    def add(self, lines: np.ndarray, mask: np.ndarray, field_name: str, describe: Any) -> None:
        import numpy as np

        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return
        self.count += int(idx.size)
        first = int(idx[np.argmin(lines[idx])])
        self.found.append((int(lines[first]), field_name, describe(first)))

    def add_one(self, line: int, field_name: str, message: str) -> None:
        self.count += 1
        self.found.append((line, field_name, message))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        line, field_name, message = min(self.found, key=lambda t: t[0])
        more = f" (and {self.count - 1} more bad value{'s' if self.count > 2 else ''})" if self.count > 1 else ""
        raise JournalError(f"{self.source}:{line} {field_name}: {message}{more}", hint=_HINTS.get(field_name))


_HINTS = {
    "time": "write ISO-8601 with a UTC offset, e.g. 2026-11-20T09:15:02+05:30",
    "side": "use BUY or SELL",
    "quantity": "quantities are positive numbers; the side says the direction",
    "price": "prices are plain numbers >= 0, like 718.25",
    "fees": "fees are plain numbers >= 0 (leave empty for none)",
    "strategy": "every fill needs the strategy that traded it",
    "symbol": "every fill needs its symbol",
}


def fills_from_text_columns(
    columns: dict[str, np.ndarray], lines: np.ndarray, *, source: str
) -> tuple[FillTable, list[str]]:
    """Validate text columns (journal field name -> object array of str) into fills.

    Shared by the CSV and JSON Lines readers and the importers. Returns the fills
    sorted by time and the warnings for dropped duplicate ``trade_id`` rows.
    """
    import numpy as np

    n = int(lines.shape[0])
    empty = _object_array([""] * n)
    col = {c: columns.get(c, empty) for c in JOURNAL_COLUMNS}
    problems = _Problems(source)

    for name in ("strategy", "symbol"):
        blank = col[name] == ""
        if blank.any():
            stripped = np.array([s.strip() for s in col[name]], dtype=object) if n else col[name]
            problems.add(lines, stripped == "", name, lambda i: "is empty")

    time_ns, tz = _parse_times(col["time"], lines, problems)
    is_buy = _parse_sides(col["side"], lines, problems)
    qty, qd, qty_bad = _parse_decimal_column(col["quantity"], lines, "quantity", problems, required=True)
    price, pd_, price_bad = _parse_decimal_column(col["price"], lines, "price", problems, required=True)
    fees, fd, fees_bad = _parse_decimal_column(col["fees"], lines, "fees", problems, required=False)
    if n:
        problems.add(lines, (qty <= 0) & ~qty_bad, "quantity", lambda i: f"{col['quantity'][i]!r} must be > 0")
        problems.add(lines, (price < 0) & ~price_bad, "price", lambda i: f"{col['price'][i]!r} must be >= 0")
        problems.add(lines, (fees < 0) & ~fees_bad, "fees", lambda i: f"{col['fees'][i]!r} must be >= 0")
    problems.raise_if_any()

    table = FillTable(
        time_ns=time_ns, strategy=col["strategy"], symbol=col["symbol"], is_buy=is_buy,
        quantity=qty, quantity_decimals=qd, price=price, price_decimals=pd_, fees=fees, fee_decimals=fd,
        order_id=col["order_id"], trade_id=col["trade_id"], line=lines, source=source, tz=tz,
    )
    table, warnings = _drop_duplicate_trade_ids(table)
    order = np.argsort(table.time_ns, kind="stable")
    if n and not bool(np.all(order == np.arange(len(order)))):
        table = table.take(order)
    return table, warnings


def _drop_duplicate_trade_ids(table: FillTable) -> tuple[FillTable, list[str]]:
    import numpy as np
    import pandas as pd

    if len(table) == 0:
        return table, []
    ids = pd.Series(table.trade_id)
    has_id = (ids != "").to_numpy()
    dup = ids.duplicated(keep="first").to_numpy() & has_id
    if not dup.any():
        return table, []
    first_line = dict(zip(ids[has_id & ~dup].tolist(), table.line[has_id & ~dup].tolist()))
    warnings: list[str] = []
    dup_idx = np.flatnonzero(dup)
    for i in dup_idx[:_MAX_DUPLICATE_WARNINGS]:
        tid = table.trade_id[i]
        where = f"{table.source}:{int(table.line[i])}" if table.line[i] else table.source or "fills"
        warnings.append(f"{where} trade_id: {tid!r} repeats line {first_line.get(tid, '?')}; row dropped")
    if dup_idx.size > _MAX_DUPLICATE_WARNINGS:
        warnings.append(f"{table.source}: {dup_idx.size - _MAX_DUPLICATE_WARNINGS} more duplicate trade_id rows dropped")
    return table.take(~dup), warnings


def _parse_sides(values: np.ndarray, lines: np.ndarray, problems: _Problems) -> np.ndarray:
    import numpy as np

    is_buy = values == "BUY"
    odd = ~(is_buy | (values == "SELL"))
    if odd.any():
        # Lenient about case and spaces ("buy ", "Sell"), strict about meaning.
        for i in np.flatnonzero(odd):
            norm = str(values[i]).strip().upper()
            if norm in SIDES:
                is_buy[i] = norm == "BUY"
                odd[i] = False
        problems.add(lines, odd, "side", lambda i: f"{values[i]!r} must be BUY or SELL")
    return is_buy


def _parse_times(values: np.ndarray, lines: np.ndarray, problems: _Problems) -> tuple[np.ndarray, tzinfo]:
    import numpy as np
    import pandas as pd

    n = values.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), UTC
    try:
        parsed = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601")
        tz = parsed.dt.tz
    except (ValueError, TypeError, OverflowError):
        tz = None
    if tz is not None:
        # Every row parsed and all share one offset: the fast path.
        ns = pd.DatetimeIndex(parsed).as_unit("ns").asi8.copy()
        fixed = _as_fixed_offset(tz, int(ns[0]))
        return ns, fixed
    # Mixed offsets, a naive time or a bad one: row by row, for exact messages.
    out = np.zeros(n, dtype=np.int64)
    offsets = set()
    for i, raw in enumerate(values):
        text = str(raw).strip()
        try:
            t = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            problems.add_one(int(lines[i]), "time", f"{raw!r} is not an ISO-8601 time" if text else "is empty")
            continue
        if t.tzinfo is None or t.utcoffset() is None:
            problems.add_one(int(lines[i]), "time", f"{raw!r} has no UTC offset")
            continue
        offsets.add(t.utcoffset())
        out[i] = _epoch_ns(t)
    return out, (timezone(offsets.pop()) if len(offsets) == 1 else UTC)


def _as_fixed_offset(tz: tzinfo, sample_ns: int) -> tzinfo:
    sample = datetime.fromtimestamp(sample_ns / 1e9, tz=UTC)
    off = sample.astimezone(tz).utcoffset()
    return timezone(off) if off is not None else UTC


def _parse_decimal_column(
    values: np.ndarray, lines: np.ndarray, name: str, problems: _Problems, *, required: bool
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
    bad = np.zeros(n, dtype=bool)
    decs = np.zeros(n, dtype=np.int64)
    digits = np.zeros(n, dtype=np.int64)
    slow = np.ones(n, dtype=bool)
    mat = None
    try:
        raw = values.astype("S")
    except (UnicodeEncodeError, ValueError):
        raw = None  # non-ASCII text somewhere: every row takes the slow path
    if raw is not None and raw.dtype.itemsize:
        width = raw.dtype.itemsize
        mat = raw.view(np.uint8).reshape(n, width)
        length = np.char.str_len(raw).astype(np.int64)
        dot_at = (mat == 46).argmax(axis=1)
        has_dot = mat[np.arange(n), dot_at] == 46
        n_dots = (mat == 46).sum(axis=1) if has_dot.any() else np.zeros(n, dtype=np.int64)
        digits = length - has_dot
        decs = np.where(has_dot, length - dot_at - 1, 0)
        slow = ~(_plain_decimal_bytes()[mat].all(axis=1) & (n_dots <= 1) & (digits >= 1) & (digits <= _INT64_DIGITS))
        if not required:
            blank = length == 0
            slow &= ~blank  # an empty optional value means 0
            raw = np.where(blank, b"0", raw)
        digits[slow] = 0
        decs[slow] = 0
    elif raw is not None and not required:
        return np.zeros(n, dtype=np.int64), 0, bad  # every value is empty: all zero
    slow_values: dict[int, tuple[int, int]] = {}
    for i in np.flatnonzero(slow):
        text = str(values[i]).strip()
        if not text:
            if required:
                problems.add_one(int(lines[i]), name, "is empty")
                bad[i] = True
            else:
                slow_values[int(i)] = (0, 0)
            continue
        try:
            d = Decimal(text)
        except InvalidOperation:
            problems.add_one(int(lines[i]), name, f"{values[i]!r} is not a number")
            bad[i] = True
            continue
        if not d.is_finite():
            problems.add_one(int(lines[i]), name, f"{values[i]!r} is not a finite number")
            bad[i] = True
            continue
        slow_values[int(i)] = decimal_to_scaled(d)
    fast = ~slow
    decimals = int(decs[fast].max()) if fast.any() else 0
    if slow_values:
        decimals = max(decimals, max(d for _, d in slow_values.values()))
    scaled_digits = np.where(fast, digits + decimals - decs, 0)
    if int(scaled_digits.max()) <= _INT64_DIGITS and all(
        len(str(abs(m))) + decimals - d <= _INT64_DIGITS for m, d in slow_values.values()
    ):
        scaled = np.zeros(n, dtype=np.int64)
        if fast.any():
            with np.errstate(invalid="ignore"):
                as_float = np.where(fast, raw, b"0").astype(np.float64)
            scaled = np.rint(as_float * float(10 ** decimals)).astype(np.int64)
            long_rows = np.flatnonzero(fast & (scaled_digits > 15))
            if long_rows.size:
                scaled[long_rows] = _accumulate_digits(mat[long_rows]) * 10 ** (decimals - decs[long_rows])
        for i, (m, d) in slow_values.items():
            scaled[i] = m * 10 ** (decimals - d)
        return scaled, decimals, bad
    # Too many digits for int64: Python integers, exact at any size.
    scaled = np.empty(n, dtype=object)
    fast_values = _accumulate_digits(mat) if (mat is not None and fast.any()) else np.zeros(n, dtype=np.int64)
    for i in range(n):
        m, d = slow_values.get(i, (0, 0)) if slow[i] else (int(fast_values[i]), int(decs[i]))
        scaled[i] = m * 10 ** (decimals - d)
    return scaled, decimals, bad


def _accumulate_digits(mat: np.ndarray) -> np.ndarray:
    """The digits of each row of an ASCII matrix as one int64 (dots and padding skipped)."""
    import numpy as np

    out = np.zeros(mat.shape[0], dtype=np.int64)
    for j in range(mat.shape[1]):
        col = mat[:, j]
        is_digit = (col >= 48) & (col <= 57)
        out = np.where(is_digit, out * 10 + (col.astype(np.int64) - 48), out)
    return out


@functools.cache
def _plain_decimal_bytes() -> np.ndarray:
    """Which byte values may appear in a plain decimal: digits, the dot, numpy's padding."""
    import numpy as np

    table = np.zeros(256, dtype=bool)
    table[ord("0"):ord("9") + 1] = True
    table[ord(".")] = True
    table[0] = True
    return table


# ------------------------------------------------------------------- numbers


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


def _scaled_column(values: Sequence[Decimal]) -> tuple[np.ndarray, int]:
    import numpy as np

    parts = [decimal_to_scaled(Decimal(v)) for v in values]
    decimals = max((d for _, d in parts), default=0)
    ints = [m * 10 ** (decimals - d) for m, d in parts]
    if all(-(10 ** _INT64_DIGITS) < v < 10 ** _INT64_DIGITS for v in ints):
        return np.array(ints, dtype=np.int64), decimals
    arr = np.empty(len(ints), dtype=object)
    arr[:] = ints
    return arr, decimals


def _object_array(values: Sequence[str]) -> np.ndarray:
    import numpy as np

    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return arr


def _epoch_ns(t: datetime) -> int:
    delta = t - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def time_from_ns(ns: int, tz: tzinfo = UTC) -> datetime:
    """UTC epoch nanoseconds -> aware datetime in ``tz`` (to the microsecond)."""
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)).astimezone(tz)


def format_time(ns: int, tz: tzinfo) -> str:
    """UTC epoch nanoseconds -> ISO-8601 in ``tz`` (microseconds only when present)."""
    t = time_from_ns(ns, tz)
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds")


# ------------------------------------------------------------------- writing


def write_journal(fills: Iterable[Fill] | FillTable, path: str | os.PathLike[str]) -> Path:
    """Write fills in the journal format, atomically (``.jsonl`` -> JSON Lines, else CSV)."""
    table = fills if isinstance(fills, FillTable) else FillTable.from_fills(list(fills))
    target = Path(path)
    rows = _journal_rows(table)
    if target.suffix.lower() in (".jsonl", ".ndjson"):
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(JOURNAL_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
    return atomic_write_text(target, text)


def _journal_rows(table: FillTable) -> list[dict[str, str]]:
    rows = []
    for i in range(len(table)):
        rows.append({
            "time": format_time(int(table.time_ns[i]), table.tz),
            "strategy": str(table.strategy[i]),
            "symbol": str(table.symbol[i]),
            "side": "BUY" if table.is_buy[i] else "SELL",
            "quantity": format_scaled(int(table.quantity[i]), table.quantity_decimals),
            "price": format_scaled(int(table.price[i]), table.price_decimals),
            "fees": format_scaled(int(table.fees[i]), table.fee_decimals),
            "order_id": text_of(table.order_id[i]),
            "trade_id": text_of(table.trade_id[i]),
        })
    return rows
