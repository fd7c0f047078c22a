"""`tradeday precheck` fits a screen: one row per check, details only where a check warns or
fails (all with --verbose), the failing ids named in the last line, lines no wider than the
terminal, colours by level on a terminal."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from tests.cli.test_run_console import ANSI, run_in_pty
from tests.conftest import run_tradeday, write_config


def failing_config(folder: Path) -> Path:
    long_name = "missing_engine_with_a_name_long_enough_to_need_wrapping_" * 2
    return write_config(folder, f"""
        mode: paper
        market: {{calendar: XNYS}}
        session: {{allowed_window: "00:00-00:00"}}
        engines:
          - {{name: demo, command: ["{sys.executable}", "nope/{long_name}.py", "--with", "arguments"]}}
          - {{name: fine, command: ["{sys.executable}", "-c", "pass"]}}
        broker: {{kind: none}}
        checks: {{min_free_disk: 1MiB}}
        """)


def fit(lines: list[str], width: int) -> bool:
    """Every line fits the width, except that a word longer than a row's room (a path) is never
    split: it stands alone on an indented line of its own, so it can be copied whole."""
    return all(len(line) <= width or (line.startswith(" ") and len(line.split()) == 1) for line in lines)


def test_precheck_rows_fit_the_width_and_name_the_failures(tmp_path: Path, cli_home: Path) -> None:
    cfg = failing_config(tmp_path)
    data = json.loads(run_tradeday(["precheck", "-c", str(cfg), "--json"], cwd=cli_home).stdout)
    failing = [c["id"] for c in data["checks"] if c["level"] == "ERROR" and not c["silenced"]]
    checks = list(dict.fromkeys(c["check"] for c in data["checks"]))
    assert "engines.E001" in failing and len(checks) >= 8

    r = run_tradeday(["precheck", "-c", str(cfg)], cwd=cli_home, env={"COLUMNS": "80"})
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert fit(lines, 80), lines
    rows = [line for line in lines if re.match(r"[a-z]+ +(ok|WARN|FAIL|sil\.) ", line)]
    assert [row.split()[0] for row in rows] == checks  # one row per check, in order
    ok_messages = [c["message"] for c in data["checks"] if c["level"] == "INFO"]
    assert not any(m in r.stdout for m in ok_messages), r.stdout  # ok rows: ids only
    assert "engines.E001: demo: script" in r.stdout and "fine" not in r.stdout
    assert lines[-1] == f"NOT READY: {len(failing)} failing ({', '.join(failing)}), 0 warnings"

    verbose = run_tradeday(["precheck", "-c", str(cfg), "--verbose"], cwd=cli_home, env={"COLUMNS": "80"})
    flat = " ".join(verbose.stdout.split())
    assert all(" ".join(m.split())[:40] in flat for m in ok_messages), verbose.stdout
    assert fit(verbose.stdout.splitlines(), 80), verbose.stdout


def test_precheck_on_a_terminal_colours_by_level(tmp_path: Path) -> None:
    code, screen = run_in_pty(["precheck", "-c", str(failing_config(tmp_path))], cwd=tmp_path)
    assert code == 1
    assert re.search(r"\x1b\[32mok", screen), screen  # ok is green
    assert re.search(r"\x1b\[1;31mFAIL", screen), screen  # FAIL red
    text = ANSI.sub("", screen)
    assert all(len(line) <= 120 for line in text.splitlines())  # COLUMNS=120 in run_in_pty
    assert "NOT READY: 2 failing (clock.E001, engines.E001)" in text
