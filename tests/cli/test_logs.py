"""`tradeday logs [ENGINE] [--date D] [-f] [-n N] [-c CONFIG]`: an engine's log or tradeday.log.

Rotated files (`NAME.log.1` newest ... `.N` oldest) are read oldest first; `-f` follows the real
console script's output line by line while the test appends to and rotates the file (rename to `.1`,
a new file), then stops it with a real SIGINT (exit 0, no traceback).
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import TRADEDAY, run_tradeday, write_config

DAY = "2026-11-20"
WAIT = 30.0  # upper bound for a line to arrive; it normally takes well under a second


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return write_config(tmp_path, """
        market: {calendar: XNSE}
        engines:
          - {name: alpha, command: [python, a.py]}
          - {name: beta, command: [python, b.py]}
          - {name: gamma, command: [python, c.py]}
        paths: {artifacts: art}
        notifications:
          enabled: false
          channels: [{type: webhook, name: ops, url: "https://hooks.invalid/${HOOK_TOKEN:-none}"}]
        """)


def logs_dir(cfg: Path, day: str | date = DAY) -> Path:
    folder = cfg.parent / "art" / "logs" / str(day)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def numbered(first: int, last: int) -> str:
    return "".join(f"line {i}\n" for i in range(first, last + 1))


def rotated_alpha(cfg: Path) -> Path:
    """alpha.log.2 (oldest): 1-10, alpha.log.1: 11-20, alpha.log: 21-30."""
    folder = logs_dir(cfg)
    (folder / "alpha.log.2").write_text(numbered(1, 10))
    (folder / "alpha.log.1").write_text(numbered(11, 20))
    (folder / "alpha.log").write_text(numbered(21, 30))
    return folder


def lines_of(r: subprocess.CompletedProcess[str]) -> list[str]:
    return r.stdout.splitlines()


def test_last_lines_across_rotated_files_oldest_first(cfg: Path, cli_home: Path) -> None:
    rotated_alpha(cfg)
    base = ["logs", "alpha", "--date", DAY, "-c", str(cfg)]
    r = run_tradeday(base, cwd=cli_home)
    assert r.returncode == 0, r.stderr
    assert lines_of(r) == [f"line {i}" for i in range(11, 31)]  # default: the last 20
    assert lines_of(run_tradeday([*base, "-n", "25"], cwd=cli_home)) == [f"line {i}" for i in range(6, 31)]
    assert lines_of(run_tradeday([*base, "-n", "3"], cwd=cli_home)) == ["line 28", "line 29", "line 30"]
    assert lines_of(run_tradeday([*base, "-n", "1000"], cwd=cli_home)) == [f"line {i}" for i in range(1, 31)]
    assert run_tradeday([*base, "-n", "0"], cwd=cli_home).stdout == ""
    bad = run_tradeday([*base, "-n", "-1"], cwd=cli_home)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_just_after_a_rotation_the_rotated_file_is_read(cfg: Path, cli_home: Path) -> None:
    folder = rotated_alpha(cfg)
    (folder / "alpha.log").unlink()  # renamed to .1, the new file not created yet
    r = run_tradeday(["logs", "alpha", "--date", DAY, "-n", "2", "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    assert lines_of(r) == ["line 19", "line 20"]


def test_without_an_engine_it_is_tradedays_own_log(cfg: Path, cli_home: Path) -> None:
    folder = rotated_alpha(cfg)
    (folder / "tradeday.log.1").write_text("tradeday older\n")
    (folder / "tradeday.log").write_text("tradeday newer\n")
    r = run_tradeday(["logs", "--date", DAY, "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    assert lines_of(r) == ["tradeday older", "tradeday newer"]


def test_bytes_are_kept_and_known_secrets_masked(cfg: Path, cli_home: Path) -> None:
    token = "hooktokenZ81qv"
    (logs_dir(cfg) / "alpha.log").write_bytes(b"caf\xe9 not utf-8\n" + f"url /{token}/x\n".encode())
    r = subprocess.run([TRADEDAY, "logs", "alpha", "--date", DAY, "-c", str(cfg)], capture_output=True,
                       cwd=cli_home, env={**os.environ, "HOOK_TOKEN": token}, timeout=60)
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.splitlines()
    assert first == b"caf\xe9 not utf-8"  # as in the file, not replaced by U+FFFD
    assert second.startswith(b"url ") and b"***" in second and token.encode() not in r.stdout


def test_an_unknown_engine_lists_the_ones_with_logs(cfg: Path, cli_home: Path) -> None:
    folder = rotated_alpha(cfg)
    (folder / "beta.log.1").write_text("b\n")  # only a rotated file: it has logs too
    (folder / "tradeday.log").write_text("t\n")
    r = run_tradeday(["logs", "nope", "--date", DAY, "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 2
    assert "nope" in r.stderr and "alpha, beta" in r.stderr and "Traceback" not in r.stderr
    # A configured engine without a log that day is no better: it is named, and so are the others.
    r = run_tradeday(["logs", "gamma", "--date", DAY, "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 2 and "gamma" in r.stderr and "alpha, beta" in r.stderr
    r = run_tradeday(["logs", "--date", "2020-01-02", "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 2 and "2020-01-02" in r.stderr
    r = run_tradeday(["logs", "--date", "20-11-2026", "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 2 and "YYYY-MM-DD" in r.stderr


def test_the_date_defaults_to_today_in_the_markets_timezone(cfg: Path, cli_home: Path) -> None:
    today = datetime.now(ZoneInfo("Asia/Kolkata")).date()
    for day in (today, today + timedelta(days=1)):  # the test may run across Kolkata's midnight
        (logs_dir(cfg, day) / "alpha.log").write_text("kolkata today\n")
    utc_today = datetime.now(ZoneInfo("UTC")).date()
    for day in (today - timedelta(days=1), utc_today):
        if day not in (today, today + timedelta(days=1)):
            (logs_dir(cfg, day) / "alpha.log").write_text("another day\n")
    r = run_tradeday(["logs", "alpha", "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    assert lines_of(r) == ["kolkata today"]


class Follower:
    """`tradeday logs -f` as a real subprocess; its stdout lines arrive in a queue."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
        self.proc = subprocess.Popen([TRADEDAY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=cwd, env=env)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, wanted: list[str]) -> None:
        got: list[str] = []
        deadline = time.monotonic() + WAIT
        while len(got) < len(wanted):
            try:
                line = self.lines.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            got.append(line)
        assert got == wanted, f"exit {self.proc.poll()}; stderr so far unknown"

    def interrupt(self) -> tuple[int, str, list[str]]:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=WAIT)
        assert self.proc.stderr is not None
        rest: list[str] = []
        while (line := self.lines.get(timeout=WAIT)) is not None:
            rest.append(line)
        return code, self.proc.stderr.read(), rest

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def rotate(folder: Path, name: str) -> None:
    """What the log writer does: shift .1 -> .2, NAME -> .1; the next write starts a new NAME."""
    base = folder / name
    if (folder / f"{name}.1").exists():
        os.replace(folder / f"{name}.1", folder / f"{name}.2")
    os.replace(base, folder / f"{name}.1")


