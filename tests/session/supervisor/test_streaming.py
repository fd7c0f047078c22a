"""Engine output streaming: floods, invalid UTF-8, huge lines, timestamps, the console."""
from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from session.streaming import (
    MAX_LINE_BYTES,
    ConsoleWriter,
    EngineLog,
    OutputCounters,
    PipeReader,
    ThreadSource,
    TimestampFormatter,
)
from session.supervisor import EngineSpec, Supervisor
from tests.conftest import ENGINES

PY = sys.executable
STAMP = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


def _load_spew():  # the flood generator, to recompute the expected bytes
    spec = importlib.util.spec_from_file_location("spew_fixture", ENGINES / "spew.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def engine_lines(log: Path) -> list[bytes]:
    out = []
    for raw in log.read_bytes().split(b"\n")[:-1]:
        stamp, _, rest = raw.partition(b" ")
        assert STAMP.match(stamp), raw[:60]
        if not rest.startswith(b"### tradeday:"):
            out.append(rest)
    return out


def run_engine(tmp: Path, argv: list[str], console: io.BytesIO | None = None) -> Path:
    spec = EngineSpec(
        name="spew",
        argv=argv,
        cwd=tmp,
        env={"PATH": os.environ.get("PATH", "")},
        log_file=tmp / "spew.log",
        start_secs=0.1,
        restart="never",
        hang_timeout=0,
    )
    sup = Supervisor([spec], console=console if console is not None else io.BytesIO())
    sup.start()
    assert sup.run_until(datetime.now(UTC) + timedelta(seconds=20), threading.Event()) == "all_finished"
    sup.stop_all()
    assert sup.snapshot()[0].exit_code == 0
    return spec.log_file


def test_flood_of_64_mb_is_logged_byte_exact_with_bounded_memory(tmp_path: Path) -> None:
    """Through a real supervising process, so its peak RSS is its own."""
    total = 64 * 1024 * 1024
    log = tmp_path / "flood.log"
    payload = {
        "specs": [
            {
                "name": "flood",
                "argv": [PY, str(ENGINES / "spew.py"), "flood", str(total)],
                "cwd": str(tmp_path),
                "env": {"PATH": os.environ.get("PATH", "")},
                "log_file": str(log),
                "start_secs": 0.1,
                "restart": "never",
                "hang_timeout": 0,
            }
        ],
        "console": os.devnull,
    }
    done = subprocess.run(
        [PY, str(ENGINES / "supervise.py"), json.dumps(payload)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.split("result ", 1)[1])
    assert result["reason"] == "all_finished"
    # Every line starts with a fixed-width 29-byte timestamp and a space; strip it, and
    # tradeday's notes, and the generator's summary (its stderr) which says what it wrote.
    lines = log.read_bytes().split(b"\n")
    assert lines.pop() == b""
    assert all(line[29:30] == b" " and line[10:11] == b"T" for line in lines)
    assert STAMP.match(lines[0][:29]) and STAMP.match(lines[-1][:29])
    # (stdout and stderr are separate pipes: the summary may precede the last stdout lines)
    [summary] = [line[30:] for line in lines if line.startswith(b"spew lines=", 30)]
    count, size = (int(part.split(b"=")[1]) for part in summary.split()[1:])
    assert size >= total
    body = [line[30:] for line in lines if not line.startswith((b"### tradeday:", b"spew lines="), 30)]
    assert len(body) == count == result["statuses"][0]["lines_total"] - 1
    expected = b"".join(map(_load_spew().flood_line, range(count)))
    assert len(expected) == size
    assert b"\n".join(body) + b"\n" == expected
    # Streaming 64 MB must not grow the supervisor: a Python process with psutil is ~30 MB.
    assert result["maxrss_kib"] < 80 * 1024, result["maxrss_kib"]


def test_invalid_utf8_is_raw_in_the_log_and_replaced_on_the_console(tmp_path: Path) -> None:
    console = io.BytesIO()
    log = run_engine(tmp_path, [PY, str(ENGINES / "spew.py"), "badutf8"], console)
    assert engine_lines(log) == [b"valid caf\xc3\xa9", b"invalid caf\xe9 \xff\xfe end"]
    shown = console.getvalue()
    shown.decode("utf-8")  # the console only ever gets valid UTF-8
    assert shown.splitlines() == [
        b"[spew] valid caf\xc3\xa9",
        "[spew] invalid caf\ufffd \ufffd\ufffd end".encode(),
    ]


def test_a_1_mb_line_without_newline_is_split_at_64_kib(tmp_path: Path) -> None:
    size = 1_000_000
    log = run_engine(tmp_path, [PY, str(ENGINES / "spew.py"), "longline", str(size)])
    pieces = engine_lines(log)
    assert [len(p) for p in pieces] == [MAX_LINE_BYTES] * 15 + [size - 15 * MAX_LINE_BYTES]
    assert b"".join(pieces) == b"0123456789" * (size // 10)


def _pump(chunks: list[bytes], threaded: bool = False, **reader_kwargs) -> tuple[list[bytes], bytes, OutputCounters]:
    """Feed chunks through a real pipe into a PipeReader (its descriptor polled, or read by a
    ThreadSource with ``threaded``); return log lines, console, counters."""
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    read_fd, write_fd = os.pipe()
    log_path = tmp / f"reader-{os.getpid()}-{threading.get_ident()}.log"
    log_path.unlink(missing_ok=True)
    log = EngineLog(log_path, TimestampFormatter(UTC))
    console_buffer = io.BytesIO()
    counters = OutputCounters()
    source = ThreadSource(read_fd) if threaded else read_fd
    console = reader_kwargs.pop("console_writer", None) or ConsoleWriter(console_buffer)
    reader = PipeReader(source, engine="e", log=log, console=console, counters=counters, **reader_kwargs)
    reader.start()
    written = 0
    for chunk in chunks:
        os.write(write_fd, chunk)
        written += len(chunk)
        # One read per chunk: wait until the reader has taken it (so the pieces stay apart).
        deadline = time.monotonic() + 10
        while reader.bytes_read < written and time.monotonic() < deadline:
            time.sleep(0.001)
    os.close(write_fd)
    reader.join(5)
    assert not reader.is_alive()
    log.close()
    lines = engine_lines(log_path)
    log_path.unlink()
    return lines, console_buffer.getvalue(), counters


@pytest.mark.parametrize("threaded", [False, True], ids=["poll", "thread"])
def test_line_limits_are_exact(threaded: bool) -> None:
    exact = b"a" * MAX_LINE_BYTES
    lines, _, counters = _pump([exact + b"\n", b"b" * (MAX_LINE_BYTES + 1) + b"\n", b"tail without newline"], threaded)
    # A line of exactly the limit stays whole; one byte more is split; EOF flushes the tail.
    assert lines == [exact, b"b" * MAX_LINE_BYTES, b"b", b"tail without newline"]
    assert counters.lines_total == 4


@pytest.mark.parametrize("threaded", [False, True], ids=["poll", "thread"])
def test_lines_split_across_reads_are_joined(threaded: bool) -> None:
    lines, console, _ = _pump([b"hel", b"lo\nwor", b"ld\n\n", b"x\n"], threaded)
    assert lines == [b"hello", b"world", b"", b"x"]
    assert console == b"[e] hello\n[e] world\n[e] \n[e] x\n"


def test_on_line_exception_keeps_the_line() -> None:
    def broken(name: str, line: bytes) -> bool:
        raise RuntimeError("bug in callback")

    lines, _, _ = _pump([b"@tradeday {}\nplain\n"], on_line=broken, on_line_prefix=b"@tradeday ")
    assert lines == [b"@tradeday {}", b"plain"]


def test_timestamp_prefix_is_cached_per_second_and_carries_the_offset() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    stamps = TimestampFormatter(ist)
    moment = datetime(2026, 11, 20, 9, 15, 1, 123456, tzinfo=ist).timestamp()
    assert stamps.prefix(moment) == b"2026-11-20T09:15:01.123+05:30 "
    assert stamps.prefix(moment + 0.5) == b"2026-11-20T09:15:01.623+05:30 "
    assert stamps.prefix(moment + 1) == b"2026-11-20T09:15:02.123+05:30 "
    ny = TimestampFormatter(timezone(timedelta(hours=-5)))
    assert ny.prefix(moment) == b"2026-11-19T22:45:01.123-05:00 "


def test_a_broken_console_disables_echo_but_not_logging() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    stream = os.fdopen(write_fd, "wb")
    console = ConsoleWriter(stream)
    console.write(b"[e] line\n")  # EPIPE: SIGPIPE is ignored by Python, so this raises and is caught
    assert console.broken and not console.enabled
    console.write(b"[e] more\n")  # no exception
    try:
        stream.close()
    except OSError:
        pass


def test_console_errors_shows_error_lines_and_whole_tracebacks_across_reads() -> None:
    # Written in pieces (a traceback split mid-line), read however the pipe delivers them.
    chunks = [b"ok\nTraceback (most recent call last):\n  File", b' "a.py", line 1, in f\n    x()\n',
              b"KeyError: 'x'\nafter\nERRORS: 0 TERRORS 0\nFATAL_ERROR x\n[CRITICAL] y\nlower error z\n"]
    lines, console, counters = _pump(chunks, console_mode="errors")
    assert lines == b"".join(chunks).splitlines()  # the log keeps every line
    assert console.splitlines() == [
        b"[e] Traceback (most recent call last):", b'[e]   File "a.py", line 1, in f', b"[e]     x()",
        b"[e] KeyError: 'x'", b"[e] FATAL_ERROR x", b"[e] [CRITICAL] y",
    ]
    assert counters.lines_total == 10 and counters.last_line == "lower error z"


def test_console_false_shows_nothing_and_counts_everything() -> None:
    lines, console, counters = _pump([b"a\nERROR b\n", b"c"], console_mode=False)
    assert lines == [b"a", b"ERROR b", b"c"] and console == b""
    assert counters.lines_total == 3 and counters.last_line == "c"


def test_a_protocol_prefix_or_a_character_split_across_reads_is_whole() -> None:
    """The partial line from one read and the next read are handled without being joined
    first: a prefix or a UTF-8 character cut by the read boundary must still be seen whole."""
    seen: list[bytes] = []

    def consume(name: str, line: bytes) -> bool:
        seen.append(line)
        return True

    lines, console, counters = _pump([b"x\n@trad", b'eday {"a":1}\ncaf\xc3', b"\xa9 ok\n"],
                                     on_line=consume, on_line_prefix=b"@tradeday ")
    assert seen == [b'@tradeday {"a":1}']
    assert lines == [b"x", "café ok".encode()]
    assert console == "[e] x\n[e] café ok\n".encode()
    assert counters.lines_total == 3 and counters.last_line == "café ok"


def test_console_copy_of_output_that_is_not_utf8() -> None:
    from session.streaming import console_safe

    assert console_safe("café ✓".encode()) == "café ✓".encode()  # UTF-8 as it is
    assert console_safe(b"caf\xe9", fallback=None) == "caf\ufffd".encode()  # POSIX: replaced
    # Windows: an engine writes to its pipe in the ANSI code page; the console shows the text
    assert console_safe(b"caf\xe9 \x80", fallback="cp1252") == "café €".encode()


class _CountingNull(io.FileIO):
    """/dev/null itself, counting the bytes written to it."""

    written = 0

    def write(self, data) -> int:  # type: ignore[no-untyped-def, override]
        self.written += len(data)
        return super().write(data)


def test_no_console_copy_for_the_null_device_and_the_log_is_the_same(tmp_path: Path) -> None:
    """`tradeday run >/dev/null` (cron): the console copy would be dropped by the kernel, so it
    is not made; the log and the counters are exactly what they are with a real console."""
    chunks = [b"a\n@trad", b"eday x\nERROR b\ncaf\xc3", b"\xa9\n" + b"y" * 70000 + b"\nlast"]
    with _CountingNull(os.devnull, "wb") as null:
        writer = ConsoleWriter(null)  # type: ignore[arg-type]
        seen, console, counters = _pump(chunks, console_writer=writer)
        assert null.written == 0 and console == b""
        assert writer.discards and not writer.enabled
    expected, shown, expected_counters = _pump(chunks)
    assert shown.startswith(b"[e] a\n[e] @tradeday x\n")  # a real console gets the copy
    assert seen == expected == [b"a", b"@tradeday x", b"ERROR b", "café".encode(), b"y" * MAX_LINE_BYTES,
                                b"y" * (70000 - MAX_LINE_BYTES), b"last"]
    assert (counters.lines_total, counters.last_line) == (expected_counters.lines_total, "last") == (7, "last")
    # Real consoles: a terminal, a file, a pipe.
    leader, follower = os.openpty()
    read_fd, write_fd = os.pipe()
    with os.fdopen(follower, "wb") as tty, open(tmp_path / "out", "wb") as file, os.fdopen(write_fd, "wb") as pipe:
        assert all(ConsoleWriter(s).enabled and not ConsoleWriter(s).discards for s in (tty, file, pipe))  # type: ignore[arg-type]
    os.close(leader)
    os.close(read_fd)


def test_a_refused_rest_does_not_stop_the_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under libfaketime with the clock stepped back, the reader's ~0.2 ms rest in a flood
    raised OSError (EINVAL from the faked clock_nanosleep) and the reader thread died: the
    rest of the engine's output was never logged (seen once in CI, test_clock_steps). A
    refused rest means: read now, and do not rest again. The refusal is injected here."""
    import session.streaming as streaming

    class RefusingSleep:
        def __getattr__(self, name: str) -> object:
            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            raise OSError(22, "Invalid argument")

    monkeypatch.setattr(streaming, "time", RefusingSleep())
    total = 8 * 1024 * 1024
    log = run_engine(tmp_path, [PY, str(ENGINES / "spew.py"), "flood", str(total)])
    body = [line for line in engine_lines(log) if not line.startswith(b"spew lines=")]
    expected = b"".join(map(_load_spew().flood_line, range(len(body))))
    assert len(expected) >= total and b"\n".join(body) + b"\n" == expected


@pytest.mark.skipif(sys.platform != "linux", reason="F_SETPIPE_SZ is Linux's")
def test_a_polled_pipe_is_enlarged_so_that_a_resting_reader_does_not_hold_the_engine_up() -> None:
    """In a flood the reader rests ~0.2 ms between reads to take several writes at once; a 64 KiB
    pipe would fill meanwhile at 400 MB/s, so the pipe is made 256 KiB first (seen from the
    writer's end, as the engine sees it). The flood tests above check what comes through."""
    import fcntl

    from session.streaming import PollSource

    read_fd, write_fd = os.pipe()
    try:
        assert fcntl.fcntl(write_fd, fcntl.F_GETPIPE_SZ) < 256 * 1024  # 64 KiB by default
        source = PollSource(read_fd)
        assert fcntl.fcntl(write_fd, fcntl.F_GETPIPE_SZ) == 256 * 1024 and source.rests
        os.write(write_fd, b"x" * 200_000)  # would block on a 64 KiB pipe
        assert source.read(65537, 1) == b"x" * 65537
    finally:
        os.close(write_fd)
        os.close(read_fd)
