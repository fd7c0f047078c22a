"""Each service's payload, sent for real to a local HTTP server and checked against the
service's documented format (Slack incoming webhooks, Discord execute-webhook embeds,
Telegram Bot API sendMessage, tradeday's own webhook schema)."""
from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
from datetime import UTC, datetime

import pytest

from session.notify.channels import make_transport
from session.notify.config import NotificationsConfig
from session.notify.levels import AlertLevel
from session.notify.message import NotificationMessage
from tests.fakes.http_recorder import HttpRecorder, RecordedRequest, Reply

TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

pytestmark = pytest.mark.usefixtures("isolated_redactor")


def _channel(data: dict):
    return NotificationsConfig.model_validate({"channels": [data]}).channels[0]


def _send(channel_data: dict, message: NotificationMessage, server: HttpRecorder) -> RecordedRequest:
    transport = make_transport(_channel(channel_data))
    try:
        outcome = transport.attempt(message, timeout=2)
    finally:
        transport.close()
    assert outcome.ok, outcome.error
    return server.wait_for(1)[-1]


def _msg(**kw) -> NotificationMessage:
    base = dict(
        title="engine momentum gave up",
        message="exit code 3 after 5 restarts",
        level=AlertLevel.CRITICAL,
        metadata={"engine": "momentum", "restarts": 5, "pnl": -1234.5},
        event="engine_fatal",
        timestamp=datetime(2026, 3, 2, 10, 15, 0, tzinfo=UTC),
    )
    base.update(kw)
    return NotificationMessage(**base)


def test_slack_incoming_webhook_payload(server: HttpRecorder) -> None:
    req = _send({"type": "slack", "webhook_url": server.url + "/services/T1/B1/x"}, _msg(message="a <b> & c"), server)
    assert req.method == "POST" and req.path == "/services/T1/B1/x"
    assert req.header("content-type", "").startswith("application/json")
    body = req.json()
    assert "CRITICAL" in body["text"] and "engine momentum gave up" in body["text"]
    (att,) = body["attachments"]
    assert re.fullmatch(r"#[0-9a-f]{6}", att["color"])
    assert att["title"] == "engine momentum gave up"
    assert att["text"] == "a &lt;b&gt; &amp; c"  # Slack's three control characters escaped
    assert att["fallback"]
    assert {"title": "restarts", "value": "5", "short": True} in att["fields"]
    assert {"title": "pnl", "value": "-1234.5", "short": True} in att["fields"]
    assert att["ts"] == int(datetime(2026, 3, 2, 10, 15, tzinfo=UTC).timestamp())


def test_slack_colours_differ_by_level(server: HttpRecorder) -> None:
    url = server.url + "/services/T/B/c"
    for level in AlertLevel:
        _send({"type": "slack", "webhook_url": url}, _msg(level=level), server)
    colours = [r.json()["attachments"][0]["color"] for r in server.wait_for(3)]
    assert len(set(colours)) == 3


def test_discord_embed_payload(server: HttpRecorder) -> None:
    req = _send({"type": "discord", "webhook_url": server.url + "/api/webhooks/1/tok", "username": "tradeday"}, _msg(), server)
    body = req.json()
    assert body["username"] == "tradeday"
    assert body["allowed_mentions"] == {"parse": []}
    assert len(body["content"]) <= 2000 and "CRITICAL" in body["content"]
    (embed,) = body["embeds"]
    assert embed["title"] == "engine momentum gave up"
    assert embed["description"] == "exit code 3 after 5 restarts"
    assert isinstance(embed["color"], int) and 0 <= embed["color"] <= 0xFFFFFF
    assert datetime.fromisoformat(embed["timestamp"]) == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert {"name": "restarts", "value": "5", "inline": True} in embed["fields"]


def _embed_total(embed: dict) -> int:
    return (len(embed.get("title", "")) + len(embed.get("description", "")) + len(embed["footer"]["text"])
            + sum(len(f["name"]) + len(f["value"]) for f in embed["fields"]))


def test_discord_truncates_to_documented_limits(server: HttpRecorder) -> None:
    huge = _msg(
        title="T" * 400,
        message="D" * 9000,
        metadata={f"field{i:02d}-" + "n" * 300: "v" * 2000 for i in range(40)},
    )
    req = _send({"type": "discord", "webhook_url": server.url + "/api/webhooks/1/tok"}, huge, server)
    body = req.json()
    (embed,) = body["embeds"]
    assert len(body["content"]) <= 2000
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert len(embed["description"]) <= 4096 and embed["description"].endswith("…")
    assert len(embed["fields"]) <= 25
    assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 and f["value"] for f in embed["fields"])
    assert _embed_total(embed) <= 6000


