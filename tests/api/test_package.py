"""The importable `tradeday` package: stable names, cheap to import, typed, the old paths intact."""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib

from tests.conftest import REPO

HEAVY = ("pandas", "numpy", "pandas_market_calendars", "pydantic", "requests", "kiteconnect", "ib_async",
         "matplotlib", "jinja2")


def test_import_is_cheap_every_name_resolves_and_old_paths_are_the_same_objects() -> None:
    script = f"""
import json, sys
import tradeday
loaded_by_import = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
names = {{n: getattr(tradeday, n) for n in tradeday.__all__}}
from session.calendar import MarketCalendar, MarketState
from session.config import ConfigManager, load_config
from session.notify import (AlertLevel, DiscordNotifier, EmailNotifier, NotificationMessage, OrderNotificationAdapter,
                            RiskNotificationAdapter, SlackNotifier, TelegramNotifier, WebhookNotifier)
from session.orchestrator import TradingOrchestrator
old = dict(MarketCalendar=MarketCalendar, MarketState=MarketState, ConfigManager=ConfigManager, load_config=load_config,
           AlertLevel=AlertLevel, DiscordNotifier=DiscordNotifier, EmailNotifier=EmailNotifier,
           NotificationMessage=NotificationMessage, OrderNotificationAdapter=OrderNotificationAdapter,
           RiskNotificationAdapter=RiskNotificationAdapter, SlackNotifier=SlackNotifier, TelegramNotifier=TelegramNotifier,
           WebhookNotifier=WebhookNotifier, TradingOrchestrator=TradingOrchestrator)
print(json.dumps({{"heavy": loaded_by_import, "all": tradeday.__all__, "exports": sorted(tradeday._EXPORTS),
                  "same": all(names[k] is v for k, v in old.items()), "dir": "append_fill" in dir(tradeday)}}))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd="/", timeout=60)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["heavy"] == []  # `import tradeday` loads none of them (pandas above all)
    assert found["all"] == sorted(found["all"]) and set(found["all"]) == set(found["exports"])
    required = {"MarketCalendar", "MarketState", "ConfigManager", "TradingOrchestrator", "SlackNotifier",
                "DiscordNotifier", "TelegramNotifier", "EmailNotifier", "WebhookNotifier", "NotificationMessage",
                "AlertLevel", "OrderNotificationAdapter", "RiskNotificationAdapter", "load_config", "append_fill"}
    assert required <= set(found["all"])
    assert found["same"] and found["dir"]

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "tradeday*" in project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["tradeday"]
    assert (REPO / "tradeday" / "py.typed").is_file()
