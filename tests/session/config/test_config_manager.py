"""ConfigManager as copilot_quant documents it: load, modify, save, reload, versions.

``save`` validates what it is about to write and leaves the file untouched when that is
invalid; it writes only the values that changed, so the user's comments, key order, quoting
and layout survive; errors are the built-in types copilot_quant users catch."""
from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from core.errors import ConfigError
from session.config import ConfigManager, load_config

# copilot_quant's config.paper.yaml layout: comments at the top, after values, on their own lines.
PAPER = """\
# Trading Configuration - Paper Trading Mode
#
# Configuration Reference:
# - mode: Trading mode ('paper' or 'live')

version: "1.0.0"
mode: paper  # Use 'paper' for paper trading, 'live' for live trading (USE WITH CAUTION)

# Trading Schedule Configuration
schedule:
  timezone: "America/New_York"  # Market timezone (NYSE is Eastern Time)
  auto_start: true  # Automatically start trading when market opens

# Strategy Configuration
strategy:
  # List of symbols to trade
  symbols:
    - AAPL
    - MSFT

  max_positions: 10  # Maximum number of concurrent positions
  position_size_pct: 0.10  # Position size as percentage of portfolio (10%)

risk:
  max_portfolio_drawdown: 0.12  # Maximum allowed drawdown (12%)
  enable_circuit_breaker: true
  circuit_breaker_threshold: 0.10

broker:
  broker_type: ibkr  # Broker type: ibkr, alpaca, etc.
  host: 127.0.0.1
  port: 7497  # Port: 7497 (TWS Paper), 7496 (TWS Live)
  account_number: null  # Optional: Specify account number
  paper_trading: true  # Paper trading mode (ALWAYS true for safety in this config)

session:
  heartbeat_interval: 5m   # tradeday's own section, written the way its author likes
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.paper.yaml"
    path.write_text(PAPER, encoding="utf-8")
    return path


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]


def test_the_documented_usage_runs_as_written(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manager = ConfigManager(str(config_file))
    config = manager.load()

    print(f"Trading mode: {config.mode}")
    print(f"Symbols: {config.strategy.symbols}")

    config.strategy.max_positions = 15
    manager.save(config)

    updated_config = manager.reload()

    versions = manager.list_versions()
    for version in versions:
        print(f"Version: {version}")

    out = capsys.readouterr().out
    assert "Trading mode: paper" in out and "Symbols: ['AAPL', 'MSFT']" in out
    assert updated_config.strategy.max_positions == 15
    assert len(versions) == 2 and "Version: " in out  # the file before the save and after it
    # Only that one value changed: the comment after it, and everything else, as it was.
    assert changed_lines(PAPER, config_file.read_text()) == [
        "-   max_positions: 10  # Maximum number of concurrent positions",
        "+   max_positions: 15  # Maximum number of concurrent positions",
    ]


def test_versioning_constructor_and_save_flags(config_file: Path) -> None:
    manager = ConfigManager(config_file, enable_versioning=True)
    config = manager.load()
    config.risk.max_portfolio_drawdown = 0.15
    config.broker.port = 7496  # copilot_quant's name, written where the file has it
    config.session.heartbeat_interval = 60.0
    manager.save(config, create_version=True)
    text = config_file.read_text()
    assert changed_lines(PAPER, text) == [
        "-   max_portfolio_drawdown: 0.12  # Maximum allowed drawdown (12%)",
        "+   max_portfolio_drawdown: 0.15  # Maximum allowed drawdown (12%)",
        "-   port: 7497  # Port: 7497 (TWS Paper), 7496 (TWS Live)",
        "+   port: 7496  # Port: 7497 (TWS Paper), 7496 (TWS Live)",
        "-   heartbeat_interval: 5m   # tradeday's own section, written the way its author likes",
        "+   heartbeat_interval: 1m   # tradeday's own section, written the way its author likes",
    ]
    reloaded = manager.reload()
    assert (reloaded.risk.max_portfolio_drawdown, reloaded.broker.ibkr.port) == (0.15, 7496)
    assert reloaded.session.heartbeat_interval == 60.0

    ids = [v["id"] for v in manager.list_versions()]
    assert len(ids) == 2
    old = manager.get_version(ids[1])
    assert old.risk.max_portfolio_drawdown == 0.12 and old.broker.port == 7497
    diff = "\n".join(manager.diff(ids[1], ids[0]))
    assert "-  max_portfolio_drawdown: 0.12" in diff and "+  max_portfolio_drawdown: 0.15" in diff
    assert manager.list_versions()[0]["path"].is_file()

    restored = manager.restore_version(ids[1])
    assert restored.risk.max_portfolio_drawdown == 0.12 and config_file.read_text() == PAPER


def test_nothing_changed_writes_nothing_and_never_expands_defaults(config_file: Path) -> None:
    manager = ConfigManager(config_file, enable_versioning=False)
    before = os.stat(config_file).st_mtime_ns
    manager.save(manager.load())
    assert config_file.read_text() == PAPER and os.stat(config_file).st_mtime_ns == before
    assert not (config_file.parent / "artifacts").exists()  # no versioning: no history folder


def test_adding_and_removing_keys_keeps_comments_and_order(config_file: Path) -> None:
    manager = ConfigManager(config_file, enable_versioning=False)
    config = manager.load()
    config.strategy.rebalance_frequency = "weekly"
    config.strategy.symbols.append("GOOGL")
    del config.risk.circuit_breaker_threshold
    manager.save(config)
    text = config_file.read_text()
    for line in PAPER.splitlines():
        if "circuit_breaker_threshold" not in line and line.strip() != "- MSFT" and line.strip():
            assert line.rstrip() in text.splitlines() or line.split("#")[0].rstrip() in text, line
    assert "# List of symbols to trade" in text and "# Trading Configuration - Paper Trading Mode" in text
    reloaded = manager.reload()
    assert reloaded.strategy.symbols == ["AAPL", "MSFT", "GOOGL"]
    assert reloaded.strategy.rebalance_frequency == "weekly"
    assert "circuit_breaker_threshold" not in reloaded.risk
    assert list(reloaded.engine_owned_sections()) == ["schedule", "strategy", "risk"]
    assert "kite:" not in text and "checks:" not in text  # tradeday's defaults are not written out


@pytest.mark.parametrize("change", [
    lambda c: setattr(c, "mode", "invalid"),
    lambda c: setattr(c.risk, "max_portfolio_drawdown", 1.5),
    lambda c: setattr(c.strategy, "max_positions", 0),
    lambda c: setattr(c.broker, "port", "not a port"),
])
def test_an_invalid_config_is_not_saved(config_file: Path, change) -> None:  # type: ignore[no-untyped-def]
    manager = ConfigManager(config_file, enable_versioning=True)
    config = manager.load()
    change(config)
    with pytest.raises(ValueError) as caught:
        manager.save(config)
    assert isinstance(caught.value, ConfigError) and caught.value.exit_code == 3
    assert "not saved (the file is unchanged)" in str(caught.value)
    assert config_file.read_text() == PAPER
    assert load_config(config_file).strategy.max_positions == 10  # the next `run` still loads it
    assert len(manager.list_versions()) == 1  # nothing new recorded


def test_a_missing_file_is_a_file_not_found_error(tmp_path: Path) -> None:
    manager = ConfigManager(tmp_path / "nope.yaml")
    with pytest.raises(FileNotFoundError) as caught:
        manager.load()
    assert isinstance(caught.value, ConfigError) and caught.value.exit_code == 3
    assert str(caught.value).startswith(f"{tmp_path / 'nope.yaml'}: config file not found")


def test_reload_keeps_the_previous_config_when_the_file_breaks(config_file: Path) -> None:
    manager = ConfigManager(config_file, enable_versioning=False)
    first = manager.load()
    config_file.write_text(PAPER.replace("max_positions: 10", "max_positions: -1"))
    with pytest.raises(ValueError, match=r":21 strategy.max_positions"):
        manager.reload()
    assert manager.get_current_config() is first


def test_save_keeps_the_file_mode_and_a_symlink(config_file: Path, tmp_path: Path) -> None:
    config_file.chmod(0o640)
    link = tmp_path / "current.yaml"
    link.symlink_to(config_file)
    manager = ConfigManager(link, enable_versioning=False)
    config = manager.load()
    config.strategy.max_positions = 12
    manager.save(config)
    assert link.is_symlink() and (config_file.stat().st_mode & 0o777) == 0o640
    assert load_config(config_file).strategy.max_positions == 12


def test_seed_layouts_are_written_where_the_file_has_them(tmp_path: Path) -> None:
    """kite-algo-minimal: its engine options and its IST hours; a new `market` section keeps
    the calendar the file implied."""
    import datetime
    import shutil

    from tests.conftest import FIXTURES

    path = tmp_path / "dev.yaml"
    shutil.copy(FIXTURES / "kite_algo_minimal_dev.yaml", path)
    before = path.read_text()
    manager = ConfigManager(path, enable_versioning=False)
    config = manager.load()
    config.engine_options.paper.fno.enabled = False  # type: ignore[union-attr]
    config.market.hours.open = datetime.time(9, 30)  # type: ignore[union-attr]
    manager.save(config)
    assert changed_lines(before, path.read_text()) == [
        '-   market_open_ist: "09:15"', '+   market_open_ist: "09:30"',
        "-       enabled: true", "+       enabled: false",
    ]
    config = manager.reload()
    assert config.engine_options.paper.fno.enabled is False  # type: ignore[union-attr]
    config.market.timezone = "Asia/Kolkata"
    manager.save(config)
    reloaded = manager.reload()
    assert (reloaded.market.calendar, reloaded.market.timezone) == ("XNSE", "Asia/Kolkata")
    assert str(reloaded.market.hours.close) == "15:30:00"  # type: ignore[union-attr]


def test_a_change_the_file_cannot_express_is_refused(tmp_path: Path) -> None:
    """copilot_quant's short notifications (`channels: [slack]`) have no key for a channel's name."""
    text = PAPER + ("notifications:\n  enabled: true\n  channels: [slack]\n"
                    "  slack_webhook_url: https://hooks.slack.com/services/T000/B000/XXXX\n")
    path = tmp_path / "config.paper.yaml"
    path.write_text(text)
    manager = ConfigManager(path, enable_versioning=False)
    config = manager.load()
    config.notifications.channels[0].name = "alerts"
    with pytest.raises(ValueError, match=r"notifications.channels\[0\].name cannot be written in the form"):
        manager.save(config)
    assert path.read_text() == text
