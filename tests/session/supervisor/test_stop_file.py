"""The portable stop request: tradeday creates TRADEDAY_STOP_FILE before the stop signal, and an
engine that ignores SIGTERM but polls the file stops cleanly (no kill after stop_timeout); a
stop file left from an earlier start is removed before the next one."""
from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from session.supervisor import EngineSpec, EngineState, Supervisor
from tests.conftest import ENGINES


def _spec(tmp: Path, *args: str) -> EngineSpec:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")} | {"PYTHONUNBUFFERED": "1"}
    return EngineSpec(name="deaf", argv=[sys.executable, str(ENGINES / "stop_file.py"), *args], cwd=tmp, env=env,
                      log_file=tmp / "logs" / "deaf.log", heartbeat_file=tmp / "hb" / "deaf.heartbeat",
                      start_secs=0.0, hang_timeout=0.0, stop_timeout=30.0, restart="never")


def _wait(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _log(spec: EngineSpec) -> str:
    return spec.log_file.read_text(encoding="utf-8", errors="replace") if spec.log_file.exists() else ""


def test_engine_deaf_to_sigterm_stops_by_its_stop_file(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "--child")
    assert spec.stop_path == tmp_path / "hb" / "deaf.stop"
    spec.stop_path.parent.mkdir(parents=True)
    spec.stop_path.write_text("left by an earlier start\n")  # must not stop this start
    events: list[tuple[str, dict]] = []
    sup = Supervisor([spec], console=io.BytesIO(), on_event=lambda n, e, i: events.append((e, i)))
    sup.start()
    try:
        assert _wait(lambda: "ready pid=" in _log(spec)), _log(spec)
        ready = next(line for line in _log(spec).splitlines() if "ready pid=" in line)
        child = int(ready.rsplit("child=", 1)[1])
        assert not spec.stop_path.exists()
        began = time.monotonic()
    finally:
        sup.stop_all()
    took = time.monotonic() - began
    log = _log(spec)
    status = sup.snapshot()[0]
    assert "stop file seen" in log and "stop file was there" not in log, log
    assert not [e for e in events if e[0] == "killed"], events
    assert status.state is EngineState.STOPPED and status.exit_code == 0, status
    assert not sup.any_failed()
    assert took < spec.stop_timeout  # stopped by the file, not by the kill at the end of the grace
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
    assert not spec.stop_path.exists()  # tidied once the engine was gone
