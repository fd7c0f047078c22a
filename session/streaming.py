"""Stream an engine's stdout/stderr, as it comes, to the console and to its log file.

Design (measured in bench/bench_streaming.py):

* One reader thread per pipe reads raw chunks with ``os.read`` (never byte by byte) and
  handles the complete lines of a chunk in bulk with C-speed ``bytes`` operations: the
  console prefix ``[engine] `` and the log timestamp are inserted with ``bytes.replace``,
  so a flood costs a few operations per 64 KiB chunk, not per line. Lines read in one
  chunk share the timestamp of that read (they arrived together).
* Each processed chunk is one ``write`` to the log file (unbuffered, like ``tee``) and one
  to the console, so a crash loses nothing already read and ``tail -f`` is prompt; there
  is no user-space log buffer to flush. The log file (core/logfile.py) rotates by size and
  never raises: on a full disk its lines are dropped and counted while the pipes keep being
  drained and the console keeps going (a reader that stopped reading would block the
  engine; one that closed its pipe would kill it with EPIPE).
* Memory is bounded whatever the engine prints: a read never asks for more than
  ``MAX_LINE_BYTES + 1`` bytes minus the pending partial line, so a line longer than
  ``MAX_LINE_BYTES`` is split into pieces of that size and nothing grows without limit.
* The log keeps the engine's bytes as they are (invalid UTF-8 included); only the console
  copy is decoded with ``errors="replace"``.
* Never rich or print(): binary writes only.
"""
from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import BinaryIO

from core.diskfaults import DISK_FAULTS, RETRY_SECONDS, DiskFaults
from core.logfile import AppendFile, Gap

MAX_LINE_BYTES = 64 * 1024
# How long a reader waits for data before it looks at its stop flag again.
_POLL_SECONDS = 0.2
# Once told to stop (the engine's processes are gone), a reader drains at most this much
# more: an escaped process that keeps writing must not keep tradeday reading forever.
_DRAIN_LIMIT_BYTES = 4 * 1024 * 1024

LineCallback = Callable[[str, bytes], bool]

_log = logging.getLogger("tradeday.streaming")


