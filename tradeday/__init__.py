"""tradeday's Python API: the names an engine or a script imports (docs/PYTHON_API.md).

``import tradeday`` is cheap: every name is loaded on first use (PEP 562), so importing the
package loads neither pandas, the pydantic models nor an HTTP client. The names are stable;
they re-export the modules that implement them, whose own import paths keep working
(``from session.notify import SlackNotifier`` is the same class as ``tradeday.SlackNotifier``).

This package sits above ``session``, ``reports`` and ``core`` and below nothing: no tradeday
module imports it (tests/test_architecture.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    # the day
    "TradingOrchestrator": "session.orchestrator",
    "OrchestratorState": "session.orchestrator",
    # the calendar
    "MarketCalendar": "session.calendar.market",
    "MarketState": "session.calendar.days",
    "SessionDay": "session.calendar.days",
    # the config
    "ConfigManager": "session.config.manager",
    "load_config": "session.config.loader",
    # notifications
    "AlertLevel": "session.notify.levels",
    "NotificationMessage": "session.notify.message",
    "Notifier": "session.notify.notifiers",
    "SlackNotifier": "session.notify.notifiers",
    "DiscordNotifier": "session.notify.notifiers",
    "TelegramNotifier": "session.notify.notifiers",
    "EmailNotifier": "session.notify.notifiers",
    "WebhookNotifier": "session.notify.notifiers",
    "TradedayLineNotifier": "session.notify.notifiers",
    "OrderNotificationAdapter": "session.notify.adapters",
    "RiskNotificationAdapter": "session.notify.adapters",
    # the fills journal and the day's figures
    "Fill": "reports.journal.model",
    "append_fill": "reports.journal.append",
    "read_journal": "reports.journal.read",
    "compute_day": "reports.pnl.day",
}

# Spelled out so that linters and type checkers can read it; tests/api check it matches _EXPORTS.
__all__ = [
    "AlertLevel",
    "ConfigManager",
    "DiscordNotifier",
    "EmailNotifier",
    "Fill",
    "MarketCalendar",
    "MarketState",
    "NotificationMessage",
    "Notifier",
    "OrchestratorState",
    "OrderNotificationAdapter",
    "RiskNotificationAdapter",
    "SessionDay",
    "SlackNotifier",
    "TelegramNotifier",
    "TradedayLineNotifier",
    "TradingOrchestrator",
    "WebhookNotifier",
    "append_fill",
    "compute_day",
    "load_config",
    "read_journal",
]


lazy_exports(__name__, {**_EXPORTS, "__version__": "tradeday._version"})


if TYPE_CHECKING:  # pragma: no cover -- what type checkers and IDEs see
    from reports.journal.append import append_fill
    from reports.journal.model import Fill
    from reports.journal.read import read_journal
    from reports.pnl.day import compute_day
    from session.calendar.days import MarketState, SessionDay
    from session.calendar.market import MarketCalendar
    from session.config.loader import load_config
    from session.config.manager import ConfigManager
    from session.notify.adapters import OrderNotificationAdapter, RiskNotificationAdapter
    from session.notify.levels import AlertLevel
    from session.notify.message import NotificationMessage
    from session.notify.notifiers import (
        DiscordNotifier,
        EmailNotifier,
        Notifier,
        SlackNotifier,
        TelegramNotifier,
        TradedayLineNotifier,
        WebhookNotifier,
    )
    from session.orchestrator import OrchestratorState, TradingOrchestrator
