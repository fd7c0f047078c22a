"""copilot_quant's API for engines: notifier classes and the order/risk adapters, sent for
real to a local HTTP server, and the line notifier that hands messages to tradeday."""
from __future__ import annotations

import hashlib
import hmac
import io
import logging
from dataclasses import dataclass, field
from enum import Enum

import pytest

from session.notify import (
    AlertLevel,
    DiscordNotifier,
    NotificationMessage,
    NotificationsConfig,
    Notifier,
    OrderNotificationAdapter,
    RiskNotificationAdapter,
    SlackNotifier,
    TelegramNotifier,
    TradedayLineNotifier,
    WebhookNotifier,
    build_notifiers,
    parse_engine_line,
)
from tests.fakes.http_recorder import HttpRecorder, Reply

TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

pytestmark = pytest.mark.usefixtures("isolated_redactor", "tradeday_logs_reach_caplog")


# copilot_quant's OrderRecord, reduced to what the adapter reads.
class OrderStatus(Enum):
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"


@dataclass
class Fill:
    commission: float


@dataclass
class OrderRecord:
    order_id: int
    symbol: str
    action: str
    total_quantity: int
    filled_quantity: int
    avg_fill_price: float
    status: OrderStatus
    remaining_quantity: int = 0
    retry_count: int = 0
    fills: list[Fill] = field(default_factory=list)


def _msg(level: AlertLevel = AlertLevel.WARNING) -> NotificationMessage:
    return NotificationMessage(title="Position limit", message="AAPL at 9.8% of equity", level=level, metadata={"symbol": "AAPL"})


def test_slack_notifier_sends_and_filters_by_level_and_enabled(server: HttpRecorder) -> None:
    notifier = SlackNotifier(webhook_url=server.url + "/services/T/B/X", min_level=AlertLevel.WARNING)
    assert notifier.notify(_msg(AlertLevel.INFO)) is False
    assert notifier.notify(_msg(AlertLevel.WARNING)) is True
    assert SlackNotifier(server.url + "/services/T/B/X", enabled=False).notify(_msg()) is False
    (req,) = server.wait_for(1)
    assert req.json()["attachments"][0]["title"] == "Position limit"


def test_other_notifiers_use_the_same_formats(server: HttpRecorder) -> None:
    assert DiscordNotifier(server.url + "/api/webhooks/1/x").notify(_msg())
    assert TelegramNotifier(TG_TOKEN, -100, api_base=server.url).notify(_msg())
    assert WebhookNotifier(server.url + "/hook", headers={"Authorization": "Bearer abc"}, secret="k3y-k3y").notify(_msg())
    discord, telegram, hook = server.wait_for(3)
    assert discord.json()["embeds"][0]["title"] == "Position limit"
    assert telegram.path == f"/bot{TG_TOKEN}/sendMessage" and telegram.json()["chat_id"] == "-100"
    assert hook.header("authorization") == "Bearer abc"
    expected = "sha256=" + hmac.new(b"k3y-k3y", hook.body, hashlib.sha256).hexdigest()
    assert hook.header("x-tradeday-signature") == expected


def test_notifier_retries_then_reports_failure_without_raising(server: HttpRecorder, caplog: pytest.LogCaptureFixture) -> None:
    server.default = Reply.error(500)
    notifier = WebhookNotifier(server.url + "/hook", max_attempts=2, backoff=0.01)
    assert notifier.notify(_msg()) is False
    assert len(server.requests) == 2 and notifier.last_error.startswith("HTTP 500")
    assert "could not send" in caplog.text


def test_placeholder_url_is_not_called(server: HttpRecorder) -> None:
    notifier = SlackNotifier("https://hooks.slack.com/services/YOUR/WEBHOOK/URL")
    assert notifier.notify(_msg()) is False and "placeholder" in notifier.last_error


def test_custom_notifier_subclass_and_a_broken_one() -> None:
    sent: list[str] = []

    class ListNotifier(Notifier):
        def send(self, message: NotificationMessage) -> bool:
            sent.append(message.title)
            return True

    assert ListNotifier(min_level="warning").notify(_msg(AlertLevel.CRITICAL)) is True
    assert ListNotifier(min_level="critical").notify(_msg(AlertLevel.WARNING)) is False
    assert sent == ["Position limit"]
    assert Notifier().notify(_msg()) is False  # send() not implemented: logged, not raised


