"""Log caps (issue 10): ``session.log_max_size`` / ``session.log_backups`` rotate ``{engine}.log`` and
``tradeday.log`` without losing, splitting or reordering lines, without holding up the engine, and
every log file is private (0600, folders 0700).

A chatty engine wrote 163 MB in 9 s in the field; that is what fills a disk first.
"""
from __future__ import annotations

import json
import logging
import os
import re
import stat
import sys
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from core.logsetup import LogFileHandler
from tests.conftest import run_tradeday, write_config

PY = sys.executable
NY = ZoneInfo("America/New_York")
CAP = 64 * 1024
BACKUPS = 3

# Writes LINES deterministic lines as fast as it can (each flushed: PYTHONUNBUFFERED), then
# says so and exits 0, which ends the session ("every engine finished").
FLOOD_ENGINE = r'''
import sys
lines = int(sys.argv[1])
for i in range(lines):
    print(f"{i:08d} " + "abcdefghijklmnopqrstuvwxyz"[: i % 27] * 3)
print(f"done {lines}")
'''


def payload(i: int) -> str:
    return f"{i:08d} " + "abcdefghijklmnopqrstuvwxyz"[: i % 27] * 3


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def rotated_set(folder: Path, name: str) -> list[Path]:
    """``name.N`` ... ``name.1``, ``name``: oldest first."""
    backups = sorted((p for p in folder.iterdir() if p.name.startswith(name + ".") and p.name[len(name) + 1:].isdigit()),
                     key=lambda p: -int(p.name.rsplit(".", 1)[1]))
    return [*backups, folder / name]


def test_engine_log_rotates_whole_lines_in_order_without_blocking(tmp_path: Path, cli_home: Path) -> None:
    script = tmp_path / "flood.py"
    script.write_text(FLOOD_ENGINE)
    lines = 30000  # about 1.5 MB of log: more than 4 files of 64 KiB, so the oldest go
    cfg = write_config(tmp_path, f"""
        mode: paper
        market: {{calendar: XNYS}}
        session: {{allowed_window: "00:00-23:59", heartbeat_interval: 1s, log_max_size: 64KiB, log_backups: {BACKUPS}}}
        engines:
          - {{name: flood, command: ["{PY}", "{script}", "{lines}"], start_secs: 0.1s}}
        checks: {{min_free_disk: 1MiB}}
        eod: {{enabled: false}}
        """)
    proc = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "120s", "--quiet"], cwd=cli_home,
                        timeout=150)
    assert proc.returncode == 0, proc.stderr
    day = datetime.now(NY).date()
    state = json.loads((tmp_path / "artifacts" / "state" / f"{day}.json").read_text())
    # Never blocked: it wrote every line and exited by itself, long before the scheduled stop.
    assert state["engines"][0]["state"] == "EXITED" and state["engines"][0]["exit_code"] == 0
    assert "stopping: every engine finished" in state["message"]

    folder = tmp_path / "artifacts" / "logs" / str(day)
    files = rotated_set(folder, "flood.log")
    assert [p.name for p in files] == [f"flood.log.{n}" for n in range(BACKUPS, 0, -1)] + ["flood.log"]
    seen: list[int] = []
    for path in files:
        data = path.read_bytes()
        assert len(data) <= CAP and data.endswith(b"\n"), path
        assert mode_of(path) == 0o600, path
        for line in data.decode().splitlines():
            stamp, _, text = line.partition(" ")
            assert stamp[:4].isdigit() and stamp[10] == "T", line  # every line whole: its timestamp first
            if text.startswith("### tradeday:") or text.startswith("done "):
                continue
            number = int(text[:8])
            assert text == payload(number), line
            seen.append(number)
    # In order, none twice, none missing from the oldest kept line to the last one.
    assert seen == list(range(seen[0], lines))
    assert seen[0] > 0  # the oldest lines went with the oldest backup
    assert "done 30000" in files[-1].read_text()
    # Private: the logs and their folders.
    assert mode_of(folder) == 0o700 and mode_of(folder.parent) == 0o700
    assert mode_of(folder / "tradeday.log") == 0o600


def test_tradeday_log_rotates_and_stays_private(tmp_path: Path) -> None:
    from core.redact import GLOBAL_REDACTOR

    secret = "sekretValue9Qz"
    GLOBAL_REDACTOR.add(secret)
    path = tmp_path / "logs" / "2026-11-20" / "tradeday.log"
    handler = LogFileHandler(path, max_bytes=4096, backups=2)
    logger = logging.getLogger("tradeday.test.rotation")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        def writer(worker: int) -> None:
            for i in range(300):
                if i % 50 == 0:
                    logger.info("w%d n%04d two lines\nsecond line of w%d n%04d %s", worker, i, worker, i, secret)
                else:
                    logger.info("w%d n%04d one line", worker, i)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        logger.removeHandler(handler)
        handler.close()
        GLOBAL_REDACTOR._secrets.discard(secret)
    files = rotated_set(path.parent, "tradeday.log")
    assert [p.name for p in files] == ["tradeday.log.2", "tradeday.log.1", "tradeday.log"]
    last: dict[int, int] = {}
    for p in files:
        text = p.read_text()
        assert len(text.encode()) <= 4096 and text.endswith("\n") and mode_of(p) == 0o600
        assert secret not in text
        for line in text.splitlines():
            if line.startswith("second line of"):
                continue  # the second line of a two-line record
            words = line.split()
            # whole: its ISO-8601 time with offset, its level, its message
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", words[0]), line
            assert words[1] == "INFO" and words[3].startswith("w"), line
            worker, number = int(words[3][1:]), int(words[4][1:])
            assert number > last.get(worker, -1), line  # each thread's records in order
            last[worker] = number
    assert all(n == 299 for n in last.values())  # the newest of every writer is kept
    assert mode_of(path.parent) == 0o700 and mode_of(path.parent.parent) == 0o700


def test_existing_log_becomes_private(tmp_path: Path) -> None:
    """A log file from an older version (0644) is made 0600 when tradeday appends to it."""
    from core.logfile import AppendFile

    path = tmp_path / "old.log"
    path.write_text("old line\n")
    os.chmod(path, 0o644)
    log = AppendFile(path, what="test log")
    log.write(b"new line\n")
    log.close()
    assert mode_of(path) == 0o600 and path.read_text() == "old line\nnew line\n"
