"""`tradeday run` on Windows, end to end through the console script: the demo day (engine in a
job, stopped by its stop file, the end of day and the report), the day lock, and a killed
tradeday taking its engines with it (the job's kill-on-close)."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.windows.winlane import ON_WINDOWS, SKIP_REASON, tradeday_exe, wait_for

if not ON_WINDOWS:
    pytest.skip(SKIP_REASON, allow_module_level=True)

import psutil  # noqa: E402

from tests.conftest import ENGINES, REPO  # noqa: E402

DEMO = (REPO / "configs" / "dev.yaml").read_text(encoding="utf-8")


def _config(tmp: Path, engines: str | None = None) -> Path:
    """configs/dev.yaml with its root at the checkout and its artifacts under ``tmp``."""
    text = DEMO.replace('root: ".."', f"root: '{REPO}'").replace("artifacts: artifacts/dev", f"artifacts: '{tmp / 'artifacts'}'")
    if engines is not None:
        head, _, rest = text.partition("engines:\n")
        text = head + "engines:\n" + engines + "\nbroker:" + rest.partition("\nbroker:")[2]
    path = tmp / "tradeday.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")} | {"NO_COLOR": "1"}


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).is_running()
    except psutil.NoSuchProcess:
        return False


def test_the_demo_day_runs_with_its_engine_in_a_job_and_writes_the_report(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    done = subprocess.run([tradeday_exe(), "run", "--start-now", "--duration", "10s", "-c", str(cfg)],
                          capture_output=True, text=True, env=_env(), timeout=600, cwd=tmp_path)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr
    artifacts = tmp_path / "artifacts"
    logs = sorted((artifacts / "logs").glob("*/demo.log"))
    assert logs, list(artifacts.rglob("*"))
    log = logs[-1].read_text(encoding="utf-8", errors="replace")
    assert "sample engine demo starting" in log
    assert "stopping (stop file): flattening positions" in log, log[-2000:]  # the stop file, not a signal
    assert "killed" not in log
    day = logs[-1].parent.name
    assert (artifacts / "reports" / "daily" / f"{day}.md").is_file()
    assert (artifacts / "reports" / "daily" / f"{day}.json").is_file()
    assert not list(artifacts.rglob("demo.stop"))  # tidied after the stop


def test_the_day_lock_names_its_holder_and_dies_with_it(tmp_path: Path) -> None:
    from core.errors import LockHeldError
    from session.lock import acquire_day_lock, lock_holder

    day = date(2026, 11, 20)
    holder = subprocess.Popen([sys.executable, str(ENGINES / "hold_lock.py"), str(tmp_path), day.isoformat()],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert lock_holder(tmp_path, day) == holder.pid
        with pytest.raises(LockHeldError) as caught:
            acquire_day_lock(tmp_path, day)
        assert f"(pid {holder.pid})" in str(caught.value) and caught.value.exit_code == 6
        assert lock_holder(tmp_path, day) == holder.pid  # probing did not take it
    finally:
        holder.kill()  # TerminateProcess: no cleanup runs
        holder.wait()
    assert wait_for(lambda: lock_holder(tmp_path, day) is None, 30)
    with acquire_day_lock(tmp_path, day) as lock:
        assert lock.held and lock_holder(tmp_path, day) == os.getpid()
    assert lock_holder(tmp_path, day) is None


def test_a_killed_tradeday_takes_its_engines_with_it(tmp_path: Path) -> None:
    """Task Scheduler's "End" or a crash: no engine may keep trading unsupervised."""
    engines = (f"  - name: deaf\n    command: ['{{python}}', '{ENGINES / 'stop_file.py'}', '--child']\n"
               "    start_secs: 0s\n    hang_timeout: 0s\n    stop_timeout: 5m\n")
    cfg = _config(tmp_path, engines)
    run = subprocess.Popen([tradeday_exe(), "run", "--start-now", "--duration", "10m", "-c", str(cfg)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), cwd=tmp_path)
    log_of: list[Path] = []

    def ready() -> bool:
        log_of[:] = sorted((tmp_path / "artifacts" / "logs").glob("*/deaf.log"))
        return bool(log_of) and "ready pid=" in log_of[-1].read_text(encoding="utf-8", errors="replace")

    try:
        assert wait_for(ready, 300), list(tmp_path.rglob("*"))
        line = next(x for x in log_of[-1].read_text(encoding="utf-8").splitlines() if "ready pid=" in x)
        engine = int(line.split("ready pid=")[1].split()[0])
        child = int(line.rsplit("child=", 1)[1])
        assert _alive(engine) and _alive(child)
        run.kill()  # TerminateProcess: tradeday gets no chance to stop anything
        run.wait(60)
        assert wait_for(lambda: not _alive(engine) and not _alive(child), 60)
    finally:
        run.kill()
        run.wait(60)
