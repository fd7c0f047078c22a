"""Stream an engine's stdout/stderr, as it comes, to the console and to its log file.

Design (measured in bench/bench_streaming.py; figures in docs/BENCHMARKS.md):

* One reader thread per pipe takes raw chunks from a ByteSource (on POSIX PollSource:
  ``poll`` with a timeout, then one ``os.read`` of up to 64 KiB; never byte by byte) and
  handles the complete lines of a chunk in bulk with C-speed ``bytes`` operations: the log
  timestamp and the console prefix ``[engine] `` are inserted with one ``bytes.replace``
  each, and the line count falls out of the length that replace produced; the pending
  partial line and the new read go to the log with one ``writev``, never joined. A flood costs a
  fixed handful of operations per chunk, none per line. Lines read in one chunk share the
  timestamp of that read (they arrived together).
* In a flood the reader rests ~0.2 ms before each read that would otherwise find one or two of
  the engine's writes (see FLOOD_REST_SECONDS), so a read takes tens of KiB: CPU goes with
  the number of reads and log writes far more than with the bytes. Linux only, where the pipe
  is first enlarged to 256 KiB so that the engine never waits for a resting reader.
* No console copy is made for a console that is the null device (``tradeday run >/dev/null``
  under cron), for ``console: false``, or once the console broke; the log is the same.
* Per-line work happens only for chunks that need it, found with one C-level search of the
  chunk: the protocol prefix (``@tradeday ``, first a ``memchr`` for its first byte), and,
  for ``console: errors``, the words an error line carries.
* Each processed chunk is one ``write`` to the log file (unbuffered, like ``tee``) and one
  to the console, so a crash loses nothing already read and ``tail -f`` is prompt (a rest
  delays a line by at most ~0.2 ms, and only in a flood); there
  is no user-space log buffer to flush. The log file (core/logfile.py) rotates by size and
  never raises: on a full disk its lines are dropped and counted while the pipes keep being
  drained and the console keeps going (a reader that stopped reading would block the
  engine; one that closed its pipe would kill it with EPIPE).
* Memory is bounded whatever the engine prints: a read never asks for more than
  ``MAX_LINE_BYTES + 1`` bytes minus the pending partial line, so a line longer than
  ``MAX_LINE_BYTES`` is split into pieces of that size and nothing grows without limit.
* The log keeps the engine's bytes as they are (invalid UTF-8 included); only the console
  copy is made valid UTF-8 (``errors="replace"``).
* Never rich or print(): binary writes only.

The read step is a seam (ByteSource, session/pipesource.py): a platform without ``poll`` on
pipes feeds the same line handling from blocking reads in a helper thread (ThreadSource).
"""
from __future__ import annotations

import logging
import os
import re
import stat
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import BinaryIO, Literal

from core.diskfaults import DISK_FAULTS, RETRY_SECONDS, DiskFaults
from core.logfile import AppendFile, Gap
from core.platform import ENGINE_OUTPUT_FALLBACK
from session.pipesource import FLOOD_GAP_SECONDS, FLOOD_REST_SECONDS, POLL_SECONDS, ByteSource, pipe_source
from session.pipesource import PollSource as PollSource  # part of this module's API, as before
from session.pipesource import ThreadSource as ThreadSource

MAX_LINE_BYTES = 64 * 1024
# Once told to stop (the engine's processes are gone), a reader drains at most this much
# more: an escaped process that keeps writing must not keep tradeday reading forever.
_DRAIN_LIMIT_BYTES = 4 * 1024 * 1024
# The last output line kept for `status` is cut to this many bytes.
LAST_LINE_MAX = 512

LineCallback = Callable[[str, bytes], bool]
# An engine's `console:` setting: every line (True), none (False), or only error lines.
ConsoleMode = bool | Literal["errors"]

_log = logging.getLogger("tradeday.streaming")


