"""Helpers of the day-runner chaos tests: a real ``tradeday run`` (or ``eod``/``report``)
subprocess, its state file and logs, processes a test must see gone, and libfaketime."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
import pytest

from tests.conftest import REPO, popen_tradeday

PY = sys.executable
NY = ZoneInfo("America/New_York")
FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")

needs_faketime = pytest.mark.skipif(not FAKETIME_LIB.exists(),
                                    reason="libfaketime is not installed (apt-get install faketime)")


def config_text(engines: str, *, extra: str = "", calendar: str = "XNYS", market_extra: str = "",
                eod: str = "eod: {enabled: false}", session_extra: str = "") -> str:
    """A config of the tests: any hour is allowed, heartbeat every second."""
    return textwrap.dedent(f"""\
        mode: paper
        market: {{calendar: {calendar}{market_extra}}}
        session: {{allowed_window: "00:00-23:59", heartbeat_interval: 1s{session_extra}}}
        engines:
        {{engines}}
        checks: {{min_free_disk: 1MiB}}
        {eod}
        """).replace("{engines}", engines) + textwrap.dedent(extra)


def sample_engine(name: str = "demo", **fields: str) -> str:
    more = "".join(f", {k}: {v}" for k, v in fields.items())
    return (f'  - {{name: {name}, command: ["{PY}", "{REPO}/examples/sample_engine.py", "--tick", "0.05",'
            f' "--seed", "7"], start_secs: 0.3s, stop_timeout: 5s{more}}}')


def script_engine(name: str, script: Path, **fields: str) -> str:
    more = "".join(f", {k}: {v}" for k, v in fields.items())
    return f'  - {{name: {name}, command: ["{PY}", "{script}"], start_secs: 0.2s{more}}}'


def write(folder: Path, text: str, name: str = "tradeday.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
    env.update(extra or {})
    return env


def start(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``tradeday ARGS`` as cron would start it, output captured."""
    return popen_tradeday(args, cwd=cwd, env=clean_env(env))


@contextmanager
def running(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """``start`` for a ``with`` block: a test that fails midway leaves no tradeday running."""
    proc = start(args, cwd=cwd, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def finish(proc: subprocess.Popen[str], timeout: float = 30.0) -> tuple[str, str]:
    """Wait for the process (killing it if it overruns ``timeout``, which fails the test)."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"tradeday still running after {timeout:g}s\nstdout:\n{out}\nstderr:\n{err}") from None


def market_today(tz: ZoneInfo = NY) -> date:
    return datetime.now(tz).date()


def state_path(root: Path, day: date | None = None) -> Path:
    return root / "artifacts" / "state" / f"{day or market_today()}.json"


def state_of(root: Path, day: date | None = None) -> dict:
    return json.loads(state_path(root, day).read_text())


def log_of(root: Path, name: str = "tradeday", day: date | None = None) -> Path:
    return root / "artifacts" / "logs" / str(day or market_today()) / f"{name}.log"


def text_of(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def wait_for_line(path: Path, needle: str, timeout: float = 20.0,
                  proc: subprocess.Popen[str] | None = None) -> None:
    """Wait until ``needle`` is in the file; fail at once if ``proc`` ended first."""
    def seen() -> bool:
        if needle in text_of(path):
            return True
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"tradeday exited {proc.returncode} before {needle!r} appeared in {path.name}:\n"
                                 + proc.communicate()[1])
        return False

    assert wait_for(seen, timeout=timeout), f"{needle!r} never appeared in {path}:\n{text_of(path)[-3000:]}"


def wait_for_phase(root: Path, phase: str, *, proc: subprocess.Popen[str] | None = None, day: date | None = None,
                   with_engines: bool = False, timeout: float = 20.0) -> dict:
    path = state_path(root, day)
    found: dict = {}

    def ready() -> bool:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"tradeday exited {proc.returncode} before phase {phase}:\n" + proc.communicate()[1])
        try:
            state = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return False
        pids = [e["pid"] for e in state.get("engines", []) if e.get("pid")]
        if state.get("phase") == phase and (not with_engines or pids):
            found.update(state)
            return True
        return False

    assert wait_for(ready, timeout=timeout), f"phase {phase} never reached: {text_of(path)}"
    return found


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def pids_in(path: Path) -> list[int]:
    """The pids a fixture script wrote to ``path``, one a line."""
    return [int(x) for x in text_of(path).split()]


def kill_leftovers(pids: list[int]) -> None:
    """A failing test must not leave its processes behind for the next ones."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def faketime_env(timestamp_file: Path, **extra: str) -> dict[str, str]:
    """libfaketime on tradeday: the wall clock follows ``timestamp_file`` (re-read on every
    call), the monotonic clock stays real (waits keep working). Engines must clear LD_PRELOAD."""
    env = {
        "LD_PRELOAD": str(FAKETIME_LIB),
        "FAKETIME_TIMESTAMP_FILE": str(timestamp_file),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    env.update(extra)
    return env


# Processes a hook starts: the hook writes its pid and its child's to PIDS_FILE, then both wait.
HOOK_WITH_CHILD = '''
import os, signal, subprocess, sys, time
pids_file = sys.argv[1]
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\nwhile True: time.sleep(1)"])
with open(pids_file + ".tmp", "w") as fh:
    fh.write(f"{os.getpid()}\\n{child.pid}\\n")
os.replace(pids_file + ".tmp", pids_file)
print("hook waiting", flush=True)
while True:
    time.sleep(1)
'''
