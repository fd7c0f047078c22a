"""Where a PipeReader's bytes come from (session/streaming.py): the one platform-specific
step of reading an engine's output.

* POSIX: PollSource, ``poll`` with a timeout (so the reader can look at its stop flag), then
  one ``os.read``. On Linux the pipe is first enlarged to REST_PIPE_BYTES, so that a reader
  may rest in a flood (below) without the engine waiting.
* Windows: ThreadSource, blocking reads by a helper thread (Windows pipes cannot be polled).

A source with a true ``rests`` attribute lets the reader rest in a flood (PipeReader._pump).
"""
from __future__ import annotations

import os
import queue
import select
import sys
import threading
from typing import Any, Protocol

# How long a reader waits for data before it looks at its stop flag again.
POLL_SECONDS = 0.2
# A flood: reads that come less than FLOOD_GAP_SECONDS apart and each empty the pipe. Then
# the reader rests FLOOD_REST_SECONDS (~0.15-0.2 ms with the kernel's timer slack) before
# its next read, so that the read takes what several of the engine's writes (4 KiB each from
# a block-buffered Python engine, one line each from a line-buffered one) put in the pipe,
# with one log write: a few thousand reads and writes for 2M lines instead of tens of
# thousands (each write to an ext4 file costs ~3 us whatever its size). A read that fills its
# buffer is not followed by a rest; a trickle of lines (reads further apart) never waits.
# Only where the pipe could be made REST_PIPE_BYTES big (Linux): a 64 KiB pipe fills in
# ~0.15 ms at 400 MB/s, and the engine would wait for the reader.
FLOOD_GAP_SECONDS = 0.001
FLOOD_REST_SECONDS = 0.0001
REST_PIPE_BYTES = 256 * 1024


class ByteSource(Protocol):
    """Where a PipeReader's bytes come from: the one platform-specific step of the pump."""

    def read(self, max_bytes: int, timeout: float) -> bytes | None:
        """Up to ``max_bytes`` (at least 1); None if nothing came within ``timeout`` seconds
        (0: do not wait); b"" at end of file."""
        ...

    def close(self) -> None:
        """Release the pipe; never raises."""
        ...


class PollSource:
    """A pipe's descriptor on POSIX: ``poll`` with a timeout, then one ``os.read``.

    poll, not select: select cannot watch descriptors numbered 1024 and above.
    """

    _poller: Any  # a select.poll object; declared here because Windows' select has no poll (mypy --platform win32)

    def __init__(self, fd: int) -> None:
        self._fd = fd
        if sys.platform == "win32":  # Windows pipes cannot be polled: pipe_source picks ThreadSource
            raise OSError("PollSource needs poll(); use ThreadSource on Windows")
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        # Whether the reader may rest in a flood (see FLOOD_REST_SECONDS): the pipe holds
        # enough for the engine not to wait meanwhile.
        self.rests = _enlarge_pipe(fd) >= REST_PIPE_BYTES

    def read(self, max_bytes: int, timeout: float) -> bytes | None:
        # (No platform check here: this is the hot path, and __init__ refused Windows.)
        if not self._poller.poll(timeout * 1000):
            return None
        try:
            return os.read(self._fd, max_bytes)
        except InterruptedError:
            return None

    def close(self) -> None:
        try:
            os.close(self._fd)
        except OSError:
            pass


def _enlarge_pipe(fd: int) -> int:
    """Make the pipe ``fd`` hold REST_PIPE_BYTES (Linux; not past the system's limits, which
    refuse it); returns its size in bytes, 0 if unknown or not a pipe."""
    if sys.platform != "linux":
        return 0
    import fcntl

    try:
        size = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
        if size < REST_PIPE_BYTES:
            size = fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, REST_PIPE_BYTES)
        return size
    except OSError:  # not a pipe, or over /proc/sys/fs/pipe-max-size or the user's pipe pages
        return 0


class ThreadSource:
    """A pipe read with blocking reads by a helper thread, for pipes that cannot be polled
    (Windows). The queue is bounded, so a reader that falls behind blocks the helper and,
    through the full pipe, the engine, as with PollSource; memory stays bounded.

    The helper owns the descriptor until end of file: after close() (the engine is gone but
    an escaped process holds the pipe) it closes it once its read returns.
    """

    # A read returns one queued chunk however long the reader waited: resting would not
    # make reads bigger.
    rests = False

    def __init__(self, fd: int, *, chunk: int = 65536, depth: int = 16) -> None:
        self._fd = fd
        self._chunk = chunk
        self._queue: queue.Queue[bytes] = queue.Queue(depth)
        self._pending = b""
        self._eof = False
        self._closed = threading.Event()
        threading.Thread(target=self._fill, name=f"tradeday-pipe-{fd}", daemon=True).start()

    def _fill(self) -> None:
        try:
            while not self._closed.is_set():
                try:
                    data = os.read(self._fd, self._chunk)
                except InterruptedError:
                    continue
                except OSError:
                    data = b""
                while not self._closed.is_set():
                    try:
                        self._queue.put(data, timeout=POLL_SECONDS)
                        break
                    except queue.Full:
                        continue
                if not data:
                    return
        finally:
            try:
                os.close(self._fd)
            except OSError:
                pass

    def read(self, max_bytes: int, timeout: float) -> bytes | None:
        if not self._pending:
            if self._eof:
                return b""
            try:
                self._pending = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
            except queue.Empty:
                return None
            if not self._pending:
                self._eof = True
                return b""
        if len(self._pending) <= max_bytes:
            data, self._pending = self._pending, b""
        else:
            data, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
        return data

    def close(self) -> None:
        self._closed.set()


def pipe_source(fd: int) -> ByteSource:
    """The platform's source for a pipe descriptor: PollSource, or ThreadSource on Windows."""
    if sys.platform == "win32":
        return ThreadSource(fd)
    return PollSource(fd)
