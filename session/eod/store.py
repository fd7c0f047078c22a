"""Daily reports and journals on disk: reading a report (or its side file), finding earlier
ones, the dates with data."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EodError
from session.eod.paths import daily_report_path

if TYPE_CHECKING:
    from reports.pnl import LotBook
    from session.config import TradedayConfig

# Earlier daily reports searched for open positions to carry (holiday weeks included).
CARRY_LOOKBACK_DAYS = 10

_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})(\.kite)?\.(csv|jsonl)$")
_REPORT_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json$")


def read_json_report(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EodError(f"{path}:{exc.lineno} is not valid JSON: {exc.msg}",
                       hint=f"regenerate it with tradeday report {path.stem}, or pass --no-carry") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EodError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith("tradeday.daily/"):
        raise EodError(f"{path}: not a tradeday daily report (schema tradeday.daily/1)",
                       hint="move the file out of the reports folder")
    return doc


def find_previous_report(config: TradedayConfig, day: date,
                         lookback_days: int = CARRY_LOOKBACK_DAYS) -> tuple[date, Path] | None:
    """The latest daily JSON report before ``day``, at most ``lookback_days`` earlier."""
    for back in range(1, lookback_days + 1):
        d = day - timedelta(days=back)
        p = daily_report_path(config, d)
        if p.is_file():
            return d, p
    return None


def latest_report_before(config: TradedayConfig, day: date) -> tuple[date, Path] | None:
    earlier = [d for d in report_dates(config) if d < day]
    return (max(earlier), daily_report_path(config, max(earlier))) if earlier else None


def _dates_in(folder: Path, pattern: re.Pattern[str]) -> set[date]:
    found: set[date] = set()
    try:
        names = [p.name for p in folder.iterdir()]
    except OSError:
        return found
    for name in names:
        m = pattern.match(name)
        if m:
            try:
                found.add(date.fromisoformat(m.group(1)))
            except ValueError:
                continue
    return found


def journal_dates(config: TradedayConfig) -> set[date]:
    """Dates with an engine journal or saved broker fills."""
    return _dates_in(config.journal_dir, _DAY_FILE)


def report_dates(config: TradedayConfig) -> set[date]:
    return _dates_in(config.reports_dir / "daily", _REPORT_FILE)


def latest_data_date(config: TradedayConfig, *, until: date | None = None) -> date | None:
    """The latest date with a journal or a daily report (``tradeday report`` without DATE),
    not after ``until`` (the market's today: a file dated later is not a day that happened)."""
    dates = {d for d in journal_dates(config) | report_dates(config) if until is None or d <= until}
    return max(dates) if dates else None


# ----------------------------------------------------------------- the side file of a daily report
#
# ``{date}.meta`` beside ``{date}.json``, written in the same file set: what a regeneration
# keeps from the report it replaces (mode, summary, session and step records) and the open
# lots the next day opens with, as columns. Reading it instead of the report keeps a
# regeneration from loading a 100 MB document, and a report range from parsing every lot of
# the day before. It belongs to the report whose ``generated_at`` it names; a report without
# one (written before it existed), or whose head names another time, is read whole instead.

META_SCHEMA = "tradeday.daily-meta/1"
_GENERATED_AT = re.compile(rb'"generated_at":\s*"([^"]*)"')
_HEAD_BYTES = 64 * 1024


def report_meta_path(json_path: Path) -> Path:
    return json_path.with_name(f"{json_path.stem}.meta")  # not *.json: globs for reports must not see it


def meta_bytes(doc: Mapping[str, Any], book: LotBook | None) -> bytes:
    """The side file of ``doc`` (with the open lots of ``book``; none without it)."""
    import orjson

    from reports.pnl import LotBook
    from reports.pnl.lots import book_columns

    meta = {
        "schema": META_SCHEMA, "date": doc.get("date"), "generated_at": doc.get("generated_at"),
        "mode": doc.get("mode"), "summary": doc.get("summary"), "session": doc.get("session"),
        "steps": doc.get("steps"), "carry": book_columns(book if book is not None else LotBook.empty()),
    }
    return orjson.dumps(meta, option=orjson.OPT_SERIALIZE_NUMPY)


def _read_meta(json_path: Path, *, carry: bool = True) -> dict[str, Any] | None:
    """The report's side file, or None when it is missing, damaged or another report's
    (without ``carry``: its records only, the lot columns not parsed)."""
    import orjson

    try:
        raw = report_meta_path(json_path).read_bytes()
        meta = _records_only(raw) if not carry else None
        if meta is None:
            meta = orjson.loads(raw)
        with json_path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except (OSError, orjson.JSONDecodeError):
        return None
    found = _GENERATED_AT.search(head)
    if (not isinstance(meta, dict) or meta.get("schema") != META_SCHEMA or found is None
            or found.group(1).decode("utf-8", "replace") != meta.get("generated_at")):
        return None
    return meta


def _records_only(raw: bytes) -> dict[str, Any] | None:
    """The side file without its last key, ``carry`` (most of its bytes: a column per lot field),
    which a regeneration does not need; None when it does not end with that key. ``meta_bytes``
    writes it last, and its text cannot occur elsewhere: a quote inside a JSON string is escaped,
    and no key inside the carry columns is named so."""
    import orjson

    at = raw.rfind(b',"carry":')
    if at < 0:
        return None
    try:
        head = orjson.loads(raw[:at] + b"}")
    except orjson.JSONDecodeError:
        return None
    return head if isinstance(head, dict) else None


def read_earlier_record(json_path: Path) -> dict[str, Any]:
    """What a regeneration keeps from the report it replaces: ``mode``, ``summary``,
    ``session``, ``steps`` (from the side file; the whole report when there is none)."""
    meta = _read_meta(json_path, carry=False)
    if meta is not None and all(k in meta for k in ("mode", "summary", "session", "steps")):
        return {k: meta[k] for k in ("mode", "summary", "session", "steps")}
    return read_json_report(json_path)


def read_carry(json_path: Path, *, source: str) -> LotBook:
    """The open lots a report hands the next day (side file, else the report's open_positions;
    EodError naming ``source`` and the field for a damaged report)."""
    from reports.pnl import LotBook, opening_positions_from_report
    from reports.pnl.lots import book_from_columns

    meta = _read_meta(json_path)
    book = book_from_columns(meta.get("carry")) if meta is not None else None
    if book is not None:
        return book
    positions = opening_positions_from_report(read_json_report(json_path), carry=True, source=source)
    return LotBook.from_positions(positions)
