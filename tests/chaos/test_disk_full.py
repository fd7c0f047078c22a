"""A log disk that fills up mid-session must not stop trading (issue 10).

``tradeday run`` with ``paths.artifacts`` on a real 1 MiB tmpfs and a chatty engine that also
records its ticks in a file outside the tmpfs. The test fills the tmpfs once the engine's first
lines are logged (and, in one case, frees it later) and checks that the engine traded until
the scheduled stop, that tradeday said so once (a CRITICAL line and a ``disk_full`` event at a
loopback webhook), kept the console going, noted the gap when space returned, and left a
state file that is valid JSON.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.chaos.conftest import fill, needs_root
from tests.conftest import TRADEDAY, write_config
from tests.fakes.http_recorder import HttpRecorder

PY = sys.executable
NY = ZoneInfo("America/New_York")

# Prints a line every few milliseconds; each tick also goes to a file on another disk, with
# the pid and TRADEDAY_RESTARTS, so the test sees whether it kept trading, and as one process.
CHATTY_ENGINE = r'''
import os, signal, sys, time
ticks = open(sys.argv[1], "a", buffering=1)
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(time.time()))
pid, restarts = os.getpid(), os.environ.get("TRADEDAY_RESTARTS")
i = 0
while not stop:
    now = time.time()
    print(f"tick {i} t={now:.3f} " + "x" * 120, flush=True)
    ticks.write(f"tick {i} {now:.6f} {pid} {restarts}\n")
    i += 1
    time.sleep(0.004)
ticks.write(f"term {stop[0]:.6f} {pid} {restarts}\n")
print("flat: stopped", flush=True)
'''


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def setup_run(tmp_path: Path, disk: Path, hook: HttpRecorder, eod: bool = False) -> tuple[Path, Path]:
    script = tmp_path / "chatty.py"
    script.write_text(CHATTY_ENGINE)
    ticks = tmp_path / "ticks.txt"
    cfg = write_config(tmp_path, f"""
        mode: paper
        market: {{calendar: XNYS}}
        session: {{allowed_window: "00:00-23:59", heartbeat_interval: 0.5s}}
        paths: {{artifacts: {disk}/artifacts}}
        engines:
          - {{name: chatty, command: ["{PY}", "{script}", "{ticks}"], start_secs: 0.2s, stop_timeout: 5s}}
        checks: {{min_free_disk: 1KiB}}
        eod: {{enabled: {str(eod).lower()}}}
        notifications:
          enabled: true
          channels:
            - {{type: webhook, url: "{hook.url}/hook"}}
        """)
    return cfg, ticks


def start(cfg: Path, tmp_path: Path, duration: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    # Console and stderr go to files on the healthy disk, to read them while the run goes on.
    return subprocess.Popen(
        [TRADEDAY, "run", "-c", str(cfg), "--start-now", "--duration", duration], cwd=home, env=env,
        stdout=open(tmp_path / "stdout.txt", "wb"), stderr=open(tmp_path / "stderr.txt", "wb"))


def events(hook: HttpRecorder, name: str) -> list[dict]:
    return [r.json() for r in list(hook.requests) if r.json().get("event") == name]


def finish(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def ticks_of(path: Path) -> tuple[list[tuple[int, float, str, str]], list[float]]:
    ticks, terms = [], []
    for line in read(path).splitlines():
        parts = line.split()
        if parts[0] == "tick" and len(parts) == 5:
            ticks.append((int(parts[1]), float(parts[2]), parts[3], parts[4]))
        elif parts[0] == "term":
            terms.append(float(parts[1]))
    return ticks, terms


def check_traded_until_the_stop(ticks_file: Path, state: dict) -> None:
    """One process, never restarted, ticking right up to the scheduled stop, stopped by it."""
    ticks, terms = ticks_of(ticks_file)
    assert {(pid, restarts) for _, _, pid, restarts in ticks} == {(ticks[0][2], "0")}
    assert [n for n, *_ in ticks] == list(range(len(ticks)))
    stop_at = datetime.fromisoformat(state["session"]["stop_at"]).timestamp()
    assert len(terms) == 1 and terms[0] >= stop_at - 0.05, "stopped before the scheduled stop"
    assert ticks[-1][1] >= stop_at - 1.0, "stopped ticking long before the scheduled stop"


def critical_disk_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CRITICAL" in line and "disk" in line.lower()]


@needs_root
def test_disk_full_then_freed_keeps_trading_and_notes_the_gap(tmp_path: Path, small_disk: Path) -> None:
    with HttpRecorder() as hook:
        cfg, ticks_file = setup_run(tmp_path, small_disk, hook)
        proc = start(cfg, tmp_path, "10s")
        try:
            day = datetime.now(NY).date()
            log = small_disk / "artifacts" / "logs" / str(day) / "chatty.log"
            wait_until(lambda: read(log).count("tick ") >= 5, 20, "the engine's first logged lines")
            filler = fill(small_disk)
            filled_at = time.time()
            wait_until(lambda: bool(events(hook, "disk_full")), 15, "the disk_full event")
            # Trading goes on while the disk is full; then space comes back.
            ticked = len(ticks_of(ticks_file)[0])
            wait_until(lambda: len(ticks_of(ticks_file)[0]) >= ticked + 50, 15, "more ticks on a full disk")
            filler.unlink()
            wait_until(lambda: "dropped while the disk was full" in read(log), 15, "the gap note in the log")
            code = finish(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
        stderr = read(tmp_path / "stderr.txt")
        state = json.loads((small_disk / "artifacts" / "state" / f"{day}.json").read_text())
        assert code == 0, stderr
        assert "Traceback" not in stderr
        assert len(critical_disk_lines(stderr)) == 1, stderr
        assert len(events(hook, "disk_full")) == 1
        assert events(hook, "disk_full")[0]["level"] == "critical"
        check_traded_until_the_stop(ticks_file, state)
        # Space came back: the state file caught up, and the log says what it lost, once.
        assert state["phase"] == "DONE" and state["exit_code"] == 0
        text = read(log)
        gap = [line for line in text.splitlines() if "dropped while the disk was full" in line]
        assert len(gap) == 1 and "### tradeday:" in gap[0]
        dropped_bytes, dropped_lines = (int(gap[0].split()[i]) for i in (3, 6))
        assert dropped_bytes > 0 and dropped_lines > 0
        assert "stopped: pid" in text  # the notes after the gap were written again
        # Every line the log kept is whole (a timestamp, then the engine's line).
        for line in text.splitlines():
            assert line[:4].isdigit() and (" tick " in line or " ### tradeday: " in line or " flat: " in line), line
        # The console kept going while the disk was full.
        console = read(tmp_path / "stdout.txt")
        late = [float(w[2:]) for w in console.split() if w.startswith("t=")]
        assert any(t > filled_at + 0.5 for t in late)


@needs_root
def test_disk_full_to_the_end_keeps_the_last_good_state(tmp_path: Path, small_disk: Path) -> None:
    with HttpRecorder() as hook:
        cfg, ticks_file = setup_run(tmp_path, small_disk, hook)
        proc = start(cfg, tmp_path, "5s")
        try:
            day = datetime.now(NY).date()
            log = small_disk / "artifacts" / "logs" / str(day) / "chatty.log"
            wait_until(lambda: read(log).count("tick ") >= 5, 20, "the engine's first logged lines")
            fill(small_disk)
            code = finish(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
        stderr = read(tmp_path / "stderr.txt")
        assert code == 0, stderr
        assert "Traceback" not in stderr and "internal error" not in stderr
        assert len(critical_disk_lines(stderr)) == 1, stderr
        assert len(events(hook, "disk_full")) == 1
        assert {e["event"] for e in (r.json() for r in hook.requests)} >= {"session_started", "session_closed"}
        # The last good state file is kept, whole; the end of the run says what it could not write.
        state = json.loads((small_disk / "artifacts" / "state" / f"{day}.json").read_text())
        assert state["phase"] == "TRADING"
        assert "state file" in stderr and "not recorded" in stderr
        assert "lines of engine output dropped" in stderr
        check_traded_until_the_stop(ticks_file, state)


@needs_root
def test_end_of_day_on_a_full_disk_says_what_it_could_not_write(tmp_path: Path, small_disk: Path) -> None:
    with HttpRecorder() as hook:
        cfg, ticks_file = setup_run(tmp_path, small_disk, hook, eod=True)
        proc = start(cfg, tmp_path, "4s")
        try:
            day = datetime.now(NY).date()
            log = small_disk / "artifacts" / "logs" / str(day) / "chatty.log"
            wait_until(lambda: read(log).count("tick ") >= 5, 20, "the engine's first logged lines")
            fill(small_disk)
            code = finish(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
        stderr = read(tmp_path / "stderr.txt")
        assert code != 70 and "Traceback" not in stderr, stderr
        assert len(critical_disk_lines(stderr)) == 1, stderr
        state = json.loads((small_disk / "artifacts" / "state" / f"{day}.json").read_text())
        check_traded_until_the_stop(ticks_file, state)


def test_helpers_parse_what_the_engine_writes(tmp_path: Path) -> None:
    path = tmp_path / "ticks.txt"
    path.write_text("tick 0 1.5 10 0\ntick 1 2.5 10 0\nterm 3.0 10 0\n")
    ticks, terms = ticks_of(path)
    assert [t[0] for t in ticks] == [0, 1] and terms == [3.0]
    state = {"session": {"stop_at": datetime.fromtimestamp(3.0 - 0.01, NY).isoformat()}}
    check_traded_until_the_stop(path, state)
    with pytest.raises(AssertionError):
        check_traded_until_the_stop(path, {"session": {"stop_at": (datetime.fromtimestamp(3.0, NY)
                                                                   + timedelta(seconds=5)).isoformat()}})
