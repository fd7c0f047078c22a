"""Reading a journal file: the fast plain-CSV path, else the general CSV or JSON Lines reader."""
from __future__ import annotations

import csv
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from reports.journal.fastcsv import read_plain_csv
from reports.journal.model import JOURNAL_COLUMNS, REQUIRED_COLUMNS, JournalError, LoadedJournal
from reports.journal.scaled import object_array
from reports.journal.validate import fills_from_text_columns

if TYPE_CHECKING:  # numpy is imported lazily: the CLI must start fast.
    import numpy as np


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
        fast = read_plain_csv(p, name)
        if fast is not None:
            return LoadedJournal(path=p, fills=fast[0], warnings=fast[1])
        columns, lines = _read_csv_columns(p, name)
    table, warnings = fills_from_text_columns(columns, lines, source=name)
    return LoadedJournal(path=p, fills=table, warnings=warnings)


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
            # str(), not format(v, "f"): 1e999999999 must not be written out as 10**9 digits.
            values[col].append("" if v is None else str(v))
        lines.append(lineno)
    return {c: object_array(v) for c, v in values.items()}, np.array(lines, dtype=np.int64)
