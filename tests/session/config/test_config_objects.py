"""Config objects as copilot_quant's docs use them: engine sections read and assign by
attribute and stay plain data; a copilot_quant file's sections keep its validation rules
(file:line errors); its broker section reads under its own names next to tradeday's, and
maps onto the paper/live guard without ever switching mode silently."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from core.errors import ConfigError, ConfigValidationError, UsageError
from session.config import load_config
from session.modes import resolve_mode
from tests.conftest import write_config

# docs/ORCHESTRATOR.md's "minimal example", as copilot_quant documents it.
COPILOT = """\
version: "1.0.0"
mode: paper

schedule:
  timezone: "America/New_York"
  auto_start: true
  auto_stop: true

strategy:
  symbols:
    - AAPL
    - MSFT
  max_positions: 10
  position_size_pct: 0.10

risk:
  max_portfolio_drawdown: 0.12
  enable_circuit_breaker: true
  circuit_breaker_threshold: 0.10

broker:
  broker_type: ibkr
  host: 127.0.0.1
  port: 7497
  paper_trading: true
"""


def copilot(tmp_path: Path, text: str = COPILOT) -> Path:
    path = tmp_path / "config.paper.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_engine_sections_read_and_assign_by_attribute_and_stay_plain_data(tmp_path: Path) -> None:
    config = load_config(copilot(tmp_path))
    assert config.mode == "paper"
    assert config.strategy.symbols == ["AAPL", "MSFT"]
    assert config.schedule.timezone == "America/New_York"
    config.strategy.max_positions = 15
    config.risk.max_portfolio_drawdown = 0.1
    assert config.strategy["max_positions"] == 15 and config.risk["max_portfolio_drawdown"] == 0.1
    assert isinstance(config.strategy, dict)
    assert json.loads(json.dumps(config.strategy)) == {"symbols": ["AAPL", "MSFT"], "max_positions": 15,
                                                        "position_size_pct": 0.10}
    assert yaml.safe_load(yaml.safe_dump(config.risk))["max_portfolio_drawdown"] == 0.1
    assert config.engine_owned_sections()["strategy"]["max_positions"] == 15
    config.strategy.rebalance = {"frequency": "daily"}  # a new mapping reads by attribute too
    assert config.strategy.rebalance.frequency == "daily"
    config.extra_section = {"a": {"b": 1}}
    assert config.extra_section.a.b == 1
    with pytest.raises(AttributeError, match="no key 'nope'"):
        _ = config.strategy.nope


def test_a_copilot_broker_reads_under_both_names(tmp_path: Path) -> None:
    broker = load_config(copilot(tmp_path)).broker
    assert (broker.broker_type, broker.host, broker.port, broker.paper_trading) == ("ibkr", "127.0.0.1", 7497, True)
    assert (broker.kind, broker.ibkr.host, broker.ibkr.port) == ("ibkr", "127.0.0.1", 7497)
    broker.port = 4002
    assert broker.ibkr.port == 4002


def test_the_whole_copilot_paper_config_loads(tmp_path: Path) -> None:
    """copilot_quant's config.paper.yaml broker keys (account_number, use_gateway, commission, slippage)."""
    text = COPILOT.replace("  paper_trading: true\n", "  client_id: 1\n  account_number: null\n  use_gateway: false\n"
                           "  paper_trading: true\n  commission: 0.001\n  slippage: 0.0005\n")
    broker = load_config(copilot(tmp_path, text)).broker
    assert (broker.client_id, broker.commission, broker.slippage, broker.use_gateway) == (1, 0.001, 0.0005, False)


@pytest.mark.parametrize("old, new, line, where", [
    ("max_portfolio_drawdown: 0.12", "max_portfolio_drawdown: 1.5", 17, "risk.max_portfolio_drawdown"),
    ("max_portfolio_drawdown: 0.12", "max_portfolio_drawdown: 0", 17, "risk.max_portfolio_drawdown"),
    ("circuit_breaker_threshold: 0.10", "circuit_breaker_threshold: 2", 19, "risk.circuit_breaker_threshold"),
    ("circuit_breaker_threshold: 0.10", "circuit_breaker_threshold: 0.1\n  max_position_size: -0.1", 20,
     "risk.max_position_size"),
    ("position_size_pct: 0.10", "position_size_pct: 10", 14, "strategy.position_size_pct"),
    ("max_positions: 10", "max_positions: 0", 13, "strategy.max_positions"),
    ("max_positions: 10", "max_positions: ten", 13, "strategy.max_positions"),
    ("mode: paper", "mode: invalid", 2, "mode"),
    ("port: 7497", "port: 7497\n  commission: -1", 25, "broker.commission"),
])
def test_copilot_rules_give_file_line_errors(tmp_path: Path, old: str, new: str, line: int, where: str) -> None:
    path = copilot(tmp_path, COPILOT.replace(old, new))
    with pytest.raises(ConfigValidationError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:{line} {where}: ")
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ConfigError)
    assert caught.value.exit_code == 3


def test_the_rules_are_copilot_quants_only(tmp_path: Path) -> None:
    """Another engine's risk section with the same key means something else: not checked."""
    path = write_config(tmp_path, "risk: {max_position_size: 100}\nstrategy: {max_positions: 0}\n")
    assert load_config(path).risk.max_position_size == 100


def test_paper_trading_false_means_live_and_the_guard_still_asks(tmp_path: Path) -> None:
    text = COPILOT.replace("mode: paper\n", "").replace("paper_trading: true", "paper_trading: false")
    config = load_config(copilot(tmp_path, text))
    assert config.mode == "live"
    with pytest.raises(UsageError, match="says mode: live, but the command line does not"):
        resolve_mode(config.mode, None, environ={})
    with pytest.raises(UsageError, match="needs confirmation"):
        resolve_mode(config.mode, "live", environ={})
    assert resolve_mode(config.mode, "live", confirm_live=True, environ={}) == "live"


@pytest.mark.parametrize("mode, paper_trading", [("paper", "false"), ("live", "true")])
def test_paper_trading_that_contradicts_mode_is_refused(tmp_path: Path, mode: str, paper_trading: str) -> None:
    text = COPILOT.replace("mode: paper", f"mode: {mode}").replace("paper_trading: true",
                                                                   f"paper_trading: {paper_trading}")
    with pytest.raises(ConfigValidationError, match=f"contradicts mode: {mode}"):
        load_config(copilot(tmp_path, text))


def test_circuit_breaker_with_an_absolute_limit_is_the_daily_loss_limit(tmp_path: Path) -> None:
    with_limit = COPILOT.replace("  circuit_breaker_threshold: 0.10\n",
                                 "  circuit_breaker_threshold: 0.10\n  max_daily_loss: 2500\n")
    assert load_config(copilot(tmp_path, with_limit)).session.max_daily_loss == Decimal(2500)
    off = with_limit.replace("enable_circuit_breaker: true", "enable_circuit_breaker: false")
    assert load_config(copilot(tmp_path, off)).session.max_daily_loss is None
    assert load_config(copilot(tmp_path)).session.max_daily_loss is None  # a fraction alone is no amount
    explicit = with_limit + "session:\n  max_daily_loss: 1000\n"
    assert load_config(copilot(tmp_path, explicit)).session.max_daily_loss == Decimal(1000)
    negative = with_limit.replace("max_daily_loss: 2500", "max_daily_loss: -5")
    with pytest.raises(ConfigValidationError, match=r":20 risk.max_daily_loss: must be an amount"):
        load_config(copilot(tmp_path, negative))
