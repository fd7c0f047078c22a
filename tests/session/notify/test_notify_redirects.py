"""No notification request follows a redirect (issue 11): a 30x names only the host it
points to and is a failure, in ``tradeday notify test``, in the hub's log and outbox, and
for the health-check ping. The host a redirect names receives nothing: not the secret
header, not the body, not the HMAC signature."""
from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.notify_cmd import notify_test_command
from session.notify.config import NotificationsConfig
from session.notify.hub import NotificationHub
from session.notify.outbox import Outbox
from tests.conftest import assert_no_secrets, run_tradeday, write_config
from tests.fakes.http_recorder import HttpRecorder, Reply

API_KEY = "apiKeySecretValue-7788"
HMAC_SECRET = "hmacRedirectSecret-4455"
PATH_TOKEN = "pathTokenSecret9911"
TG_TOKEN = "123456789:AAredirectBotTokenValue0123456789abc"
# The Location carries a token of its own: it must never be printed either.
LOCATION_TOKEN = "locationQueryToken3322"

pytestmark = pytest.mark.usefixtures("isolated_redactor", "tradeday_logs_reach_caplog")


@pytest.fixture
def elsewhere() -> Iterator[HttpRecorder]:
    """The host a redirect points to: it records whatever reaches it."""
    with HttpRecorder() as srv:
        yield srv


def _location(elsewhere: HttpRecorder) -> str:
    return f"{elsewhere.url}/collect?token={LOCATION_TOKEN}"


def _channel(kind: str, base: str) -> dict[str, Any]:
    if kind == "webhook":
        return {"type": "webhook", "name": "hook", "url": f"{base}/hook/{PATH_TOKEN}",
                "headers": {"X-Api-Key": API_KEY}, "secret": HMAC_SECRET}
    if kind == "telegram":
        return {"type": "telegram", "name": "hook", "bot_token": TG_TOKEN, "chat_id": "42", "api_base": base}
    return {"type": kind, "name": "hook", "webhook_url": f"{base}/services/T1/B1/{PATH_TOKEN}"}


def _config(*channels: dict[str, Any], **extra: Any) -> NotificationsConfig:
    return NotificationsConfig.model_validate(
        {"enabled": True, "timeout": 2, "backoff": 0.01, "max_attempts": 3, "flush_timeout": 5,
         "channels": list(channels), **extra})


def test_notify_test_reports_a_redirect_as_a_failure_and_sends_nothing_on(
    tmp_path: Path, cli_home: Path, elsewhere: HttpRecorder
) -> None:
    with HttpRecorder(default=Reply.redirect(_location(elsewhere), 307)) as first:
        cfg = write_config(tmp_path, f"""
            engines: [{{name: e, command: ["{sys.executable}", "-c", "pass"]}}]
            notifications:
              enabled: true
              timeout: 2
              channels:
                - type: webhook
                  name: ops
                  url: "{first.url}/hook/${{PATH_TOKEN}}"
                  headers: {{X-Api-Key: "${{API_KEY}}"}}
                  secret: "${{HMAC_SECRET}}"
            """)
        env = {"PATH_TOKEN": PATH_TOKEN, "API_KEY": API_KEY, "HMAC_SECRET": HMAC_SECRET}
        result = run_tradeday(["notify", "test", "-c", str(cfg)], cwd=cli_home, env=env)
        assert len(first.wait_for(1)) == 1
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("ops")]
    assert "FAILED" in line and "HTTP 307" in line and "redirect" in line
    assert f"127.0.0.1:{elsewhere.port}" in line
    assert "/collect" not in result.stdout + result.stderr
    assert elsewhere.requests == []
    assert_no_secrets([result.stdout, result.stderr], [API_KEY, HMAC_SECRET, PATH_TOKEN, LOCATION_TOKEN])


@pytest.mark.parametrize(("kind", "status"), [
    ("webhook", 307), ("webhook", 308), ("webhook", 301), ("slack", 302), ("discord", 303), ("telegram", 308),
])
def test_no_channel_type_follows_any_redirect(
    kind: str, status: int, tmp_path: Path, elsewhere: HttpRecorder, capsys: pytest.CaptureFixture[str]
) -> None:
    with HttpRecorder(default=Reply.redirect(_location(elsewhere), status)) as first:
        code = notify_test_command(_config(_channel(kind, first.url)), tmp_path / "outbox.jsonl", None, "info", True)
        assert len(first.requests) == 1
    captured = capsys.readouterr()
    assert code == 1
    assert f"HTTP {status} redirect to 127.0.0.1:{elsewhere.port}" in captured.out
    assert elsewhere.requests == []
    assert_no_secrets([captured.out, captured.err], [API_KEY, HMAC_SECRET, PATH_TOKEN, TG_TOKEN, LOCATION_TOKEN])


def test_a_relative_redirect_is_not_followed_either(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with HttpRecorder(default=Reply.redirect("/elsewhere/on/the/same/host", 308)) as first:
        code = notify_test_command(_config(_channel("webhook", first.url)), tmp_path / "o.jsonl", None, "info", False)
        assert [r.path for r in first.requests] == [f"/hook/{PATH_TOKEN}"]
    assert code == 1
    assert f"HTTP 308 redirect to 127.0.0.1:{first.port}" in capsys.readouterr().out


def test_the_hub_logs_a_redirect_as_a_refusal_and_keeps_the_message(
    tmp_path: Path, elsewhere: HttpRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outbox_path = tmp_path / "notifications" / "outbox.jsonl"
    with HttpRecorder(default=Reply.redirect(_location(elsewhere), 308)) as first:
        hub = NotificationHub(_config(_channel("webhook", first.url)), outbox_path)
        try:
            hub.emit("engine_fatal", None, "engine momentum gave up", "exit 3", {"engine": "momentum"})
            assert hub.flush(10)
        finally:
            hub.close(flush_timeout=0)
        assert len(first.requests) == 1  # a redirect is permanent: no retry
    assert elsewhere.requests == []
    (entry,) = Outbox(outbox_path).read()
    assert entry["permanent"] is True
    assert f"HTTP 308 redirect to 127.0.0.1:{elsewhere.port}" in entry["error"]
    errors = [r.getMessage() for r in caplog.records if r.name.startswith("tradeday") and r.levelno >= logging.ERROR]
    assert any(f"redirect to 127.0.0.1:{elsewhere.port}" in text for text in errors), errors
    texts = [r.getMessage() for r in caplog.records] + [outbox_path.read_text(encoding="utf-8")]
    assert_no_secrets(texts, [API_KEY, HMAC_SECRET, PATH_TOKEN, LOCATION_TOKEN])
    assert not any("/collect" in text for text in texts)


def test_a_health_check_ping_does_not_follow_a_redirect(
    tmp_path: Path, elsewhere: HttpRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    with HttpRecorder(default=Reply.redirect(_location(elsewhere), 307)) as first:
        hub = NotificationHub(_config(healthcheck_url=f"{first.url}/ping/{PATH_TOKEN}"), tmp_path / "o.jsonl")
        try:
            assert hub.ping("fail", body="engine momentum gave up") is False
            assert hub.ping("start") is False
        finally:
            hub.close(flush_timeout=0)
        assert len(first.requests) == 2
    assert elsewhere.requests == []
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("tradeday") and r.levelno >= logging.WARNING]
    assert sum(f"redirect to 127.0.0.1:{elsewhere.port}" in text for text in warnings) == 2, warnings
    assert_no_secrets(warnings, [PATH_TOKEN, LOCATION_TOKEN])
