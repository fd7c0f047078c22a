"""tradeday's own logging: stderr plus an optional file, every record scrubbed of secrets.

Times: one convention everywhere tradeday prints or logs a moment (and engine logs, see
session/streaming.py): the market's time with its UTC offset, ISO-8601. ``tradeday.log`` stamps
each line ``2026-11-20T09:15:01.123+05:30``, the console ``09:15:01+05:30`` (the same stamp
without the date and the milliseconds); messages name moments as ``09:10:00+05:30`` (``clock``).
Until a config names the market, the machine's own zone (with its offset) stands in.

The file (``{logs}/{date}/tradeday.log``) is a ``LogFileHandler``: 0600, rotated by size like
logging's RotatingFileHandler, and written through core/logfile.AppendFile, so that a full disk
drops (and counts) lines instead of printing "--- Logging error ---" tracebacks on every call.
"""
from __future__ import annotations

import logging
import os
import sys
from datetime import datetime, timedelta, tzinfo
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

_market_tz: tzinfo | None = None  # the market's zone, once known (set_market_timezone)


def set_market_timezone(tz: tzinfo | None) -> None:
    """Stamp log lines (and ``clock``) in the market's zone from now on."""
    global _market_tz
    _market_tz = tz


def market_timezone() -> tzinfo | None:
    return _market_tz


def _offset(delta: timedelta | None) -> str:
    minutes = int(delta.total_seconds()) // 60 if delta is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def clock(moment: datetime | None, tz: tzinfo | None = None, *, date: bool = False) -> str:
    """A moment as the console shows it: ``09:10:00+05:30`` in ``tz`` (default: the market's),
    ``2026-11-20T09:10:00+05:30`` with ``date``. Whole seconds; None is ``—``."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz or _market_tz)
    text = local.strftime("%Y-%m-%dT%H:%M:%S" if date else "%H:%M:%S")
    return text + _offset(local.utcoffset())


class MarketTimeFormatter(logging.Formatter):
    """Stamps records in the market's time with the offset: ``2026-11-20T09:15:01.123+05:30`` (file)
    or ``09:15:01+05:30`` (console, ``short``). On a terminal, WARNING and worse are coloured."""

    _COLOURS = {logging.WARNING: "33", logging.ERROR: "31", logging.CRITICAL: "1;31"}

    def __init__(self, *, short: bool = False, colour: bool = False) -> None:
        super().__init__(LOG_FORMAT)
        self.short = short
        self.colour = colour

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        local = datetime.fromtimestamp(record.created, _market_tz).astimezone(_market_tz)
        if self.short:
            return local.strftime("%H:%M:%S") + _offset(local.utcoffset())
        return f"{local:%Y-%m-%dT%H:%M:%S}.{int(record.msecs):03d}{_offset(local.utcoffset())}"

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        code = self._COLOURS.get(record.levelno) if self.colour else None
        return f"\x1b[{code}m{text}\x1b[0m" if code else text


def colour_wanted(stream: object) -> bool:
    """Colour on a terminal, unless NO_COLOR is set or TERM is dumb (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _quiet_about_io(handler: logging.Handler, record: logging.LogRecord) -> None:
    """handleError: an OSError of the stream (stderr closed, a full disk) is not worth a traceback
    on every later call; anything else (a wrong format string) is a bug, reported as logging does."""
    if isinstance(sys.exc_info()[1], OSError):
        return
    logging.Handler.handleError(handler, record)


class _StderrHandler(logging.StreamHandler):
    """stderr as it is when a record is written (not as it was at set-up): a live console line
    (rich, while ``tradeday run`` counts down) replaces sys.stderr to print above itself."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        _quiet_about_io(self, record)


class LogFileHandler(logging.Handler):
    """tradeday.log: redacting, mode 0600, rotated at ``max_bytes`` (0: never) keeping ``backups``
    files (``tradeday.log.1`` ...), never raising. Each record is one write of whole lines."""

    def __init__(self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS) -> None:
        super().__init__()
        self.baseFilename = str(Path(path).resolve())  # the name logging's own file handlers use
        self.setFormatter(MarketTimeFormatter())
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
                  max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS,
                  tz: tzinfo | None = None) -> logging.Logger:
    """tradeday's own log: stderr, plus a file when given. Idempotent; a new file replaces the
    previous one (``tradeday run --forever`` moves to the next day's folder). ``tz``: the
    market's zone, for the stamps (see the module docstring)."""
    if tz is not None:
        set_market_timezone(tz)
    lvl = str(level.value) if isinstance(level, Enum) else str(level).upper()
    root = logging.getLogger("tradeday")
    root.setLevel(lvl)
    root.propagate = False
    if not any(getattr(h, "_tradeday_stderr", False) for h in root.handlers):
        handler = _StderrHandler(sys.stderr)
        handler.setFormatter(MarketTimeFormatter(short=True, colour=colour_wanted(sys.stderr)))
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


class _ProgressShownElsewhere(logging.Filter):
    """A terminal console that shows the run's progress in its own lines: below WARNING, only the
    loggers in ``keep`` (the engines' starts and stops) still reach stderr."""

    def __init__(self, keep: tuple[str, ...]) -> None:
        super().__init__()
        self.keep = keep

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.startswith(self.keep)


def console_shows_progress(keep: tuple[str, ...] = ("tradeday.engine",)) -> None:
    """``tradeday run`` on a terminal: its console says what the INFO lines would (prechecks,
    waiting, the end of day), so stderr keeps WARNING and worse (and ``keep``'s INFO lines);
    tradeday.log still gets every record."""
    for handler in logging.getLogger("tradeday").handlers:
        if getattr(handler, "_tradeday_stderr", False):
            if not any(isinstance(f, _ProgressShownElsewhere) for f in handler.filters):
                handler.addFilter(_ProgressShownElsewhere(keep))