def test_order_adapter_fills_partial_fills_and_errors(server: HttpRecorder) -> None:
    hook = WebhookNotifier(server.url + "/hook")
    adapter = OrderNotificationAdapter([hook])
    filled = OrderRecord(7, "AAPL", "BUY", 100, 100, 150.25, OrderStatus.FILLED, fills=[Fill(0.5), Fill(0.25)])
    partial = OrderRecord(8, "MSFT", "SELL", 50, 20, 410.0, OrderStatus.PARTIALLY_FILLED, remaining_quantity=30)
    adapter.on_order_filled(filled)
    adapter.on_order_filled(partial)  # partial fills are off by default
    adapter.on_order_error(OrderRecord(9, "TSLA", "BUY", 5, 0, 0.0, OrderStatus.FILLED, retry_count=2), "insufficient margin")
    OrderNotificationAdapter([hook], notify_on_partial_fills=True, notify_on_errors=False).on_order_filled(partial)
    OrderNotificationAdapter([hook], notify_on_errors=False).on_order_error(filled, "ignored")
    OrderNotificationAdapter([hook], notify_on_fills=False).on_order_filled(filled)
    fill, error, part = (r.json() for r in server.wait_for(3))
    assert len(server.requests) == 3
    assert (fill["event"], fill["level"], fill["title"]) == ("fill", "info", "Order filled")
    assert fill["message"] == "BUY 100 AAPL at 150.25"
    assert fill["fields"]["order_id"] == 7 and fill["fields"]["commission"] == "0.75"
    assert (error["event"], error["level"]) == ("order_error", "warning")
    assert "insufficient margin" in error["message"] and error["fields"]["retry_count"] == 2
    assert part["title"] == "Order partially filled" and "(30 remaining)" in part["message"]


def test_risk_adapter_circuit_breaker_is_critical(server: HttpRecorder) -> None:
    RiskNotificationAdapter([WebhookNotifier(server.url + "/hook")]).on_circuit_breaker_triggered(
        "Portfolio drawdown exceeded 10%", drawdown=0.12, threshold=0.10
    )
    body = server.wait_for(1)[0].json()
    assert (body["event"], body["level"], body["title"]) == ("circuit_breaker", "critical", "Circuit breaker activated")
    assert body["fields"] == {"reason": "Portfolio drawdown exceeded 10%", "drawdown": "12.00%", "threshold": "10.00%"}


def test_one_broken_notifier_does_not_stop_the_others(server: HttpRecorder, caplog: pytest.LogCaptureFixture) -> None:
    class Exploding:
        def notify(self, message: NotificationMessage) -> bool:
            raise RuntimeError("boom")

    RiskNotificationAdapter([Exploding(), WebhookNotifier(server.url + "/hook")]).on_circuit_breaker_triggered("x")
    server.wait_for(1)
    assert "boom" in caplog.text


def test_line_notifier_round_trips_through_the_engine_protocol() -> None:
    stream = io.StringIO()
    line_notifier = TradedayLineNotifier(stream)
    OrderNotificationAdapter([line_notifier]).on_order_filled(
        OrderRecord(7, "INFY", "BUY", 10, 10, 1520.5, OrderStatus.FILLED)
    )
    line_notifier.notify(NotificationMessage("custom", "text", "critical", metadata={"event": "clash", "n": 1}, event="engine_fatal"))
    first, second = stream.getvalue().splitlines()
    fill = parse_engine_line(first, "momentum")
    assert fill is not None and (fill.event, fill.level, fill.title) == ("fill", AlertLevel.INFO, "momentum: Order filled")
    assert fill.metadata["symbol"] == "INFY" and fill.message == "BUY 10 INFY at 1,520.50"
    other = parse_engine_line(second, "momentum")
    assert other is not None and other.event == "message"  # not an engine event: sent as a message
    assert other.level is AlertLevel.CRITICAL and other.metadata["event_"] == "clash"


def test_build_notifiers_from_config(server: HttpRecorder, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = NotificationsConfig.model_validate(
        {"enabled": True, "channels": [{"type": "webhook", "url": server.url + "/a", "min_level": "critical"},
                                       {"type": "webhook", "name": "b", "url": server.url + "/b", "events": ["risk"]}]}
    )
    a, b = build_notifiers(cfg)
    assert a.notify(_msg(AlertLevel.WARNING)) is False and a.notify(_msg(AlertLevel.CRITICAL)) is True
    assert b.notify(_msg()) is False
    assert b.notify(NotificationMessage("risk", "", "warning", event="risk")) is True
    assert [r.path for r in server.wait_for(2)] == ["/a", "/b"]
    assert build_notifiers(cfg.model_copy(update={"enabled": False})) == []
