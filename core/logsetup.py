"""tradeday's own logging: stderr plus an optional file, every record scrubbed of secrets.

The file (``{logs}/{date}/tradeday.log``) is a ``LogFileHandler``: 0600, rotated by size like
logging's RotatingFileHandler, and written through core/logfile.AppendFile, so that a full disk
drops (and counts) lines instead of printing "--- Logging error ---" tracebacks on every call.
"""
from __future__ import annotations

import logging
import sys
from enum import Enum
from pathlib import Path

from core.logfile import AppendFile, Gap

DEFAULT_MAX_BYTES = 100 * 1024**2  # session.log_max_size
DEFAULT_BACKUPS = 5  # session.log_backups


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


def _quiet_about_io(handler: logging.Handler, record: logging.LogRecord) -> None:
    """handleError: an OSError of the stream (stderr closed, a full disk) is not worth a traceback
    on every later call; anything else (a wrong format string) is a bug, reported as logging does."""
    if isinstance(sys.exc_info()[1], OSError):
        return
    logging.Handler.handleError(handler, record)


class _StderrHandler(logging.StreamHandler):
    def handleError(self, record: logging.LogRecord) -> None:
        _quiet_about_io(self, record)


class LogFileHandler(logging.Handler):
    """tradeday.log: redacting, mode 0600, rotated at ``max_bytes`` (0: never) keeping ``backups``
    files (``tradeday.log.1`` ...), never raising. Each record is one write of whole lines."""

    def __init__(self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS) -> None:
        super().__init__()
        self.baseFilename = str(Path(path).resolve())  # the name logging's own file handlers use
        self.setFormatter(logging.Formatter(LOG_FORMAT))
        self.addFilter(RedactingFilter())
        self._file = AppendFile(self.baseFilename, what="tradeday.log", max_bytes=max_bytes, backups=backups,
                                gap_note=self._gap_note)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._file.write((text + "\n").encode("utf-8", errors="replace"))

    def handleError(self, record: logging.LogRecord) -> None:
        _quiet_about_io(self, record)

    def _gap_note(self, gap: Gap) -> bytes:
        record = logging.LogRecord("tradeday.disk", logging.WARNING, __file__, 0,
                                   "%d bytes / %d lines of tradeday's log dropped %s (%s)",
                                   (gap.bytes, gap.lines, gap.fault.while_text(), gap.fault.error), None)
        return (self.format(record) + "\n").encode("utf-8", errors="replace")

    def close(self) -> None:
        left = self._file.close()
        if left is not None:
            # Its own file cannot take it: the one place left is stderr (cron mails it).
            try:
                sys.stderr.write(f"tradeday: {left.bytes} bytes / {left.lines} lines of {self.baseFilename} "
                                 f"dropped {left.fault.while_text()} ({left.fault.error})\n")
            except (OSError, ValueError):
                pass
        super().close()


def setup_logging(level: str | Enum = "INFO", log_file: Path | None = None, *,
                  max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS) -> logging.Logger:
    """tradeday's own log: stderr, plus a file when given. Idempotent; a new file replaces the
    previous one (``tradeday run --forever`` moves to the next day's folder)."""
    lvl = str(level.value) if isinstance(level, Enum) else str(level).upper()
    root = logging.getLogger("tradeday")
    root.setLevel(lvl)
    root.propagate = False
    if not any(getattr(h, "_tradeday_stderr", False) for h in root.handlers):
        handler = _StderrHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT, "%H:%M:%S"))
        handler.addFilter(RedactingFilter())
        handler._tradeday_stderr = True  # type: ignore[attr-defined]  # our marker for idempotency
        root.addHandler(handler)
    if log_file is not None:
        wanted = str(log_file.resolve())
        if not any(isinstance(h, LogFileHandler) and h.baseFilename == wanted for h in root.handlers):
            for old in [h for h in root.handlers if isinstance(h, LogFileHandler)]:
                root.removeHandler(old)
                old.close()
            root.addHandler(LogFileHandler(log_file, max_bytes=max_bytes, backups=backups))
    return root


def quiet_console(level: str = "WARNING") -> None:
    """Only ``level`` and above on stderr (``--quiet``: cron mails any output, so a clean day
    must print nothing); tradeday.log still gets every record at the log level."""
    for handler in logging.getLogger("tradeday").handlers:
        if getattr(handler, "_tradeday_stderr", False):
            handler.setLevel(level)
