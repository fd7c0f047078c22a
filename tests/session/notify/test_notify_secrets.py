"""No secret value (webhook path token, bot token, SMTP password, HMAC secret, header
value, health-check id) in any log line, outbox line, result, output or exception text,
whatever goes wrong: refused connections, timeouts, error bodies that echo the URL."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cli.notify_cmd import notify_test_command
from session.notify import (
    EmailNotifier,
    NotificationHub,
    NotificationsConfig,
    SlackNotifier,
    TelegramNotifier,
    send_test,
)
from session.notify.message import NotificationMessage
from tests.fakes.http_recorder import HttpRecorder, Reply
from tests.fakes.ports import free_port

SLACK_PATH = "/services/TSECRET1/BSECRET1/slackPathSecret123"
TG_TOKEN = "555000111:tgBotTokenSecretValue_abcdefghijklmno"
HOOK_PATH = "/hook/webhookPathSecret456"
HMAC_SECRET = "hmacSecretValue987"
HEADER_VALUE = "Bearer headerSecretToken654"
SMTP_PASSWORD = "smtpPasswordSecret321"
HEALTH_PATH = "/hc/healthUuidSecret-0000"
SECRETS = [SLACK_PATH.rsplit("/", 1)[1], TG_TOKEN, TG_TOKEN.split(":")[1], HOOK_PATH.rsplit("/", 1)[1],
           HMAC_SECRET, HEADER_VALUE, "headerSecretToken654", SMTP_PASSWORD, "healthUuidSecret"]

pytestmark = pytest.mark.usefixtures("isolated_redactor")


@pytest.fixture(autouse=True)
def _all_logs_reach_caplog(tradeday_logs_reach_caplog: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # everything, urllib3's request lines included


def _config(base: str, smtp_port: int, **overrides: object) -> NotificationsConfig:
    return NotificationsConfig.model_validate(
        {
            "enabled": True,
            "timeout": 0.3,
            "backoff": 0.01,
            "max_attempts": 2,
            "flush_timeout": 2,
            "healthcheck_url": base + HEALTH_PATH,
            "channels": [
                {"type": "slack", "webhook_url": base + SLACK_PATH},
                {"type": "discord", "webhook_url": base + "/api/webhooks/1/" + "discordSecretPath"},
                {"type": "telegram", "bot_token": TG_TOKEN, "chat_id": "7", "api_base": base},
                {"type": "webhook", "url": base + HOOK_PATH, "secret": HMAC_SECRET, "headers": {"Authorization": HEADER_VALUE}},
                {"type": "email", "host": "127.0.0.1", "port": smtp_port, "security": "starttls", "username": "bot",
                 "password": SMTP_PASSWORD, "from": "a@desk.test", "to": ["b@desk.test"]},
            ],
            **overrides,
        }
    )


def _assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS + ["discordSecretPath"]:
            assert secret not in text, f"secret {secret[:6]}… leaked"


def _message() -> NotificationMessage:
    # An engine that prints a secret in its own text must not leak it either.
    return NotificationMessage("engine fatal", f"token was {TG_TOKEN}", "critical", metadata={"auth": HEADER_VALUE})


@pytest.mark.parametrize("failure", ["refused", "500 echoing the URL", "timeout", "connection closed"])
def test_hub_failures_leak_nothing(failure: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    smtp_port = free_port()  # nothing listens: SMTP fails too
    outbox = tmp_path / "outbox.jsonl"
    if failure == "refused":
        with HttpRecorder() as gone:
            base = gone.url
        server = None
    else:
        reply = {
            "500 echoing the URL": Reply.error(500, f"no route for {SLACK_PATH} /bot{TG_TOKEN}/sendMessage {HOOK_PATH}"),
            "timeout": Reply.hanging(5),
            "connection closed": Reply.closed(),
        }[failure]
        server = HttpRecorder(default=reply).start()
        base = server.url
    try:
        hub = NotificationHub(_config(base, smtp_port), outbox)
        hub.emit("engine_fatal", None, "engine fatal", f"token was {TG_TOKEN}", {"auth": HEADER_VALUE})
        hub.ping("fail", body=f"password {SMTP_PASSWORD}")
        hub.close(flush_timeout=1.5)
    finally:
        if server is not None:
            server.stop()
    text = outbox.read_text(encoding="utf-8")
    assert text.count("\n") == 5  # every channel's copy kept
    _assert_clean(caplog.text, text)
    if server is not None:
        # Even what reached the (fake) services carries no secret from the engine's text.
        for request in server.requests:
            _assert_clean(request.body.decode("utf-8", "replace"))


def test_send_test_results_and_cli_output_leak_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with HttpRecorder(default=Reply.error(403, f"forbidden: {SLACK_PATH} {TG_TOKEN}")) as server:
        cfg = _config(server.url, free_port())
        results = send_test(cfg, None, "critical")
        assert len(results) == 5 and not any(r.ok for r in results)
        _assert_clean(*(r.error for r in results))
        assert notify_test_command(cfg, tmp_path / "o.jsonl", None, "info", False) == 1
        assert notify_test_command(cfg, tmp_path / "o.jsonl", None, "info", True) == 1
    captured = capsys.readouterr()
    _assert_clean(captured.out, captured.err, caplog.text)


def test_notifier_classes_leak_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with HttpRecorder() as gone:
        base = gone.url
    notifiers = [
        SlackNotifier(base + SLACK_PATH, max_attempts=1),
        TelegramNotifier(TG_TOKEN, 7, api_base=base, max_attempts=1),
        EmailNotifier("127.0.0.1", free_port(), "bot", SMTP_PASSWORD, "a@desk.test", ["b@desk.test"], max_attempts=1),
    ]
    for notifier in notifiers:
        assert notifier.notify(_message()) is False
        _assert_clean(notifier.last_error, repr(notifier.channel))
    _assert_clean(caplog.text)


def test_invalid_urls_fail_cleanly_without_raising(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = "http://[::1:badSecretHost/" + "x"
    cfg = NotificationsConfig.model_validate(
        {"enabled": True, "timeout": 0.3, "channels": [{"type": "webhook", "url": bad}]}
    )
    results = send_test(cfg)
    assert results[0].ok is False
    assert "badSecretHost" not in results[0].error and "badSecretHost" not in caplog.text


def test_one_channel_tested_alone_masks_every_channels_secrets(tmp_path: Path) -> None:
    """`notify test --channel slack`: the Slack server echoes the Telegram token. Only the
    Slack channel is ever built, so the token is masked only if send_test registered every
    secret of the config before sending."""
    from core.redact import GLOBAL_REDACTOR

    saved = set(GLOBAL_REDACTOR._secrets)
    GLOBAL_REDACTOR._secrets.clear()
    try:
        with HttpRecorder(default=Reply.error(403, f"forbidden: {TG_TOKEN}")) as server:
            cfg = _config(server.url, free_port())
            results = send_test(cfg, "slack", "info")
        assert [r.ok for r in results] == [False]
        _assert_clean(*(r.error for r in results))
    finally:
        GLOBAL_REDACTOR._secrets.clear()
        GLOBAL_REDACTOR._secrets.update(saved)
