"""Notifications: Slack, Discord, Telegram, email and webhooks, sent without blocking,
retried, and never lost (docs/NOTIFICATIONS.md).

Names are loaded on first use (PEP 562) so ``import session.notify`` stays cheap: the
HTTP client and pydantic models are only imported by code that sends or validates.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    # levels and events
    "AlertLevel": "session.notify.levels",
    "ENGINE_EVENTS": "session.notify.levels",
    "EVENT_DEFAULT_LEVELS": "session.notify.levels",
    "KNOWN_EVENTS": "session.notify.levels",
    "default_level": "session.notify.levels",
    # messages
    "NotificationMessage": "session.notify.message",
    # config
    "NotificationsConfig": "session.notify.config",
    "ChannelConfig": "session.notify.config",
    "SlackChannel": "session.notify.config",
    "DiscordChannel": "session.notify.config",
    "TelegramChannel": "session.notify.config",
    "EmailChannel": "session.notify.config",
    "WebhookChannel": "session.notify.config",
    "secret_values": "session.notify.config",
    # delivery
    "NotificationHub": "session.notify.hub",
    "send_test": "session.notify.diagnostics",
    "run_notify_test": "session.notify.selftest",
    "NotifyTestReport": "session.notify.selftest",
    "ChannelTestResult": "session.notify.diagnostics",
    "check_channel_config": "session.notify.diagnostics",
    "parse_engine_line": "session.notify.engine_protocol",
    "is_protocol_line": "session.notify.engine_protocol",
    # copilot_quant-style API for engines
    "Notifier": "session.notify.notifiers",
    "ChannelNotifier": "session.notify.notifiers",
    "SlackNotifier": "session.notify.notifiers",
    "DiscordNotifier": "session.notify.notifiers",
    "TelegramNotifier": "session.notify.notifiers",
    "EmailNotifier": "session.notify.notifiers",
    "WebhookNotifier": "session.notify.notifiers",
    "TradedayLineNotifier": "session.notify.notifiers",
    "build_notifiers": "session.notify.notifiers",
    "OrderNotificationAdapter": "session.notify.adapters",
    "RiskNotificationAdapter": "session.notify.adapters",
}

# Spelled out (not ``sorted(_EXPORTS)``) so that linters and type checkers can read it;
# tests/test_notify_config.py checks that it matches _EXPORTS.
__all__ = [
    "AlertLevel", "ChannelConfig", "ChannelNotifier", "ChannelTestResult", "DiscordChannel", "DiscordNotifier",
    "ENGINE_EVENTS", "EVENT_DEFAULT_LEVELS", "EmailChannel", "EmailNotifier", "KNOWN_EVENTS", "NotificationHub",
    "NotificationMessage", "NotificationsConfig", "Notifier", "NotifyTestReport", "OrderNotificationAdapter", "RiskNotificationAdapter",
    "SlackChannel", "SlackNotifier", "TelegramChannel", "TelegramNotifier", "TradedayLineNotifier", "WebhookChannel",
    "WebhookNotifier", "build_notifiers", "check_channel_config", "default_level", "is_protocol_line",
    "parse_engine_line", "run_notify_test", "secret_values", "send_test",
]


lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    from session.notify.adapters import OrderNotificationAdapter, RiskNotificationAdapter
    from session.notify.config import (
        ChannelConfig,
        DiscordChannel,
        EmailChannel,
        NotificationsConfig,
        SlackChannel,
        TelegramChannel,
        WebhookChannel,
        secret_values,
    )
    from session.notify.diagnostics import ChannelTestResult, check_channel_config, send_test
    from session.notify.engine_protocol import is_protocol_line, parse_engine_line
    from session.notify.hub import NotificationHub
    from session.notify.levels import ENGINE_EVENTS, EVENT_DEFAULT_LEVELS, KNOWN_EVENTS, AlertLevel, default_level
    from session.notify.message import NotificationMessage
    from session.notify.notifiers import (
        ChannelNotifier,
        DiscordNotifier,
        EmailNotifier,
        Notifier,
        SlackNotifier,
        TelegramNotifier,
        TradedayLineNotifier,
        WebhookNotifier,
        build_notifiers,
    )
    from session.notify.selftest import NotifyTestReport, run_notify_test
