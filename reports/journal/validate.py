"""Validation: text columns (from any reader or importer) into a checked, time-ordered FillTable."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING

from reports.journal.decimal_column import parse_decimal_column
from reports.journal.model import JOURNAL_COLUMNS, SIDES, FillTable
from reports.journal.problems import Problems
from reports.journal.scaled import object_array
from reports.journal.times import FIRST_YEAR, LAST_YEAR, common_tz, epoch_ns, time_problem

if TYPE_CHECKING:  # numpy is imported lazily: the CLI must start fast.
    import numpy as np

MAX_DUPLICATE_WARNINGS = 20


def fills_from_text_columns(
    columns: dict[str, np.ndarray], lines: np.ndarray, *, source: str
) -> tuple[FillTable, list[str]]:
    """Validate text columns (journal field name -> object array of str) into fills.

    Shared by the CSV and JSON Lines readers and the importers. Returns the fills
    sorted by time and the warnings for dropped duplicate ``trade_id`` rows.
    """
    import numpy as np

    n = int(lines.shape[0])
    empty = object_array([""] * n)
    col = {c: columns.get(c, empty) for c in JOURNAL_COLUMNS}
    problems = Problems(source)

    for name in ("strategy", "symbol"):
        blank = col[name] == ""
        if blank.any():
            stripped = np.array([s.strip() for s in col[name]], dtype=object) if n else col[name]
            problems.add(lines, stripped == "", name, lambda i: "is empty")

    time_ns, tz = _parse_times(col["time"], lines, problems)
    is_buy = _parse_sides(col["side"], lines, problems)
    qty, qd, qty_bad = parse_decimal_column(col["quantity"], lines, "quantity", problems, required=True)
    price, pd_, price_bad = parse_decimal_column(col["price"], lines, "price", problems, required=True)
    fees, fd, fees_bad = parse_decimal_column(col["fees"], lines, "fees", problems, required=False)
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
    first_line = dict(zip(ids[has_id & ~dup].tolist(), table.line[has_id & ~dup].tolist(), strict=True))
    warnings: list[str] = []
    dup_idx = np.flatnonzero(dup)
    for i in dup_idx[:MAX_DUPLICATE_WARNINGS]:
        tid = table.trade_id[i]
        where = f"{table.source}:{int(table.line[i])}" if table.line[i] else table.source or "fills"
        warnings.append(f"{where} trade_id: {tid!r} repeats line {first_line.get(tid, '?')}; row dropped")
    if dup_idx.size > MAX_DUPLICATE_WARNINGS:
        warnings.append(f"{table.source}: {dup_idx.size - MAX_DUPLICATE_WARNINGS} more duplicate trade_id rows dropped")
    return table.take(~dup), warnings


def _parse_sides(values: np.ndarray, lines: np.ndarray, problems: Problems) -> np.ndarray:
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


def _parse_times(values: np.ndarray, lines: np.ndarray, problems: Problems) -> tuple[np.ndarray, tzinfo]:
    import numpy as np
    import pandas as pd

    n = values.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), UTC
    try:
        parsed = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601")
        tz = parsed.dt.tz
        years = parsed.dt.year
        if tz is not None and bool(((years < FIRST_YEAR) | (years > LAST_YEAR)).any()):
            tz = None  # the row-by-row path below names the time
    except (ValueError, TypeError, OverflowError):
        tz = None
    if tz is not None:
        # Every row parsed and all share one offset: the fast path.
        ns = pd.DatetimeIndex(parsed).as_unit("ns").asi8.copy()
        fixed = _as_fixed_offset(tz, int(ns[0]))
        return ns, fixed
    # Mixed offsets, a naive time or a bad one: row by row, for exact messages.
    out = np.zeros(n, dtype=np.int64)
    offsets: set[timedelta] = set()
    for i, raw in enumerate(values):
        text = str(raw).strip()
        try:
            t = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            problems.add_one(int(lines[i]), "time", f"{raw!r} is not an ISO-8601 time" if text else "is empty")
            continue
        offset = t.utcoffset()
        if t.tzinfo is None or offset is None:
            problems.add_one(int(lines[i]), "time", f"{raw!r} has no UTC offset")
            continue
        problem = time_problem(t)
        if problem is not None:
            problems.add_one(int(lines[i]), "time", f"{raw!r} {problem}")
            continue
        offsets.add(offset)
        out[i] = epoch_ns(t)
    return out, common_tz(offsets)


def _as_fixed_offset(tz: tzinfo, sample_ns: int) -> tzinfo:
    sample = datetime.fromtimestamp(sample_ns / 1e9, tz=UTC)
    off = sample.astimezone(tz).utcoffset()
    return timezone(off) if off is not None else UTC