def test_follow_across_rotations_until_ctrl_c(cfg: Path, cli_home: Path) -> None:
    folder = rotated_alpha(cfg)
    log = folder / "alpha.log"
    follower = Follower(["logs", "alpha", "-f", "-n", "2", "--date", DAY, "-c", str(cfg)], cli_home)
    try:
        follower.expect(["line 29", "line 30"])
        append(log, "grows 1\n")
        follower.expect(["grows 1"])
        # The last line of the old file and the first of the new one, with no pause in between.
        append(log, "last before rotation\n")
        rotate(folder, "alpha.log")
        append(log, "first after rotation\n")
        follower.expect(["last before rotation", "first after rotation"])
        append(log, "grows 2\n")
        follower.expect(["grows 2"])
        rotate(folder, "alpha.log")
        append(log, "second rotation\n")
        follower.expect(["second rotation"])
        append(folder / "alpha.log.1", "")  # touching the rotated file shows nothing new
        append(log, "still following\n")
        follower.expect(["still following"])
        code, stderr, rest = follower.interrupt()
    finally:
        follower.kill()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert rest == []  # nothing printed twice


def test_follow_waits_for_a_log_that_does_not_exist_yet(cfg: Path, cli_home: Path) -> None:
    folder = logs_dir(cfg)
    (folder / "alpha.log").write_text("x\n")
    follower = Follower(["logs", "gamma", "-f", "--date", DAY, "-c", str(cfg)], cli_home)
    try:
        # Whether the follower is already waiting or starts after this, the lines arrive once.
        append(folder / "gamma.log", "gamma started\n")
        follower.expect(["gamma started"])
        append(folder / "gamma.log", "gamma runs\n")
        follower.expect(["gamma runs"])
        code, stderr, rest = follower.interrupt()
    finally:
        follower.kill()
    assert code == 0 and "Traceback" not in stderr and rest == []


def test_a_reader_that_goes_away_ends_following_quietly(cfg: Path, cli_home: Path) -> None:
    """`tradeday logs -f | head -1`: the pipe closes; no traceback, no "Exception ignored"."""
    folder = rotated_alpha(cfg)
    proc = subprocess.Popen([TRADEDAY, "logs", "alpha", "-f", "-n", "1", "--date", DAY, "-c", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cli_home)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"line 30\n"
        proc.stdout.close()  # what head does after its line
        deadline = time.monotonic() + WAIT
        code: int | None = None
        while code is None and time.monotonic() < deadline:
            append(folder / "alpha.log", "more\n")  # the follower's next write meets the closed pipe
            try:
                code = proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
        assert proc.stderr is not None
        stderr = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr and "BrokenPipe" not in stderr