def _format_offset(offset: timedelta | None) -> str:
    if offset is None:
        return "+00:00"
    total_minutes = int(offset.total_seconds()) // 60
    sign = "+" if total_minutes >= 0 else "-"
    hours, minutes = divmod(abs(total_minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


class TimestampFormatter:
    """``2026-11-20T09:15:01.123+05:30 `` prefixes, cheap: the part up to the second is cached."""

    def __init__(self, tz: tzinfo | None = None) -> None:
        self._tz = tz
        # (whole second, b"YYYY-MM-DDTHH:MM:SS", b"+05:30 ") replaced as one tuple so
        # concurrent readers never see a half-updated cache.
        self._cache: tuple[int, bytes, bytes] = (-1, b"", b"")

    def prefix(self, now: float | None = None) -> bytes:
        t = time.time() if now is None else now
        second = int(t // 1)
        cache = self._cache
        if cache[0] != second:
            moment = datetime.fromtimestamp(second, self._tz).astimezone(self._tz)
            cache = (
                second,
                moment.strftime("%Y-%m-%dT%H:%M:%S").encode("ascii"),
                (_format_offset(moment.utcoffset()) + " ").encode("ascii"),
            )
            self._cache = cache
        millis = int((t - second) * 1000)
        return b"%s.%03d%s" % (cache[1], millis, cache[2])


class ConsoleWriter:
    """The console shared by all engines: one lock, whole chunks, never interleaved mid-line."""

    def __init__(self, stream: BinaryIO | None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.broken = False

    @property
    def enabled(self) -> bool:
        return self._stream is not None and not self.broken

    def write(self, data: bytes) -> None:
        if not data or self._stream is None or self.broken:
            return
        with self._lock:
            try:
                self._stream.write(data)
                self._stream.flush()
            except (BrokenPipeError, ValueError, OSError) as exc:
                # e.g. `tradeday run | head`: keep supervising and logging, stop echoing.
                self.broken = True
                _log.warning("console output disabled: %s", exc)


def console_safe(data: bytes) -> bytes:
    """Valid UTF-8 unchanged; otherwise invalid sequences replaced (U+FFFD)."""
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace").encode("utf-8")


class EngineLog:
    """An engine's log file: timestamped lines, appended with one unbuffered write per chunk.

    Shared by the engine's stdout and stderr readers and the supervisor's own notes; the file
    (core/logfile.AppendFile) takes a lock, so each write holds whole lines. It rotates at
    ``max_bytes`` (0: never) keeping ``backups`` old files, and it never raises: on a full
    disk the lines are dropped and counted, and the first write that works again is preceded
    by a note of the gap.
    """

    def __init__(self, path: Path, timestamps: TimestampFormatter, *, max_bytes: int = 0, backups: int = 0,
                 name: str | None = None, faults: DiskFaults = DISK_FAULTS, retry_seconds: float = RETRY_SECONDS,
                 ) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        self._timestamps = timestamps
        # 0o600 (AppendFile): engine logs can carry account ids and order details.
        self._file = AppendFile(self.path, what=f"the engine log of {self.name}", max_bytes=max_bytes,
                                backups=backups, gap_note=self._gap_note, faults=faults, retry_seconds=retry_seconds)

    def write_lines(self, complete: bytes, now: float | None = None) -> None:
        """``complete`` is one or more lines, each ending with ``\\n``."""
        if not complete:
            return
        stamp = self._timestamps.prefix(now)
        self._file.write(stamp + complete[:-1].replace(b"\n", b"\n" + stamp) + b"\n")

    def note(self, text: str) -> None:
        """tradeday's own line in the engine log (start, exit, restart), marked ``### tradeday:``."""
        self.write_lines(f"### tradeday: {text}\n".encode("utf-8", errors="replace"))

    def _gap_note(self, gap: Gap) -> bytes:
        since = self._timestamps.prefix(gap.since).decode("ascii").strip()
        return self._timestamps.prefix() + (
            f"### tradeday: {gap.bytes} bytes / {gap.lines} lines of engine output dropped "
            f"{gap.fault.while_text()} (from {since}: {gap.fault.error})\n").encode("utf-8", errors="replace")

    @property
    def dropped_lines(self) -> int:
        return self._file.dropped_lines

    def close(self) -> Gap | None:
        """Close the file; returns the lines dropped at the end that could not be noted in it."""
        return self._file.close()


class OutputCounters:
    """Per-engine line counters and the time of the last output, for the watchdog and status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.lines_total = 0
        self.lines_since_heartbeat = 0
        self.last_output_monotonic = time.monotonic()

    def add(self, lines: int, now_monotonic: float) -> None:
        with self._lock:
            self.lines_total += lines
            self.lines_since_heartbeat += lines
            self.last_output_monotonic = now_monotonic

    def mark_heartbeat(self) -> None:
        with self._lock:
            self.lines_since_heartbeat = 0

    def touch(self, now_monotonic: float) -> None:
        """Count as activity without a line (a fresh start)."""
        with self._lock:
            self.last_output_monotonic = now_monotonic


class PipeReader(threading.Thread):
    """Reads one of an engine's pipes until EOF, or until told the engine's processes are gone.

    ``on_line(engine, line)`` sees each line (without its newline) that starts with
    ``on_line_prefix`` (every line if the prefix is None); returning True consumes it: it
    is neither logged nor shown. Chunks that hold no such line skip the per-line loop.
    """

    def __init__(
        self,
        fd: int,
        *,
        engine: str,
        log: EngineLog,
        console: ConsoleWriter | None,
        counters: OutputCounters,
        on_line: LineCallback | None = None,
        on_line_prefix: bytes | None = None,
        max_line: int = MAX_LINE_BYTES,
    ) -> None:
        super().__init__(name=f"tradeday-read-{engine}-{fd}", daemon=True)
        self._fd = fd
        self._engine = engine
        self._log = log
        self._console = console
        self._counters = counters
        self._on_line = on_line
        self._prefix = on_line_prefix
        self._newline_prefix = b"\n" + on_line_prefix if on_line_prefix else None
        self._tag = f"[{engine}] ".encode("utf-8", errors="replace")
        self._max_line = max_line
        self.stop_reading = threading.Event()
        self.bytes_read = 0

    def run(self) -> None:
        try:
            self._pump()
        except Exception:  # a reader must never take the supervisor down
            _log.exception("handling output of engine %s failed; its output is read and dropped from now on",
                           self._engine)
            # Closing the pipe here would kill the engine (EPIPE on its next write): keep
            # draining it, as a broken console or a full disk must not stop trading.
            self._discard()
        finally:
            try:
                os.close(self._fd)
            except OSError:
                pass

    def _discard(self) -> None:
        """Read the pipe to EOF (or until told to stop) and drop what comes; never raises."""
        drained_after_stop = 0
        try:
            poller = select.poll()
            poller.register(self._fd, select.POLLIN | select.POLLHUP | select.POLLERR)
            while drained_after_stop <= _DRAIN_LIMIT_BYTES:
                stopping = self.stop_reading.is_set()
                if not poller.poll(0 if stopping else _POLL_SECONDS * 1000):
                    if stopping:
                        return
                    continue
                try:
                    data = os.read(self._fd, 65536)
                except InterruptedError:
                    continue
                if not data:
                    return
                self.bytes_read += len(data)
                self._counters.add(data.count(b"\n"), time.monotonic())
                if stopping:
                    drained_after_stop += len(data)
        except Exception:
            _log.exception("draining output of engine %s failed", self._engine)

    def _pump(self) -> None:
        fd = self._fd
        # poll, not select: select cannot watch descriptors numbered 1024 and above.
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        partial = b""
        drained_after_stop = 0
        while True:
            if self.stop_reading.is_set():
                if not poller.poll(0) or drained_after_stop > _DRAIN_LIMIT_BYTES:
                    break
            elif not poller.poll(_POLL_SECONDS * 1000):
                continue
            try:
                data = os.read(fd, self._max_line + 1 - len(partial))
            except InterruptedError:
                continue
            if not data:
                break
            self.bytes_read += len(data)
            if self.stop_reading.is_set():
                drained_after_stop += len(data)
            if partial:
                data = partial + data
            newline = data.rfind(b"\n")
            if newline < 0:
                if len(data) > self._max_line:
                    # A line longer than the limit: emit a piece, keep the rest pending.
                    self._emit(data[: self._max_line] + b"\n")
                    partial = data[self._max_line :]
                else:
                    partial = data
                continue
            partial = data[newline + 1 :]
            self._emit(data[: newline + 1])
        if partial:
            self._emit(partial + b"\n")

    def _emit(self, complete: bytes) -> None:
        """Handle one or more complete lines (each ending with a newline)."""
        now_wall = time.time()
        lines = complete.count(b"\n")
        if self._on_line is not None and self._wants_per_line(complete):
            kept: list[bytes] = []
            for line in complete[:-1].split(b"\n"):
                if not self._consumed(line):
                    kept.append(line)
            complete = b"\n".join(kept) + b"\n" if kept else b""
        self._counters.add(lines, time.monotonic())
        if not complete:
            return
        self._log.write_lines(complete, now_wall)
        console = self._console
        if console is not None and console.enabled:
            tag = self._tag
            console.write(tag + console_safe(complete[:-1]).replace(b"\n", b"\n" + tag) + b"\n")

    def _wants_per_line(self, complete: bytes) -> bool:
        if self._prefix is None:
            return True
        return complete.startswith(self._prefix) or self._newline_prefix in complete  # type: ignore[operator]

    def _consumed(self, line: bytes) -> bool:
        if self._prefix is not None and not line.startswith(self._prefix):
            return False
        try:
            return bool(self._on_line(self._engine, line))  # type: ignore[misc]
        except Exception:
            _log.exception("on_line callback failed for engine %s; line kept", self._engine)
            return False
