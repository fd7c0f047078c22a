"""Options every subcommand shares, and output helpers. Imports stay light: the heavy
modules (pydantic models, pandas) load inside the commands that need them."""
from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from core.console import err, out, print_json, print_table  # noqa: F401  (re-exported for the commands)
from core.logsetup import LOG_FORMAT, RedactingFilter, setup_logging  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from session.config import TradedayConfig


class ModeChoice(str, enum.Enum):
    paper = "paper"
    live = "live"


class LogLevel(str, enum.Enum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $TRADEDAY_CONFIG, else configs/dev.yaml)",
                 show_default=False),
]
ModeOpt = Annotated[ModeChoice | None, typer.Option("--mode", help="paper or live (paper is the default)")]
LogLevelOpt = Annotated[LogLevel, typer.Option("--log-level", help="Log level", case_sensitive=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines")]


def load(config_path: Path | None, *, record: bool = True) -> TradedayConfig:
    """Load the config for a command; print its warnings (typos) on stderr."""
    from session.config import load_config

    config = load_config(config_path, record=record)
    for warning in config.warnings:
        err(f"warning: {warning}")
    return config


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: str, option: str) -> date:
    """The one date parser of the command line: ``YYYY-MM-DD`` only, or UsageError (exit 2).

    ``date.fromisoformat`` alone would also take ``2026-W47-1`` and ``20261101``.
    """
    from core.errors import UsageError

    text = value.strip()
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: {value!r} is not a date; write it YYYY-MM-DD") from None


def step_line(step: Mapping[str, Any]) -> str:
    """``analytics  ok        1.2s  exit code 0; wrote ...``: one plain line per end-of-day step."""
    from core.redact import GLOBAL_REDACTOR

    duration = step.get("duration_s")
    took = f"{duration:.1f}s" if isinstance(duration, (int, float)) else "-"
    earlier = " (recorded by the run)" if step.get("earlier") else ""
    return GLOBAL_REDACTOR(f"{step['name']:<10} {step['status']:<8} {took:>7}  {step.get('message') or ''}{earlier}")
