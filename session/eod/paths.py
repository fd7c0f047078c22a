"""Where the end of day's files are: hook outputs, saved broker fills, reports, step logs."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from session.config import TradedayConfig


def analytics_output_path(config: TradedayConfig, day: date) -> Path:
    return config.artifacts_dir / "analytics" / "daily" / f"{day.isoformat()}.json"


def backtest_output_path(config: TradedayConfig, day: date) -> Path:
    return config.artifacts_dir / "backtests" / "daily" / f"{day.isoformat()}.json"


def broker_journal_path(config: TradedayConfig, day: date) -> Path:
    """The broker's fills in the journal format; never the engine's own journal."""
    return config.journal_dir / f"{day.isoformat()}.kite.csv"


def daily_report_path(config: TradedayConfig, day: date) -> Path:
    return config.reports_dir / "daily" / f"{day.isoformat()}.json"


def step_log_path(config: TradedayConfig, day: date, name: str) -> Path:
    return config.logs_dir / day.isoformat() / f"eod-{name}.log"


def show_path(config: TradedayConfig, path: Path) -> str:
    """A path for messages: relative to the config's root when inside it (shorter, no home dir)."""
    try:
        return str(path.relative_to(config.root_dir))
    except ValueError:
        return str(path)
