"""tradeday's own logging: stderr plus an optional file, every record scrubbed of secrets."""
from __future__ import annotations

import logging
import sys
from enum import Enum
from pathlib import Path


class RedactingFilter(logging.Filter):
    """Scrubs registered secret values from every log record before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        from core.redact import GLOBAL_REDACTOR

        if GLOBAL_REDACTOR:
            msg = record.getMessage()
            clean = GLOBAL_REDACTOR(msg)
            if clean != msg or record.args:
                record.msg, record.args = clean, None
        return True


LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: str | Enum = "INFO", log_file: Path | None = None) -> logging.Logger:
    """tradeday's own log: stderr, plus a file when given. Idempotent."""
    lvl = str(level.value) if isinstance(level, Enum) else str(level).upper()
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


