"""Writing a journal: CSV or JSON Lines, atomically, numbers in plain exact text."""
from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path

from core.fileperms import make_folders
from core.fsutil import atomic_write_text
from reports.journal.model import JOURNAL_COLUMNS, Fill, FillTable, text_of
from reports.journal.scaled import format_scaled
from reports.journal.times import format_time


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
    make_folders(target.parent)  # 0700 whatever the umask (core/fileperms.py); the file is 0600
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
