"""`config show` prints durations as a person writes them (`5m`, not `300.0`), exactly: what it
prints reads back as the same config."""
from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import run_tradeday, write_config


def test_config_show_prints_durations_readably(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, """
        mode: paper
        market: {calendar: XNYS}
        session: {start_before_open: 300, stop_after_close: 90.5, heartbeat_interval: 0.2s}
        engines: [{name: e, command: [python3, -c, pass], hang_timeout: 1h30m}]
        """)
    r = run_tradeday(["config", "show", "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    shown = yaml.safe_load(r.stdout)
    assert shown["session"]["start_before_open"] == "5m"
    assert shown["session"]["stop_after_close"] == "90.5s"
    assert shown["session"]["heartbeat_interval"] == "0.2s"
    assert shown["engines"][0]["hang_timeout"] == "1h30m"
    assert "300.0" not in r.stdout
    again = write_config(tmp_path, r.stdout, name="again.yaml")  # what it shows loads as the same config
    r2 = run_tradeday(["config", "show", "-c", str(again)], cwd=cli_home)
    assert yaml.safe_load(r2.stdout)["session"] == shown["session"]
