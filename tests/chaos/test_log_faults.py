"""The log file under disk faults, piece by piece, on real tmpfs mounts: a full disk mid-chunk, a
read-only remount, a pipe reader whose log cannot be written, and the once-per-episode alert."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.diskfaults import DiskFault, DiskFaults
from core.logfile import AppendFile
from session.streaming import ConsoleWriter, EngineLog, OutputCounters, PipeReader, TimestampFormatter
from tests.chaos.conftest import fill, needs_root, tmpfs

PY = sys.executable


@pytest.fixture
def faults() -> Iterator[tuple[DiskFaults, list[DiskFault]]]:
    """A private DiskFaults (the process-wide one stays clean) and the alerts it gave."""
    record = DiskFaults()
    alerts: list[DiskFault] = []
    record.subscribe(alerts.append)
    yield record, alerts


def lines(n: int, start: int = 0) -> bytes:
    return b"".join(b"line %06d %s\n" % (i, b"y" * 90) for i in range(start, start + n))


@needs_root
def test_full_disk_mid_chunk_keeps_whole_lines_and_notes_the_gap(tmp_path: Path, faults: tuple) -> None:
    record, alerts = faults
    with tmpfs(tmp_path / "disk", "256k") as disk:
        log = AppendFile(disk / "e.log", what="the test log", faults=record, retry_seconds=0)
        # tmpfs allocates whole pages: a first line of exactly one page leaves no slack in it.
        first = b"f" * 4095 + b"\n"
        log.write(first)
        filler = fill(disk)
        # Free one page, less than the next chunk needs: the write goes in part, then fails.
        os.truncate(filler, filler.stat().st_size - 4096)
        log.write(lines(200, start=10))
        assert log.failing
        data = (disk / "e.log").read_bytes()
        assert data == first  # cut back to the last whole line
        assert len(alerts) == 1 and alerts[0].full and alerts[0].path.endswith("e.log")
        second = fill(disk, "filler2")  # now not even the note of the gap fits
        log.write(lines(5, start=210))  # dropped, no second alert
        assert len(alerts) == 1 and log.failing
        filler.unlink()
        second.unlink()
        log.write(lines(1, start=215))
        assert not log.failing and record.failing == []
        text = (disk / "e.log").read_text().splitlines()
        dropped = len(lines(200, start=10)) + len(lines(5, start=210))
        assert text[1] == f"### tradeday: {dropped} bytes / 205 lines dropped while the disk was full"
        assert text[2].startswith("line 000215") and len(text) == 3
        assert log.close() is None


@needs_root
def test_read_only_disk_drops_then_recovers(tmp_path: Path, faults: tuple) -> None:
    """A log folder on a read-only mount (the file cannot even be opened), remounted read-write later."""
    record, alerts = faults
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(disk)], check=True)
    try:
        log = EngineLog(disk / "e.log", TimestampFormatter(), name="e", faults=record, retry_seconds=0)
        log.write_lines(lines(4))
        assert len(alerts) == 1 and not alerts[0].full and alerts[0].error == "Read-only file system"
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        log.write_lines(lines(1, start=4))
        text = (disk / "e.log").read_text()
        assert "4 lines of engine output dropped while writes failed (Read-only file system)" in text
        assert text.rstrip().endswith("line 000004 " + "y" * 90)
        assert log.close() is None and record.failing == []
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@needs_root
def test_a_reader_keeps_draining_and_echoing_when_its_log_cannot_be_written(tmp_path: Path) -> None:
    """The engine is never blocked nor killed: its writes all go through, the console shows them."""
    with tmpfs(tmp_path / "disk", "128k") as disk:
        log = EngineLog(disk / "e.log", TimestampFormatter(), name="e")
        fill(disk)
        writer = subprocess.Popen(
            [PY, "-c", "import sys\nfor i in range(20000): sys.stdout.write(f'{i:06d} payload\\n')\n"
                       "sys.stdout.flush(); print('all written', file=sys.stderr)"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert writer.stdout is not None
        console = io.BytesIO()
        counters = OutputCounters()
        reader = PipeReader(os.dup(writer.stdout.fileno()), engine="e", log=log, console=ConsoleWriter(console),
                            counters=counters)
        writer.stdout.close()
        reader.start()
        _, err = writer.communicate(timeout=60)
        reader.join(30)
        assert writer.returncode == 0 and b"all written" in err  # no EPIPE, not stuck
        assert not reader.is_alive()
        assert counters.lines_total == 20000
        shown = console.getvalue().splitlines()
        assert len(shown) == 20000 and shown[-1] == b"[e] 019999 payload"
        gap = log.close()
        assert gap is not None and gap.lines >= 19000  # dropped and counted, not lost silently
        from core.diskfaults import DISK_FAULTS

        DISK_FAULTS.reset()


def test_one_alert_per_episode_and_none_again_soon(faults: tuple) -> None:
    import errno

    record, alerts = faults
    full = OSError(errno.ENOSPC, "No space left on device")
    record.failed(DiskFault("a", "/x/a.log", errno.ENOSPC, "No space left on device"))
    record.failed(DiskFault("b", "/x/b.log", errno.ENOSPC, "No space left on device"))
    assert [a.path for a in alerts] == ["/x/a.log"]
    record.recovered("/x/a.log")
    record.recovered("/x/b.log")
    assert record.failing == []
    record.failed(DiskFault("a", "/x/a.log", full.errno, "again"))  # a new episode, within the hour
    assert len(alerts) == 1
    # A permission problem is no disk fault: said, but no alert.
    record.reset()
    record.failed(DiskFault("c", "/x/c.log", errno.EACCES, "Permission denied"))
    assert len(alerts) == 1


def test_a_failing_listener_does_not_reach_the_writer() -> None:
    import errno

    record = DiskFaults()

    def broken(fault: DiskFault) -> None:
        raise RuntimeError("bug in a listener")

    record.subscribe(broken)
    record.failed(DiskFault("a", "/x/a.log", errno.EIO, "Input/output error"))  # does not raise
    assert len(record.failing) == 1


def test_writers_from_many_threads_keep_lines_whole(tmp_path: Path) -> None:
    log = AppendFile(tmp_path / "t.log", what="t", max_bytes=8192, backups=50)

    def work(n: int) -> None:
        for i in range(500):
            log.write(b"t%d %04d %s\n" % (n, i, b"z" * (i % 40)))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    seen = []
    for p in tmp_path.iterdir():
        data = p.read_bytes()
        assert len(data) <= 8192 and data.endswith(b"\n")
        for line in data.splitlines():
            name, number, tail = line.split(b" ")
            assert tail == b"z" * (int(number) % 40)
            seen.append((name, int(number)))
    assert sorted(seen) == sorted((b"t%d" % n, i) for n in range(4) for i in range(500))


def test_a_line_longer_than_the_cap_gets_a_file_of_its_own(tmp_path: Path) -> None:
    log = AppendFile(tmp_path / "l.log", what="l", max_bytes=100, backups=5)
    log.write(b"short 1\n")
    log.write(b"L" * 250 + b"\n")
    log.write(b"short 2\nshort 3\n")
    log.close()
    assert (tmp_path / "l.log.2").read_bytes() == b"short 1\n"
    assert (tmp_path / "l.log.1").read_bytes() == b"L" * 250 + b"\n"
    assert (tmp_path / "l.log").read_bytes() == b"short 2\nshort 3\n"


class _BrokenLog(EngineLog):
    """A log whose writes raise what no real file raises (a bug): the reader's last line of defence."""

    def write_lines(self, complete: bytes, now: float | None = None) -> int:
        raise RuntimeError("bug in the log")

    def write_chunk(self, head: bytes, data: bytes, end: int, now: float | None = None) -> int:
        raise RuntimeError("bug in the log")


def test_a_bug_in_handling_output_does_not_close_the_engines_pipe(tmp_path: Path) -> None:
    log = _BrokenLog(tmp_path / "e.log", TimestampFormatter(), name="e")
    writer = subprocess.Popen(
        [PY, "-c", "import sys\nfor i in range(50000): print(i, flush=True)\nprint('all written', file=sys.stderr)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert writer.stdout is not None
    counters = OutputCounters()
    reader = PipeReader(os.dup(writer.stdout.fileno()), engine="e", log=log, console=None, counters=counters)
    writer.stdout.close()
    reader.start()
    _, err = writer.communicate(timeout=60)
    reader.join(30)
    assert writer.returncode == 0 and b"all written" in err, err  # not killed by EPIPE
    assert not reader.is_alive() and reader.bytes_read == sum(len(f"{i}\n") for i in range(50000))
    log.close()
