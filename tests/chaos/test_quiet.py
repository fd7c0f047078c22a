"""``run --quiet`` and ``precheck --quiet`` for cron, which mails any output: a clean day prints
nothing at all; a WARNING or worse still prints; everything else is in tradeday.log."""
from __future__ import annotations

from pathlib import Path

from tests.chaos.dayrun import PY, config_text, log_of, market_today, sample_engine, text_of, write
from tests.conftest import ENGINES, run_tradeday


def test_run_quiet_on_a_clean_day_prints_nothing(tmp_path: Path, cli_home: Path) -> None:
    cfg = write(tmp_path, config_text(sample_engine(), eod="eod: {enabled: true}"))
    r = run_tradeday(["run", "-c", str(cfg), "--quiet", "--start-now", "--duration", "3s"], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    log = text_of(log_of(tmp_path))
    report = tmp_path / "artifacts" / "reports" / "daily" / f"{market_today()}.md"
    assert report.exists() and str(report) in log  # the report's path is in the log instead
    assert "session started" in log and "INFO" in log


def test_run_quiet_still_prints_warnings(tmp_path: Path, cli_home: Path) -> None:
    crasher = (f'  - {{name: crasher, command: ["{PY}", "{ENGINES}/crash.py", "3"], start_secs: 0.2s,'
               f' max_restarts: 1, backoff: {{initial: 0.1s, factor: 2, jitter: 0}}}}')
    cfg = write(tmp_path, config_text(crasher))
    r = run_tradeday(["run", "-c", str(cfg), "--quiet", "--start-now", "--duration", "20s"], cwd=cli_home)
    assert r.returncode == 4
    assert r.stdout == ""
    assert "WARNING" in r.stderr and "ERROR" in r.stderr and "crasher" in r.stderr
    assert "INFO" not in r.stderr


def test_precheck_quiet(tmp_path: Path, cli_home: Path) -> None:
    cfg = write(tmp_path, config_text(sample_engine()))
    clean = run_tradeday(["precheck", "-c", str(cfg), "--quiet"], cwd=cli_home)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout == "" and clean.stderr == ""
    broken = write(tmp_path, config_text('  - {name: x, command: ["no-such-engine-binary"]}'), name="broken.yaml")
    bad = run_tradeday(["precheck", "-c", str(broken), "--quiet"], cwd=cli_home)
    assert bad.returncode == 1
    shown = bad.stdout + bad.stderr
    assert "engines.E001" in shown and "no-such-engine-binary" in shown
    assert "clock.I001" not in shown  # INFO results stay out