def test_discord_many_small_fields_keep_25_with_a_note(server: HttpRecorder) -> None:
    req = _send({"type": "discord", "webhook_url": server.url + "/w"}, _msg(metadata={f"k{i}": i for i in range(30)}), server)
    fields = req.json()["embeds"][0]["fields"]
    assert len(fields) == 25
    assert fields[-1]["value"] == "6 more fields not shown"


def test_telegram_send_message_html_is_escaped(server: HttpRecorder) -> None:
    msg = _msg(title="P&L <check>", message="if a < b && c > d: <script>", metadata={"sym<bol>": "A&B"})
    req = _send({"type": "telegram", "bot_token": TG_TOKEN, "chat_id": "-100200", "api_base": server.url}, msg, server)
    assert req.path == f"/bot{TG_TOKEN}/sendMessage"
    body = req.json()
    assert body["chat_id"] == "-100200" and body["parse_mode"] == "HTML"
    text = body["text"]
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "P&amp;L &lt;check&gt;" in text
    assert "<b>sym&lt;bol&gt;</b>: A&amp;B" in text
    # Only Telegram's supported tags remain once escaped text is removed.
    assert set(re.findall(r"</?([a-z]+)>", text)) <= {"b", "i"}
    assert html.unescape(re.sub(r"</?[bi]>", "", text)).count("if a < b && c > d: <script>") == 1


def test_telegram_text_fits_4096_after_entity_parsing(server: HttpRecorder) -> None:
    msg = _msg(title="T" * 5000, message="<&>" * 3000 + "🚀" * 500, metadata={"note": "x" * 500})
    req = _send({"type": "telegram", "bot_token": TG_TOKEN, "chat_id": "1", "api_base": server.url}, msg, server)
    text = req.json()["text"]
    visible = html.unescape(re.sub(r"</?[bi]>", "", text))
    assert len(visible.encode("utf-16-le")) // 2 <= 4096
    assert "…" in visible


def test_webhook_schema_and_hmac_signature_verify_independently(server: HttpRecorder) -> None:
    secret = "whsec-0123456789"
    req = _send(
        {"type": "webhook", "url": server.url + "/hook", "secret": secret, "headers": {"X-Env": "prod"}},
        _msg(repeated=2, late=True),
        server,
    )
    assert req.header("x-env") == "prod"
    expected = "sha256=" + hmac.new(secret.encode(), req.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(req.header("x-tradeday-signature", ""), expected)
    body = req.json()
    assert set(body) == {"source", "version", "event", "level", "title", "message", "fields", "time", "late", "repeated",
                         "metadata", "timestamp"}
    # copilot_quant's names for the same facts, for receivers written against it (issue 14).
    assert body["metadata"] == body["fields"] and body["timestamp"] == body["time"]
    assert body["source"] == "tradeday" and body["version"] == 1
    assert body["event"] == "engine_fatal" and body["level"] == "critical"
    assert body["late"] is True and body["repeated"] == 2
    assert body["fields"] == {"engine": "momentum", "restarts": 5, "pnl": -1234.5}  # JSON types kept
    assert datetime.fromisoformat(body["time"]) == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert "repeated 2 times" in body["message"] and body["title"].endswith("(late)")


def test_webhook_without_secret_has_no_signature(server: HttpRecorder) -> None:
    req = _send({"type": "webhook", "url": server.url + "/hook"}, _msg(), server)
    assert req.header("x-tradeday-signature") is None
    json.loads(req.body)


@pytest.mark.parametrize(
    "reply, retryable, retry_after",
    [
        (Reply.error(500), True, None),
        (Reply.error(503), True, None),
        (Reply.too_many(7), True, 7.0),
        (Reply.json({"retry_after": 0.25}, status=429), True, 0.25),  # Discord
        (Reply.json({"ok": False, "error_code": 429, "parameters": {"retry_after": 3}}, status=429), True, 3.0),  # Telegram
        (Reply.error(400, "invalid_payload"), False, None),
        (Reply.error(404, "no_service"), False, None),
    ],
)
def test_http_answers_are_classified(server: HttpRecorder, reply: Reply, retryable: bool, retry_after: float | None) -> None:
    server.enqueue(reply)
    transport = make_transport(_channel({"type": "slack", "webhook_url": server.url + "/services/a/b/c"}))
    outcome = transport.attempt(_msg(), timeout=2)
    transport.close()
    assert not outcome.ok
    assert outcome.retryable is retryable
    assert outcome.retry_after == retry_after
    assert outcome.error.startswith(f"HTTP {reply.status}")


def test_timeouts_and_dropped_connections_are_retryable(server: HttpRecorder) -> None:
    server.enqueue(Reply.hanging(2), Reply.closed())
    transport = make_transport(_channel({"type": "webhook", "url": server.url + "/hook"}))
    hung = transport.attempt(_msg(), timeout=0.2)
    closed = transport.attempt(_msg(), timeout=2)
    transport.close()
    assert not hung.ok and hung.retryable and "timed out" in hung.error
    assert not closed.ok and closed.retryable and "closed" in closed.error
