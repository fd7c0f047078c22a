"""Daily reports and journals on disk: reading a report, finding earlier ones, the dates with data."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EodError
from session.eod.paths import daily_report_path

if TYPE_CHECKING:
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
