"""Options every subcommand shares, and output helpers. Imports stay light: the heavy
modules (pydantic models, pandas) load inside the commands that need them."""
from __future__ import annotations

import enum
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

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
    Optional[Path],
    typer.Option("--config", "-c", help="Config file (default: $TRADEDAY_CONFIG, else configs/dev.yaml)",
                 show_default=False),
]
ModeOpt = Annotated[Optional[ModeChoice], typer.Option("--mode", help="paper or live (paper is the default)")]
LogLevelOpt = Annotated[LogLevel, typer.Option("--log-level", help="Log level", case_sensitive=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines")]


class RedactingFilter(logging.Filter):
    """Scrubs registered secret values from every log record before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        from session.redact import GLOBAL_REDACTOR

        if GLOBAL_REDACTOR:
            msg = record.getMessage()
            clean = GLOBAL_REDACTOR(msg)
            if clean != msg or record.args:
                record.msg, record.args = clean, None
        return True


LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: str | LogLevel = "INFO", log_file: Path | None = None) -> logging.Logger:
    """tradeday's own log: stderr, plus a file when given. Idempotent."""
    lvl = level.value if isinstance(level, LogLevel) else str(level).upper()
    root = logging.getLogger("tradeday")
    root.setLevel(lvl)
    root.propagate = False
    if not any(getattr(h, "_tradeday_stderr", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT, "%H:%M:%S"))
        handler.addFilter(RedactingFilter())
        handler._tradeday_stderr = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    if log_file is not None and not any(getattr(h, "baseFilename", None) == str(log_file.resolve())
                                        for h in root.handlers):
        log_file.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
        fh.addFilter(RedactingFilter())
        root.addHandler(fh)
    return root


def load(config_path: Path | None, *, record: bool = True) -> "TradedayConfig":
    """Load the config for a command; print its warnings (typos) on stderr."""
    from session.config import load_config

    config = load_config(config_path, record=record)
    for warning in config.warnings:
        err(f"warning: {warning}")
    return config


def err(text: str) -> None:
    from session.redact import GLOBAL_REDACTOR

    sys.stderr.write(GLOBAL_REDACTOR(text) + "\n")
    sys.stderr.flush()


def out(text: str) -> None:
    sys.stdout.write(text + "\n")


def print_json(data: Any) -> None:
    import json

    from session.redact import GLOBAL_REDACTOR

    out(GLOBAL_REDACTOR(json.dumps(data, indent=2, ensure_ascii=False, default=str)))


def print_table(title: str | None, columns: list[str], rows: list[list[str]],
                styles: list[str | None] | None = None) -> None:
    """A rich table on a terminal; plain aligned columns otherwise (cron mail, pipes)."""
    from session.redact import GLOBAL_REDACTOR

    rows = [[GLOBAL_REDACTOR(str(c)) for c in row] for row in rows]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title)
        for col in columns:
            table.add_column(col, overflow="fold")
        for i, row in enumerate(rows):
            # Text(), not str: rich parses strings as markup, and messages carry user and
            # engine text ("[/tag]" would raise MarkupError or vanish).
            table.add_row(*(Text(c) for c in row), style=(styles[i] if styles else None))
        Console().print(table, highlight=False)
        return
    widths = [max(len(columns[i]), *(len(r[i]) for r in rows)) if rows else len(columns[i])
              for i in range(len(columns))]
    if title:
        out(title)
    out("  ".join(c.ljust(widths[i]) for i, c in enumerate(columns)).rstrip())
    for row in rows:
        out("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
