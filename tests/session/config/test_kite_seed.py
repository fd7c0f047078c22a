"""kite-algo-minimal's own configs/dev.yaml shape loads: its ``engines:`` mapping is that
project's engine options (passed through: the engine reads the same file), tradeday's list
comes from ``session.engines`` (default: none); a genuinely wrong ``engines`` names the two
shapes it can be. ``tradeday run`` takes the seed's flags (``--mode --config --dry-run
--no-analytics --no-backtest``) with the seed's meaning."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from core.errors import ConfigError
from session.config import load_config
from tests.conftest import FIXTURES, REPO, run_tradeday, write_config

SEED = FIXTURES / "kite_algo_minimal_dev.yaml"
PY = sys.executable
DEMO = f'{{name: demo, command: ["{PY}", "{REPO}/examples/sample_engine.py", "--tick", "0.05"]}}'


def seed_copy(tmp_path: Path, session_extra: str = "", tail: str = "") -> Path:
    """The seed's file with tradeday's own additions under ``session:`` (and at the end)."""
    text = SEED.read_text(encoding="utf-8")
    text = text.replace("session:\n", "session:\n" + session_extra, 1) + tail
    path = tmp_path / "configs" / "dev.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_seed_dev_yaml_loads_and_its_engine_options_pass_through(tmp_path: Path) -> None:
    cfg = load_config(seed_copy(tmp_path))
    assert cfg.engines == []  # tradeday's list: none given, the default
    assert cfg.engine_options is not None
    assert cfg.engine_options.paper.fno.runner == "apps.run_fno_paper"
    assert cfg.engine_options["live"]["equity"]["enabled"] is False
    assert cfg.engine_owned_sections()["engines"] == {
        "paper": {"equity": {"enabled": True, "runner": "apps.run_equity_paper"},
                  "fno": {"enabled": True, "runner": "apps.run_fno_paper"},
                  "options": {"enabled": False, "runner": "apps.run_options_paper"}},
        "live": {"equity": {"enabled": False, "runner": "scripts.run_live_equity"}}}
    assert cfg.market.calendar == "XNSE" and str(cfg.market.hours.open) == "09:15:00"  # type: ignore[union-attr]
    assert cfg.trading.fno_universe == ["NIFTY", "BANKNIFTY"]
    assert cfg.risk.time_filter.allow_sessions[0].start == "09:20"


def test_tradeday_engines_go_under_session_engines(tmp_path: Path) -> None:
    cfg = load_config(seed_copy(tmp_path, f"  engines:\n    - {DEMO}\n"))
    assert [e.name for e in cfg.engines] == ["demo"]
    assert cfg.engine_options.paper.equity.enabled is True  # type: ignore[union-attr]


@pytest.mark.parametrize("engines, line", [
    ('engines: "fno equity"', 2),
    ("engines:\n  name: demo\n  command: [python, engine.py]", 2),
    ("engines: 3", 2),
])
def test_a_wrong_engines_names_both_shapes(tmp_path: Path, engines: str, line: int) -> None:
    path = write_config(tmp_path, f"mode: paper\n{engines}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line} engines: must be a list of engines")
    assert "kite-algo-minimal mapping of engine options" in message
    assert isinstance(caught.value, ValueError)


def test_both_engine_lists_is_an_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, f"""
        session:
          engines:
            - {DEMO}
        engines:
          - {DEMO}
        """)
    with pytest.raises(ConfigError, match=r":2 session.engines: give the engine list once"):
        load_config(path)


def test_seed_flags_dry_run_on_the_seed_config(tmp_path: Path, cli_home: Path) -> None:
    """The seed's documented command line, as written: prechecks only, engines not started."""
    cfg = seed_copy(tmp_path, f'  allowed_window: "00:00-23:59"\n  engines:\n    - {DEMO}\n')
    proc = run_tradeday(["run", "--mode", "paper", "--config", str(cfg), "--dry-run", "--no-backtest",
                         "--no-analytics", "--json"], cwd=cli_home)
    report = json.loads(proc.stdout)
    checks = {c["id"]: c for c in report["checks"]}
    assert "config.I001" in checks and not [i for i in checks if i.startswith("config.E")], checks
    assert report["mode"] == "paper" and report["session"]["calendar"] == "XNSE"
    assert proc.returncode == (0 if report["ok"] else 1), proc.stderr
    assert not (tmp_path / "configs" / "artifacts" / "logs").exists() or not list(
        (tmp_path / "configs" / "artifacts" / "logs").rglob("demo.log"))  # no engine started


def test_seed_flags_skip_the_analytics_and_backtest_hooks(tmp_path: Path, cli_home: Path) -> None:
    marker = tmp_path / "hooks-ran"
    hook = f'{{command: ["{PY}", "-c", "open(\'{marker}\', \'a\').write(\'ran\\\\n\')"]}}'
    cfg = seed_copy(tmp_path, f'  allowed_window: "00:00-23:59"\n  engines:\n    - {DEMO}\n',
                    tail=f"\neod:\n  analytics: {hook}\n  backtest: {hook}\nreports: {{chart: false}}\n")
    shutil.rmtree(tmp_path / "configs" / "artifacts", ignore_errors=True)
    proc = run_tradeday(["run", "--mode", "paper", "--config", str(cfg), "--no-backtest", "--no-analytics",
                         "--start-now", "--duration", "1s"], cwd=cli_home, timeout=90)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()  # neither hook ran
    reports = list((tmp_path / "configs" / "artifacts" / "reports" / "daily").glob("*.json"))
    doc = json.loads(reports[0].read_text())
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["analytics"]["status"] == "skipped" and "--no-analytics" in steps["analytics"]["message"]
    assert steps["backtest"]["status"] == "skipped" and "--no-backtest" in steps["backtest"]["message"]
    assert doc["session"]["engines"][0]["name"] == "demo"
