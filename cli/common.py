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
def _mode_choice(value: str | ModeChoice) -> ModeChoice:
    """--mode, with the modes and the closest one named when it is mistyped."""
    if isinstance(value, ModeChoice):
        return value
    try:
        return ModeChoice(value)
    except ValueError:
        from core.suggest import close_matches

        near = close_matches(value, [m.value for m in ModeChoice], ignore_case=True)
        raise typer.BadParameter(f"{value!r} is not one of paper, live"
                                 + (f"; did you mean {near[0]}?" if near else "")) from None


ModeOpt = Annotated[ModeChoice | None, typer.Option("--mode", help="paper or live (paper is the default)",
                                                    parser=_mode_choice, metavar="paper|live")]


def _apply_log_level(ctx: typer.Context, value: LogLevel) -> LogLevel:
    """--log-level takes effect as it is parsed, so that every command honours it, including
    those whose body never mentions logging (README: every command takes it)."""
    if not ctx.resilient_parsing:  # shell completion parses without running anything
        import logging

        setup_logging(value)
        logging.getLogger("tradeday.cli").debug("%s: log level %s", ctx.command_path, value.value)
    return value


LogLevelOpt = Annotated[LogLevel, typer.Option("--log-level", help="Log level", case_sensitive=False,
                                               callback=_apply_log_level)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines")]


def load(config_path: Path | None, *, record: bool = False, snapshot: bool = False) -> TradedayConfig:
    """Load the config for a command; print its warnings (typos) on stderr.

    Loading writes nothing. ``record=True`` also keeps the version in the config history
    where it can; when it cannot, that is one more warning line, never an error.
    ``snapshot=True`` (status): the validated values from the user's cache when the file and
    its environment are unchanged (session/config/snapshot.py), without pydantic.
    """
    if snapshot:
        from session.config.snapshot import load_config_cached as load_config
    else:
        from session.config import load_config

    config = load_config(config_path)
    _stamp_in_market_time(config)
    for warning in config.warnings:
        err(f"warning: {warning}")
    from session.file_policy import apply_file_policy

    for warning in apply_file_policy(config):  # paths.group; nothing without it
        err(f"warning: {warning}")
    if record:
        from session.config import record_history

        problem = record_history(config)
        if problem:
            err(f"warning: {problem}")
    return config


def _stamp_in_market_time(config: TradedayConfig) -> None:
    """Log lines in the market's time from here on (core/logsetup.py), when the zone is known
    without pandas (a `market.timezone`, or a first-class calendar); else the run sets it."""
    from zoneinfo import ZoneInfo

    from core.logsetup import set_market_timezone
    from session.calendar.zones import FIRST_CLASS

    known = FIRST_CLASS.get(str(config.market.calendar).lower())
    name = config.market.timezone or (known.zone if known else None)
    if name:
        set_market_timezone(ZoneInfo(name))


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits: \d would also match ２ or ٢


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
