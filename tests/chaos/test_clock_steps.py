"""Wall-clock steps (an NTP correction, a VM resumed) must not make a healthy engine look hung,
nor hide a hung one (issue 10): heartbeat freshness and hang detection run on the monotonic clock.

The orchestrator runs under libfaketime with the monotonic clock left alone
(``FAKETIME_DONT_FAKE_MONOTONIC=1``: with it faked, ``Event.wait`` never returns) and its wall
clock read from a file the test rewrites (``FAKETIME_TIMESTAMP_FILE`` + ``FAKETIME_NO_CACHE=1``).
The engine's environment clears ``LD_PRELOAD``: it keeps the real clock, and the kernel stamps
the heartbeat file's mtime with the real time, an hour away from what tradeday believes.
"""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import TRADEDAY, write_config

PY = sys.executable


def _libfaketime() -> str | None:
    for pattern in ("/usr/lib/*/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1",
                    "/usr/local/lib/faketime/libfaketime.so.1"):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


LIBFAKETIME = _libfaketime()
pytestmark = pytest.mark.skipif(LIBFAKETIME is None, reason="libfaketime is not installed (Debian: faketime)")

# Quiet on purpose: one line at start, then only heartbeat touches, each also counted in a
# file outside tradeday's folders; it stops touching once ``stop_file`` exists (a real hang).
BEATING_ENGINE = r'''
import os, signal, sys, time
from pathlib import Path
beats, stop_file = Path(sys.argv[1]), Path(sys.argv[2])
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
heartbeat = Path(os.environ["TRADEDAY_HEARTBEAT"])
print(f"quiet engine pid={os.getpid()} restarts={os.environ['TRADEDAY_RESTARTS']}", flush=True)
with beats.open("a", buffering=1) as out:
    while True:
        if not stop_file.exists():
            heartbeat.touch()
            out.write(f"beat {os.getpid()} {time.time():.3f}\n")
        time.sleep(0.1)
'''


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


class FakeClockRun:
    """``tradeday run`` whose wall clock the test steps (``step_to("-1h")``, ``step_to("+0")``)."""

    def __init__(self, tmp_path: Path, *, restart: str = "on-failure") -> None:
        self.tmp = tmp_path
        self.beats = tmp_path / "beats.txt"
        self.stop_file = tmp_path / "stop-beating"
        self.clock = tmp_path / "faketime.rc"
        self.clock.write_text("+0\n")
        script = tmp_path / "quiet.py"
        script.write_text(BEATING_ENGINE)
        # No session today and no --duration: nothing but the engine ends the run, whatever
        # the wall clock does to a scheduled stop (that is day.py's business, tested there).
        today = datetime.now(ZoneInfo("America/New_York")).date()
        self.cfg = write_config(tmp_path, f"""
            mode: paper
            market: {{calendar: XNYS, extra_holidays: {{{today}: Clock test}}}}
            session: {{allowed_window: "00:00-23:59", heartbeat_interval: 1s}}
            engines:
              - name: quiet
                command: ["{PY}", "{script}", "{self.beats}", "{self.stop_file}"]
                start_secs: 0.2s
                hang_timeout: 1.5s
                restart: {restart}
                max_restarts: 0
                stop_timeout: 2s
                env: {{LD_PRELOAD: ""}}
            checks: {{min_free_disk: 1MiB, max_clock_skew: 10000h}}
            eod: {{enabled: false}}
            """)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
        env.update(LD_PRELOAD=str(LIBFAKETIME), FAKETIME_TIMESTAMP_FILE=str(self.clock), FAKETIME_NO_CACHE="1",
                   FAKETIME_DONT_FAKE_MONOTONIC="1")
        home = tmp_path / "home"
        home.mkdir()
        self.proc = subprocess.Popen([TRADEDAY, "run", "-c", str(self.cfg), "--start-now"],
                                     cwd=home, env=env, stdout=subprocess.DEVNULL,
                                     stderr=open(tmp_path / "stderr.txt", "wb"))

    def step_to(self, offset: str) -> None:
        tmp = self.clock.with_suffix(".new")
        tmp.write_text(offset + "\n")
        os.replace(tmp, self.clock)  # libfaketime re-reads it at every call: never half a file

    def beat_count(self) -> int:
        try:
            return self.beats.read_text().count("beat ")
        except FileNotFoundError:
            return 0

    def wait_beats(self, more: int) -> None:
        target = self.beat_count() + more
        wait_until(lambda: self.beat_count() >= target or self.proc.poll() is not None, 30, f"{more} more beats")

    def pids(self) -> set[str]:
        return {line.split()[1] for line in self.beats.read_text().splitlines()}

    def stderr(self) -> str:
        return (self.tmp / "stderr.txt").read_text(errors="replace")

    def finish(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def test_wall_clock_steps_do_not_make_a_beating_engine_hung(tmp_path: Path) -> None:
    run = FakeClockRun(tmp_path)
    try:
        run.wait_beats(5)
        # Each step is held longer than hang_timeout (1.5 s: 20+ beats at 0.1 s).
        for offset in ("-1h", "+0", "+1h"):
            run.step_to(offset)
            run.wait_beats(25)
        assert run.proc.poll() is None, run.stderr()  # still trading
        run.stop_file.touch()  # now it does hang: the watchdog still works after the steps
        wait_until(lambda: "hung" in run.stderr() or run.proc.poll() is not None, 30, "the hang to be seen")
        code = run.finish()
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    stderr = run.stderr()
    assert "Traceback" not in stderr
    hung = [line for line in stderr.splitlines() if "hung" in line and "engine quiet" in line]
    # Only the real hang at the end, none while it was beating: one process all along.
    assert len(hung) == 1, stderr
    assert len(run.pids()) == 1
    assert code == 4, stderr  # the hang made it fail (restart: on-failure, max_restarts: 0)


def test_a_hung_engine_is_still_found_after_the_clock_steps_back(tmp_path: Path) -> None:
    run = FakeClockRun(tmp_path, restart="never")
    try:
        run.wait_beats(5)
        run.step_to("-1h")
        run.wait_beats(5)
        run.stop_file.touch()  # it stops touching the heartbeat: hung 1.5 s later
        wait_until(lambda: "hung" in run.stderr() or run.proc.poll() is not None, 30, "the hang to be seen")
        code = run.finish()
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    stderr = run.stderr()
    assert "engine quiet hung" in stderr, stderr
    assert code == 4 and "Traceback" not in stderr