def _format_offset(offset: timedelta | None) -> str:
    if offset is None:
        return "+00:00"
    total_minutes = int(offset.total_seconds()) // 60
    sign = "+" if total_minutes >= 0 else "-"
    hours, minutes = divmod(abs(total_minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


class TimestampFormatter:
    """``2026-11-20T09:15:01.123+05:30 `` prefixes, cheap: formatted once per second, and the
    whole prefix reused within a millisecond."""

    def __init__(self, tz: tzinfo | None = None) -> None:
        self._tz = tz
        # (whole second, b"YYYY-MM-DDTHH:MM:SS", b"+05:30 ") and (second, millis, prefix,
        # newline + prefix), each replaced as one tuple so concurrent readers never see a
        # half-updated cache.
        self._cache: tuple[int, bytes, bytes] = (-1, b"", b"")
        self._last: tuple[int, int, bytes, bytes] = (-1, -1, b"", b"")

    def prefix(self, now: float | None = None) -> bytes:
        return self.prefixes(time.time() if now is None else now)[2]

    def prefixes(self, t: float) -> tuple[int, int, bytes, bytes]:
        """(second, millis, prefix, b"\\n" + prefix) for the wall-clock time ``t``."""
        second = int(t // 1)
        millis = int((t - second) * 1000)
        last = self._last
        if last[1] == millis and last[0] == second:
            return last
        cache = self._cache
        if cache[0] != second:
            moment = datetime.fromtimestamp(second, self._tz).astimezone(self._tz)
            cache = (
                second,
                moment.strftime("%Y-%m-%dT%H:%M:%S").encode("ascii"),
                (_format_offset(moment.utcoffset()) + " ").encode("ascii"),
            )
            self._cache = cache
        stamp = b"%s.%03d%s" % (cache[1], millis, cache[2])
        last = (second, millis, stamp, b"\n" + stamp)
        self._last = last
        return last


def is_null_device(stream: BinaryIO) -> bool:
    """True if ``stream`` writes to the null device (``>/dev/null``, as under cron): whatever
    is written there is discarded by the kernel, so it need not be made at all. POSIX only:
    on Windows NUL and a real console are both character devices that fstat cannot tell apart."""
    if sys.platform == "win32":
        return False
    try:
        fd = stream.fileno()
        info, null = os.fstat(fd), os.stat(os.devnull)
    except (AttributeError, OSError, ValueError):  # BytesIO, a closed stream: a real copy
        return False
    return stat.S_ISCHR(info.st_mode) and stat.S_ISCHR(null.st_mode) and info.st_rdev == null.st_rdev


class ConsoleWriter:
    """The console shared by all engines: one lock, whole chunks, never interleaved mid-line.

    ``enabled`` is False when there is nothing to write to: no stream, a stream that broke
    (``tradeday run | head``), or the null device (looked at once, here), for which the
    readers make no console copy at all.
    """

    def __init__(self, stream: BinaryIO | None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.broken = False
        self.discards = stream is not None and is_null_device(stream)
        # A plain attribute, read once per chunk by every reader.
        self.enabled = stream is not None and not self.discards

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
                self.enabled = False
                _log.warning("console output disabled: %s", exc)


def console_safe(data: bytes, fallback: str | None = ENGINE_OUTPUT_FALLBACK) -> bytes:
    """Valid UTF-8 unchanged; otherwise read in ``fallback`` (Windows: the ANSI code page an
    engine writes to a pipe in) or with invalid sequences replaced (U+FFFD), as UTF-8."""
    if data.isascii():  # the common case, checked without building a str
        return data
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        return data.decode(fallback or "utf-8", errors="replace").encode("utf-8")


# `console: errors` (docs/ENGINE.md): a line is an error line if it has ERROR, CRITICAL or
# FATAL in upper case as a word of its own (not inside a longer word: "ERRORS" is not one),
# or belongs to a Python traceback: from the line with "Traceback (most recent call last):"
# through the indented lines that follow to the first line that is not indented (the
# exception), inclusive. The same rule on stdout and stderr: Python's logging writes every
# level to stderr, so the stream alone says little.
_ERROR_WORD = re.compile(rb"(?<![A-Za-z])(?:ERROR|CRITICAL|FATAL)(?![A-Za-z])")
_TRACEBACK = b"Traceback (most recent call last):"
_ERROR_HINTS = (b"ERROR", b"CRITICAL", b"FATAL", _TRACEBACK)


def is_error_line(line: bytes) -> bool:
    """An error line by the word rule (a traceback's later lines need ErrorLines' state)."""
    return _TRACEBACK in line or _ERROR_WORD.search(line) is not None


class ErrorLines:
    """Picks the error lines out of one stream's chunks (``console: errors``); keeps the
    traceback state from one chunk to the next."""

    def __init__(self) -> None:
        self._in_traceback = False

    def select(self, complete: bytes) -> bytes:
        """The error lines of ``complete`` (lines ending with newlines), or b""."""
        if not self._in_traceback and not any(hint in complete for hint in _ERROR_HINTS):
            return b""
        kept: list[bytes] = []
        in_traceback = self._in_traceback
        for line in complete[:-1].split(b"\n"):
            if in_traceback:
                if not line.startswith((b" ", b"\t")):
                    in_traceback = False  # the exception line closes it (an empty line: nothing to show)
                if line:
                    kept.append(line)
            elif _TRACEBACK in line:
                in_traceback = True
                kept.append(line)
            elif _ERROR_WORD.search(line) is not None:
                kept.append(line)
        self._in_traceback = in_traceback
        return b"\n".join(kept) + b"\n" if kept else b""


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

    def write_lines(self, complete: bytes, now: float | None = None) -> int:
        """``complete`` is one or more lines, each ending with ``\\n``; returns how many."""
        if not complete:
            return 0
        stamp = self._timestamps.prefix(now)
        # One pass puts a stamp after every newline; the one after the last is not written,
        # and the length that replace added says how many lines there were.
        body = complete.replace(b"\n", b"\n" + stamp)
        size = len(body) - len(stamp)
        self._file.write(b"".join((stamp, memoryview(body)[:size])))
        return (len(body) - len(complete)) // len(stamp)

    def write_chunk(self, head: bytes, data: bytes, end: int, now: float) -> int:
        """write_lines(head + data[:end]) without building that: ``head`` and ``data[end:]``
        hold no newline, ``data[end - 1]`` is one. Returns how many lines. (The hot path of a
        flood: once per read.)"""
        _, _, stamp, newline_stamp = self._timestamps.prefixes(now)
        # data's bytes after `end` hold no newline, so they come out of replace unchanged,
        # after the last stamp: both are cut off.
        body = data.replace(b"\n", newline_stamp)
        size = len(body) - (len(data) - end) - len(stamp)
        self._file.write_parts((stamp, head, memoryview(body)[:size]), len(stamp) + len(head) + size)
        return (len(body) - len(data)) // len(stamp)

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


def last_line(head: bytes, data: bytes, end: int) -> bytes:
    """The last line (without its newline) of ``head + data[:end]``, cut to LAST_LINE_MAX."""
    start = data.rfind(b"\n", 0, end - 1) + 1
    if start == 0 and head:
        return (head + data[: end - 1])[-LAST_LINE_MAX:]
    return data[start : min(end - 1, start + LAST_LINE_MAX)]


class OutputCounters:
    """Per-engine line counters, the time of the last output and the last line, for the
    watchdog and status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.lines_total = 0
        self.lines_since_heartbeat = 0
        self.last_output_monotonic = time.monotonic()
        # The last line, or the chunk it is the end of (head, data, end: see last_line), cut
        # out only when someone asks (status): most chunks are never asked about.
        self._last_line: bytes | tuple[bytes, bytes, int] = b""

    def add(self, lines: int, now_monotonic: float, last: bytes | None = None) -> None:
        """``lines`` more lines; ``last``: the last of them (see last_line), if it is known."""
        with self._lock:
            self.lines_total += lines
            self.lines_since_heartbeat += lines
            self.last_output_monotonic = now_monotonic
            if last is not None:
                self._last_line = last

    def add_chunk(self, lines: int, now_monotonic: float, head: bytes, data: bytes, end: int) -> None:
        """add(lines, now_monotonic, last_line(head, data, end)), the last line cut out later."""
        with self._lock:
            self.lines_total += lines
            self.lines_since_heartbeat += lines
            self.last_output_monotonic = now_monotonic
            self._last_line = (head, data, end)

    @property
    def last_line(self) -> str:
        """The engine's last output line (stdout or stderr, protocol lines excluded), cut to
        LAST_LINE_MAX bytes; "" before any."""
        with self._lock:
            last = self._last_line
            if isinstance(last, tuple):
                last = self._last_line = last_line(*last)
        return last.decode("utf-8", errors="replace")

    def mark_heartbeat(self) -> None:
        with self._lock:
            self.lines_since_heartbeat = 0

    def touch(self, now_monotonic: float) -> None:
        """Count as activity without a line (a fresh start)."""
        with self._lock:
            self.last_output_monotonic = now_monotonic


class PipeReader(threading.Thread):
    """Reads one of an engine's pipes until EOF, or until told the engine's processes are gone.

    ``source`` is the pipe's descriptor (read with PollSource) or any ByteSource; the reader
    owns it and closes it at the end. ``on_line(engine, line)`` sees each line (without its
    newline) that starts with ``on_line_prefix`` (every line if the prefix is None);
    returning True consumes it: it is neither logged nor shown. Chunks that hold no such
    line skip the per-line loop. ``console_mode`` (True, False or "errors", see ErrorLines)
    says which lines reach the console; it may be changed while the reader runs.
    """

    def __init__(
        self,
        source: int | ByteSource,
        *,
        engine: str,
        log: EngineLog,
        console: ConsoleWriter | None,
        counters: OutputCounters,
        on_line: LineCallback | None = None,
        on_line_prefix: bytes | None = None,
        max_line: int = MAX_LINE_BYTES,
        console_mode: ConsoleMode = True,
    ) -> None:
        self._source: ByteSource = pipe_source(source) if isinstance(source, int) else source
        super().__init__(name=f"tradeday-read-{engine}-{source if isinstance(source, int) else id(source)}",
                         daemon=True)
        self._engine = engine
        self._log = log
        self._console = console
        self._counters = counters
        self._on_line = on_line
        self._prefix = on_line_prefix
        self._prefix_first = on_line_prefix[:1] if on_line_prefix else b""
        self._newline_prefix = b"\n" + on_line_prefix if on_line_prefix else b""
        self._tag = f"[{engine}] ".encode("utf-8", errors="replace")
        self._newline_tag = b"\n" + self._tag
        self._max_line = max_line
        self._errors = ErrorLines()
        self.console_mode: ConsoleMode = console_mode
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
            self._source.close()

    def _discard(self) -> None:
        """Read the pipe to EOF (or until told to stop) and drop what comes; never raises."""
        drained_after_stop = 0
        try:
            while drained_after_stop <= _DRAIN_LIMIT_BYTES:
                stopping = self.stop_reading.is_set()
                data = self._source.read(65536, 0 if stopping else POLL_SECONDS)
                if data is None:
                    if stopping:
                        return
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
        source = self._source
        max_line = self._max_line
        stop_reading = self.stop_reading
        partial = b""
        drained_after_stop = 0
        # Rest in a flood (see FLOOD_REST_SECONDS); not for a ThreadSource, whose reads
        # return one queued chunk each however long the reader waits.
        rests = bool(getattr(source, "rests", False))
        rest = False
        previous_read = 0.0
        while True:
            stopping = stop_reading.is_set()
            if stopping and drained_after_stop > _DRAIN_LIMIT_BYTES:
                break
            if rest and not stopping:
                try:
                    time.sleep(FLOOD_REST_SECONDS)
                except OSError:
                    # A faked clock stepped back (libfaketime) refused the sleep (EINVAL):
                    # the rest is only for speed, so read now and rest no more.
                    rests = rest = False
            wanted = max_line + 1 - len(partial)
            data = source.read(wanted, 0 if stopping else POLL_SECONDS)
            if data is None:
                rest = False
                if stopping:
                    break
                continue
            if not data:
                break
            if rests:
                now = time.monotonic()
                rest = len(data) < wanted and now - previous_read < FLOOD_GAP_SECONDS
                previous_read = now
            self.bytes_read += len(data)
            if stopping:
                drained_after_stop += len(data)
            newline = data.rfind(b"\n")
            if newline >= 0:
                # The pending partial line and the read are handled as they are, not joined
                # first: a copy of every byte saved (the common case of a flood).
                self._emit(partial, data, newline + 1)
                partial = data[newline + 1 :]
                continue
            if partial:
                data = partial + data
            if len(data) > max_line:
                # A line longer than the limit: emit a piece, keep the rest pending.
                self._emit(b"", data[:max_line] + b"\n", max_line + 1)
                partial = data[max_line:]
            else:
                partial = data
        if partial:
            self._emit(b"", partial + b"\n", len(partial) + 1)

    def _emit(self, head: bytes, data: bytes, end: int) -> None:
        """Handle complete lines: ``head + data[:end]`` ends with a newline; ``head`` (the start
        of the first line, from earlier reads) and ``data[end:]`` hold none."""
        now_wall = time.time()
        if self._on_line is not None and self._wants_per_line(head, data):
            complete = head + data[:end]
            lines = complete.count(b"\n")
            complete = self._without_consumed(complete)
            if complete:
                self._log.write_lines(complete, now_wall)
            self._counters.add(lines, time.monotonic(), last_line(b"", complete, len(complete)) if complete else None)
            if complete:
                self._show(b"", complete, len(complete))
            return
        lines = self._log.write_chunk(head, data, end, now_wall)
        self._counters.add_chunk(lines, time.monotonic(), head, data, end)
        console = self._console
        if console is not None and console.enabled:  # no console, a broken one, /dev/null: no copy
            self._show(head, data, end)

    def _show(self, head: bytes, data: bytes, end: int) -> None:
        console = self._console
        if console is None or not console.enabled:
            return
        mode = self.console_mode
        if mode is not True:
            if mode != "errors":
                return
            data = self._errors.select(head + data[:end])
            if not data:
                return
            head, end = b"", len(data)
        elif not (data.isascii() and head.isascii()):
            data, head = console_safe(head + data[:end]), b""  # rare: made valid UTF-8 line by line
            end = len(data)
        tag = self._tag
        # As in EngineLog.write_chunk: one replace puts the tag after every newline; the tag
        # after the last one and the partial line after it are left out.
        body = data.replace(b"\n", self._newline_tag)
        console.write(b"".join((tag, head, memoryview(body)[: len(body) - (len(data) - end) - len(tag)])))

    def _wants_per_line(self, head: bytes, data: bytes) -> bool:
        prefix = self._prefix
        if prefix is None:
            return True
        # The chunk's first line starts in head (the partial line of earlier reads) if there
        # is one: its first byte first, without building anything.
        if (head or data).startswith(self._prefix_first) and (head + data[: len(prefix)]).startswith(prefix):
            return True
        # One memchr for the prefix's first byte: most chunks stop here.
        return self._prefix_first in data and self._newline_prefix in data

    def _without_consumed(self, complete: bytes) -> bytes:
        """``complete`` without the lines on_line consumed (one call per candidate line)."""
        on_line, engine, prefix = self._on_line, self._engine, self._prefix
        assert on_line is not None
        kept: list[bytes] = []
        for line in complete[:-1].split(b"\n"):
            if prefix is not None and not line.startswith(prefix):
                kept.append(line)
                continue
            try:
                consumed = on_line(engine, line)
            except Exception:
                _log.exception("on_line callback failed for engine %s; line kept", engine)
                consumed = False
            if not consumed:
                kept.append(line)
        return b"\n".join(kept) + b"\n" if kept else b""
