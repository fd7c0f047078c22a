"""The state file is the record of the day: every run of the date is kept (a second run does not
erase the first one's engines, restarts and exit codes), ``status`` and the report show them,
and a damaged state file is named by ``status`` (exit 1) and moved aside by ``run``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.chaos.dayrun import (
    PY,
    config_text,
    market_today,
    sample_engine,
    state_of,
    state_path,
    write,
)
from tests.conftest import ENGINES, run_tradeday


def crash_engine() -> str:
    return (f'  - {{name: crasher, command: ["{PY}", "{ENGINES}/crash.py", "3"], start_secs: 0.2s,'
            f' max_restarts: 1, backoff: {{initial: 0.1s, factor: 2, jitter: 0}}}}')


def test_every_run_of_the_day_is_kept(tmp_path: Path, cli_home: Path) -> None:
    first_cfg = write(tmp_path, config_text(crash_engine(), eod="eod: {enabled: true}"))
    first = run_tradeday(["run", "-c", str(first_cfg), "--start-now", "--duration", "20s"], cwd=cli_home)
    assert first.returncode == 4, first.stderr
    second_cfg = write(tmp_path, config_text(sample_engine(), eod="eod: {enabled: true}"))
    second = run_tradeday(["run", "-c", str(second_cfg), "--start-now", "--duration", "1s"], cwd=cli_home)
    assert second.returncode == 0, second.stderr

    state = state_of(tmp_path)
    runs = state["runs"]
    assert len(runs) == 2
    assert runs[0]["exit_code"] == 4 and runs[1]["exit_code"] == 0
    assert runs[0]["engines"][0]["name"] == "crasher" and runs[0]["engines"][0]["restarts"] == 1
    assert runs[0]["engines"][0]["state"] == "FATAL"
    assert runs[1]["engines"][0]["name"] == "demo"
    assert runs[0]["orchestrator"]["pid"] != runs[1]["orchestrator"]["pid"]
    for run in runs:
        assert run["started_at"] and run["ended_at"] and run["started_at"] <= run["ended_at"]
        assert [h["phase"] for h in run["history"]][-1] == "DONE"
    # the top-level fields are the latest run's, as before
    assert state["exit_code"] == 0 and state["engines"][0]["name"] == "demo" and state["phase"] == "DONE"

    status = run_tradeday(["status", "-c", str(second_cfg), "--json"], cwd=cli_home)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert len(data["runs"]) == 2 and data["runs"][0]["exit_code"] == 4
    table = run_tradeday(["status", "-c", str(second_cfg)], cwd=cli_home)
    assert "run 2 of 2" in table.stdout, table.stdout

    report = json.loads((tmp_path / "artifacts" / "reports" / "daily" / f"{market_today()}.json").read_text())
    listed = report["session"]["runs"]
    # written during the second run's end of day: its exit code is not known yet
    assert [(r["run"], r["exit_code"], r["phase"]) for r in listed] == [(1, 4, "DONE"), (2, None, "EOD")]
    assert listed[0]["engines"][0]["name"] == "crasher" and listed[0]["engines"][0]["final_state"] == "FATAL"
    assert listed[1]["engines"][0]["name"] == "demo"
    markdown = (tmp_path / "artifacts" / "reports" / "daily" / f"{market_today()}.md").read_text()
    assert "2 runs of `tradeday run`" in markdown


DAMAGE = {
    "truncated JSON": b'{"schema": "tradeday.state/1", "date": "2026-',
    "wrong types": b'{"schema": "tradeday.state/1", "phase": 7, "engines": "none", "runs": {}}',
    "not an object": b'["DONE"]',
    "bad bytes": b'{"phase": "\xff\xfe DONE"}',
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_state_file(tmp_path: Path, cli_home: Path, damage: str) -> None:
    cfg = write(tmp_path, config_text(sample_engine()))
    path = state_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(DAMAGE[damage])

    status = run_tradeday(["status", "-c", str(cfg)], cwd=cli_home)
    assert status.returncode == 1, status.stderr
    assert str(path) in status.stderr and "Traceback" not in status.stderr
    as_json = run_tradeday(["status", "-c", str(cfg), "--json"], cwd=cli_home)
    assert as_json.returncode == 1 and str(path) in as_json.stderr

    run = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "1s"], cwd=cli_home)
    assert run.returncode == 0, run.stderr
    aside = list(path.parent.glob(f"{path.name}.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == DAMAGE[damage]  # kept as it was
    assert str(aside[0]) in run.stderr  # said so (a WARNING)
    state = state_of(tmp_path)
    assert len(state["runs"]) == 1 and state["exit_code"] == 0
    assert run_tradeday(["status", "-c", str(cfg)], cwd=cli_home).returncode == 0
