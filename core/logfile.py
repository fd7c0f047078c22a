"""A log file that whole lines are appended to: rotated by size, private, and never raising.

Used for the engine logs (session/streaming.py) and tradeday.log (core/logsetup.py).

* **Whole lines.** ``write`` takes one or more complete lines and writes them with as few
  ``write`` calls as possible, unbuffered (like ``tee``): nothing read is lost in a crash and
  ``tail -F`` is prompt. A partial write (the disk filled up in the middle) is cut back with
  ``ftruncate``, so a file never ends in half a line.
* **Rotation.** With ``max_bytes``, a write that would take the file past it first fills
  the file with the whole lines that fit, then renames ``name`` to ``name.1`` (``.1`` to
  ``.2`` ..., the oldest beyond ``backups`` goes) and goes on in a fresh file: every line is
  in exactly one file, in order. A single line longer than ``max_bytes`` gets a file of its
  own. Renames take microseconds: the engine's pipe is never held up.
* **Faults.** A write that fails (a full disk, EIO, a read-only remount) drops the lines,
  counts them, and reports to ``core.diskfaults.DISK_FAULTS``; the file is tried again at
  most every ``RETRY_SECONDS``, and the first write that works again starts with a note of
  the gap (``gap_note``). Nothing here raises: the callers are the supervision loop and the
  threads that drain the engines' pipes, and an exception there used to close an engine's
  pipe (the engine then died of EPIPE).
* **Modes.** Files are 0600 and the folders this creates 0700 (0640 / 0750 when ``paths.group``
  shares the artifacts, core/fileperms.py): logs carry account ids and order details. An older
  log with wider bits is narrowed when it is opened; rotated files keep their mode.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core import platform
from core.diskfaults import DISK_FAULTS, RETRY_SECONDS, DiskFault, DiskFaults, fault_of
from core.fileperms import file_mode, make_folders

_WRITEV = hasattr(os, "writev")  # POSIX; elsewhere write_parts joins


@dataclass(frozen=True)
class Gap:
    """Lines dropped since ``since`` (wall-clock seconds), because of ``fault``."""

    bytes: int
    lines: int
    since: float
    fault: DiskFault


GapNote = Callable[[Gap], bytes]


class _Failed(Exception):
    def __init__(self, unwritten: bytes, error: OSError) -> None:
        super().__init__(str(error))
        self.unwritten = unwritten
        self.error = error


def default_gap_note(gap: Gap) -> bytes:
    return (f"### tradeday: {gap.bytes} bytes / {gap.lines} lines dropped {gap.fault.while_text()}\n"
            .encode("utf-8", errors="replace"))


class AppendFile:
    """See the module docstring. Thread-safe; ``write`` and ``close`` never raise."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        what: str,
        max_bytes: int = 0,  # 0: no cap
        backups: int = 0,
        gap_note: GapNote = default_gap_note,
        faults: DiskFaults = DISK_FAULTS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        if max_bytes < 0 or backups < 0:
            raise ValueError("max_bytes and backups must not be negative")
        self.path = Path(path)
        self.what = what
        self.max_bytes = max_bytes
        self.backups = backups
        self._gap_note = gap_note
        self._faults = faults
        self._retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._size = 0
        self._closed = False
        self._fault: DiskFault | None = None  # set while writes fail
        self._gap_bytes = 0
        self._gap_lines = 0
        self._gap_since = 0.0
        self._retry_at = 0.0
        self.dropped_bytes = 0  # over the file's life, noted or not
        self.dropped_lines = 0
        error: OSError | None = None
        with self._lock:
            try:
                self._open()
            except OSError as exc:
                error = exc
                self._start_gap(exc)
        if error is not None:
            self._report(error)

    # ------------------------------------------------------------------ writing

    def write(self, data: bytes) -> None:
        """Append ``data`` (complete lines, each ending with a newline)."""
        if not data:
            return
        failed: OSError | None = None
        recovered: Gap | None = None
        with self._lock:
            if self._closed:
                return
            fd = self._fd
            if self._fault is None and fd is not None and (
                    not self.max_bytes or self._size + len(data) <= self.max_bytes):
                # The common case, once per chunk of engine output: one write, no rotation.
                try:
                    written = os.write(fd, data)
                except OSError:
                    written = -1  # the full path below tries again and deals with the error
                if written == len(data):
                    self._size += written
                    return
                if written > 0:
                    try:  # take the piece back: the full path writes the chunk whole or drops it whole
                        os.ftruncate(fd, self._size)
                    except OSError:
                        self._size += written
                        data = data[written:]
            if self._fault is not None:
                if time.monotonic() < self._retry_at:
                    self._drop(data)
                    return
                recovered = self._try_gap_note()
                if recovered is None:
                    self._drop(data)
                    return
            try:
                self._write_capped(data)
            except _Failed as failure:
                failed = failure.error
                self._start_gap(failure.error)
                self._drop(failure.unwritten)
        if recovered is not None:
            self._faults.recovered(self.path, f"{recovered.bytes} bytes / {recovered.lines} lines were dropped")
        if failed is not None:
            self._report(failed)

    def write_parts(self, parts: tuple[bytes | memoryview, ...], total: int = -1) -> None:
        """``write(b"".join(parts))``, without the join in the common case (one ``writev``).
        ``total``: their length, if the caller knows it (the hot path of engine output)."""
        if sys.platform != "win32" and _WRITEV:  # the platform test tells mypy --platform win32
            if total < 0:
                total = sum(map(len, parts))
            with self._lock:
                fd = self._fd
                if (not self._closed and self._fault is None and fd is not None
                        and (not self.max_bytes or self._size + total <= self.max_bytes)):
                    try:
                        written = os.writev(fd, parts)
                    except OSError:
                        written = -1  # write() below tries again and deals with the error
                    if written == total:
                        self._size += written
                        return
                    if written > 0:
                        try:  # take the piece back: write() writes the chunk whole or drops it whole
                            os.ftruncate(fd, self._size)
                        except OSError:
                            self._size += written
                            parts = (b"".join(parts)[written:],)
        self.write(b"".join(parts))

    def close(self) -> Gap | None:
        """Close the file after a last try at noting a gap; returns a gap that could not be noted."""
        with self._lock:
            if self._closed:
                return None
            left: Gap | None = None
            if self._fault is not None and self._gap_lines:
                if self._try_gap_note() is None:
                    left = Gap(self._gap_bytes, self._gap_lines, self._gap_since, self._fault)
            self._closed = True
            if self._fd is not None:
                try:
                    os.close(self._fd)
                except OSError:
                    pass
                self._fd = None
        return left

    @property
    def failing(self) -> bool:
        return self._fault is not None

    # ------------------------------------------------------------------ internals (under the lock)

    def _open(self) -> None:
        make_folders(self.path.parent)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, file_mode())
        try:
            info = os.fstat(fd)
            mode = info.st_mode & 0o777
            if platform.MODE_BITS and mode & ~file_mode():
                platform.set_mode(fd, mode & file_mode())  # a file from before (0644): made private too
        except OSError:
            os.close(fd)
            raise
        self._fd = fd
        self._size = info.st_size

    def _write_capped(self, data: bytes) -> None:
        """Write ``data``, rotating where the cap says; raises _Failed with what is unwritten."""
        try:
            if self._fd is None:
                self._open()
            while data:
                if self.max_bytes and self._size + len(data) > self.max_bytes:
                    cut = self._cut(data)
                    if cut:
                        self._append(data[:cut])
                        data = data[cut:]
                    if data:
                        self._rotate()
                else:
                    self._append(data)
                    data = b""
        except OSError as exc:
            raise _Failed(data, exc) from None

    def _cut(self, data: bytes) -> int:
        """How much of ``data`` (whole lines) goes in the current file before it is rotated."""
        room = self.max_bytes - self._size
        cut = data.rfind(b"\n", 0, room) + 1 if room > 0 else 0
        if cut == 0 and self._size == 0:
            # A line longer than the cap: whole, in a file of its own.
            cut = data.find(b"\n") + 1 or len(data)
        return cut

    def _append(self, data: bytes) -> None:
        assert self._fd is not None
        start = self._size
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                self._size += written
                view = view[written:]
        except OSError:
            if self._size != start:
                # Half a chunk went in before the disk filled up: take it back, so that the
                # file ends with a whole line and the chunk is dropped (and counted) whole.
                try:
                    os.ftruncate(self._fd, start)
                    self._size = start
                except OSError:
                    pass
            raise

    def _rotate(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        base = str(self.path)
        try:
            if self.backups:
                for number in range(self.backups - 1, 0, -1):
                    older = f"{base}.{number}"
                    if os.path.exists(older):
                        os.replace(older, f"{base}.{number + 1}")
                os.replace(base, f"{base}.1")
            else:
                os.unlink(base)
        except FileNotFoundError:
            pass  # someone moved the file away already: start a new one all the same
        self._open()

    def _start_gap(self, error: OSError) -> None:
        fault = fault_of(self.what, self.path, error)
        if self._fault is None:
            self._gap_since = time.time()
            self._gap_bytes = self._gap_lines = 0
        self._fault = fault
        self._retry_at = time.monotonic() + self._retry_seconds

    def _drop(self, data: bytes) -> None:
        lines = data.count(b"\n")
        self._gap_bytes += len(data)
        self._gap_lines += lines
        self.dropped_bytes += len(data)
        self.dropped_lines += lines

    def _try_gap_note(self) -> Gap | None:
        """Write the note of the gap; on success the gap is over (returned), else None."""
        assert self._fault is not None
        gap = Gap(self._gap_bytes, self._gap_lines, self._gap_since, self._fault)
        note = self._gap_note(gap) if gap.lines else b""
        try:
            self._write_capped(note)
        except _Failed as failure:
            self._start_gap(failure.error)
            return None
        self._fault = None
        self._gap_bytes = self._gap_lines = 0
        return gap

    def _report(self, error: OSError) -> None:
        self._faults.failed(fault_of(self.what, self.path, error))
