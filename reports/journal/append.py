"""Appending one fill to the day's journal, from an engine (docs/ENGINE.md section 4).

Several engines append to one file, so every fill is one whole line written with one
``write``, under an exclusive ``flock`` held while checking whether the file is empty (for
the header) and appending: two engines never interleave lines or both write the header.
Windows has no ``flock``; there the single ``O_APPEND`` write is what keeps lines whole.

The fill is checked (:class:`Fill`) before anything is written, so a bad fill raises
``ValueError`` and leaves the journal as it was. Numbers are written as exact decimal text.
"""
from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.fileperms import file_mode, make_folders
from reports.journal.model import JOURNAL_COLUMNS, Fill

JOURNAL_ENV_VAR = "TRADEDAY_JOURNAL"

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover -- Windows
    fcntl = None  # type: ignore[assignment]


def append_fill(fill: Fill | Mapping[str, Any], path: str | os.PathLike[str] | None = None) -> Path:
    """Append ``fill`` to the journal at ``path`` (default: ``$TRADEDAY_JOURNAL``, which
    tradeday gives every engine). ``fill`` is a :class:`Fill` or a mapping with the journal's
    field names (``time`` a tz-aware datetime or ISO-8601 text with a UTC offset). A ``.jsonl``
    journal gets a JSON line, any other a CSV row (the header first when the file is new).
    Returns the journal's path."""
    target = _journal_path(path)
    record = fill if isinstance(fill, Fill) else fill_from_mapping(fill)
    row = _row(record)
    jsonl = target.suffix.lower() in (".jsonl", ".ndjson")
    make_folders(target.parent)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, file_mode())
    try:
        if sys.platform != "win32" and fcntl is not None:  # Windows appends without a lock (O_APPEND)
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by close()
        new = os.fstat(fd).st_size == 0
        data = (json.dumps(row, ensure_ascii=False) + "\n") if jsonl else _csv_text(row, header=new)
        os.write(fd, data.encode("utf-8"))
    finally:
        os.close(fd)
    return target


def fill_from_mapping(values: Mapping[str, Any]) -> Fill:
    """A checked :class:`Fill` from a mapping with the journal's field names (ValueError naming
    the field when one is missing or wrong)."""
    unknown = sorted(set(values) - set(JOURNAL_COLUMNS))
    if unknown:
        raise ValueError(f"unknown journal field(s) {', '.join(unknown)}; the fields are {', '.join(JOURNAL_COLUMNS)}")
    missing = [c for c in ("time", "strategy", "symbol", "side", "quantity", "price") if values.get(c) in (None, "")]
    if missing:
        raise ValueError(f"fill: missing {', '.join(missing)}")
    when = values["time"]
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError:
            raise ValueError(f"fill time {when!r} is not ISO-8601 (e.g. 2026-11-20T09:17:03+05:30)") from None
    if not isinstance(when, datetime):
        raise ValueError(f"fill time must be a datetime or ISO-8601 text, not {type(when).__name__}")
    return Fill(
        time=when, strategy=str(values["strategy"]), symbol=str(values["symbol"]),
        side=str(values["side"]).upper(), quantity=_decimal(values["quantity"], "quantity"),
        price=_decimal(values["price"], "price"), fees=_decimal(values.get("fees") or 0, "fees"),
        order_id=str(values.get("order_id") or ""), trade_id=str(values.get("trade_id") or ""),
    )


def _journal_path(path: str | os.PathLike[str] | None) -> Path:
    if path is not None:
        return Path(path)
    env = os.environ.get(JOURNAL_ENV_VAR, "").strip()
    if not env:
        raise ValueError(f"no journal path: pass one, or run under tradeday (it sets ${JOURNAL_ENV_VAR})")
    return Path(env)


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)  # 0.1 -> "0.1": the digits the engine printed, not the binary float
    try:
        return Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError(f"fill {name} {value!r} is not a number") from None


def _row(fill: Fill) -> dict[str, str]:
    return {
        "time": fill.time.isoformat(),
        "strategy": fill.strategy,
        "symbol": fill.symbol,
        "side": fill.side,
        "quantity": format(fill.quantity, "f"),
        "price": format(fill.price, "f"),
        "fees": format(fill.fees, "f"),
        "order_id": fill.order_id,
        "trade_id": fill.trade_id,
    }


def _csv_text(row: dict[str, str], *, header: bool) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(JOURNAL_COLUMNS), lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerow(row)
    return buf.getvalue()
