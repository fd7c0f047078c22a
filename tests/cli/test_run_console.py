"""What a person sees of `tradeday run` and `tradeday eod`: on a terminal (a real pseudo-terminal)
colour, a live countdown to the engines' start and the summary block; without one, the same
lines plain, once; and the one timestamp convention (market time with its offset) on the
console and in tradeday.log."""
from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import REPO, TRADEDAY, run_tradeday, write_config

NY = ZoneInfo("America/New_York")
PY = sys.executable
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
OFFSET = r"[+-]\d\d:\d\d"


def starting_soon(folder: Path, lead: float) -> Path:
    """A config whose engines start ``lead`` seconds from now: a special session today that opens
    in two minutes, with start_before_open set to match."""
    now = datetime.now(NY)
    opens = (now + timedelta(minutes=2)).replace(second=0, microsecond=0)
    if opens.date() != now.date() or (opens + timedelta(minutes=30)).date() != now.date():
        pytest.skip("too close to midnight in New York for a session today")
    before = (opens - now).total_seconds() - lead
    return write_config(folder, f"""
        mode: paper
        market:
          calendar: XNYS
          special_sessions: {{{now.date()}: {{open: "{opens:%H:%M}", close: "{opens + timedelta(minutes=30):%H:%M}", name: test}}}}
        session: {{allowed_window: "00:00-23:59", heartbeat_interval: 1s, start_before_open: {before:.1f}s}}
        engines:
          - {{name: demo, command: ["{PY}", "{REPO}/examples/sample_engine.py", "--tick", "0.05", "--seed", "7"], start_secs: 0.3s, stop_timeout: 5s}}
        broker: {{kind: none}}
        checks: {{min_free_disk: 1MiB}}
        notifications: {{enabled: false}}
        """)


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_") and k != "NO_COLOR"}
    env.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
    return env


def run_in_pty(args: list[str], cwd: Path, timeout: float = 90) -> tuple[int, str]:
    """Run tradeday with stdout and stderr on a pseudo-terminal; (exit code, everything it drew)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([TRADEDAY, *args], cwd=cwd, env=clean_env(), stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the last writer closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, end - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def report_summary(folder: Path) -> dict:
    day = datetime.now(NY).date()
    return json.loads((folder / "artifacts" / "reports" / "daily" / f"{day}.json").read_text())["summary"]


def test_a_run_on_a_terminal_counts_down_and_ends_with_a_summary(tmp_path: Path) -> None:
    cfg = starting_soon(tmp_path, lead=20)  # generous: start-up on a busy machine (load 14 seen)
    code, screen = run_in_pty(["run", "-c", str(cfg), "--duration", "2s"], cwd=tmp_path)
    assert code == 0, screen
    assert ANSI.search(screen), "no colour on a terminal"
    text = ANSI.sub("", screen)
    assert re.search(r"prechecks passed \(\d+ ok, 0 warnings\)", text), text
    # One live line, redrawn: the countdown shows several different values before the start.
    counts = re.findall(rf"waiting: engines start at \d\d:\d\d:\d\d{OFFSET} \(open \d\d:\d\d:00{OFFSET}\), in (\d+)s",
                        text)
    assert len(set(counts)) >= 2, text
    assert re.search(rf"engines started at \d\d:\d\d:\d\d{OFFSET}: demo", text), text
    # The summary block: window, engine outcome, fills/trades/PnL as the report has them, paths.
    day = datetime.now(NY).date()
    assert f"── {day} XNYS paper: exit 0" in text, text
    assert re.search(rf"session +\d\d:\d\d:\d\d{OFFSET} – \d\d:\d\d:\d\d{OFFSET} \(scheduled stop \(--duration 2s\)\)",
                     text), text
    assert re.search(r"engines +demo +STOPPED +starts 1 +restarts 0 +exit 0", text), text
    s = report_summary(tmp_path)
    assert f"fills {s['fills']:,} · trades {s['trades']:,} · realized PnL {s['realized_pnl']:+,.2f} USD" in text, text
    assert f"report (md): {tmp_path / 'artifacts' / 'reports' / 'daily' / f'{day}.md'}" in text, text
    # On a terminal the console says what the INFO lines would; they are in tradeday.log.
    assert "INFO    tradeday.run:" not in text
    log = (tmp_path / "artifacts" / "logs" / str(day) / "tradeday.log").read_text()
    assert "INFO    tradeday.run: session started" in log


def test_a_run_without_a_terminal_prints_plain_lines_and_stamps_market_time(tmp_path: Path) -> None:
    cfg = starting_soon(tmp_path, lead=12)
    r = run_tradeday(["run", "-c", str(cfg), "--duration", "1s"], cwd=tmp_path, timeout=90)
    assert r.returncode == 0, r.stderr
    assert not ANSI.search(r.stdout + r.stderr), "colour without a terminal"
    out = [line for line in r.stdout.splitlines() if not line.startswith("[demo]")]
    assert sum(1 for line in out if line.startswith("waiting: engines start at")) == 1, out  # once, no live line
    assert any(re.fullmatch(r"prechecks passed \(\d+ ok, 0 warnings\)", line) for line in out), out
    for step in ("analytics", "backtest", "fills", "reconcile", "report"):
        assert any(re.match(rf"{step} +running +\(started \d\d:\d\d:\d\d{OFFSET}\)", line) for line in out), out
    assert any(line.startswith("── ") and "exit 0" in line for line in out), out
    assert any(line.startswith("report (json): ") for line in out), out
    # One convention: market time with its offset, on the console and in tradeday.log.
    offset = datetime.now(NY).strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    stamped = [line for line in r.stderr.splitlines() if re.match(r"\d\d:\d\d:\d\d", line)]
    assert stamped and all(line[8:14] == offset for line in stamped), r.stderr
    day = datetime.now(NY).date()
    log = (tmp_path / "artifacts" / "logs" / str(day) / "tradeday.log").read_text().splitlines()
    assert log and all(re.match(rf"{day}T\d\d:\d\d:\d\d\.\d{{3}}{re.escape(offset)} ", line) for line in log), log[:3]
    # ...and in the messages: no raw microseconds, no zone-less times.
    assert not re.search(r"\d\d:\d\d:\d\d\.\d{6}", r.stderr + "\n".join(log))


def test_quiet_prints_nothing(tmp_path: Path) -> None:
    cfg = starting_soon(tmp_path, lead=1)
    r = run_tradeday(["run", "-c", str(cfg), "--duration", "1s", "--quiet", "--no-eod"], cwd=tmp_path, timeout=90)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
