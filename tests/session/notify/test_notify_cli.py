"""``tradeday notify test``'s command function: per-channel lines or JSON, exit codes,
masked errors, and re-sending what waits in the outbox."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.notify_cmd import notify_test_command
from session.notify.config import NotificationsConfig
from session.notify.message import NotificationMessage
from session.notify.outbox import Outbox, make_entry, new_entry_id
from tests.fakes.http_recorder import HttpRecorder, Reply

TG_TOKEN = "987654321:AAFcliSecretTokenValue0123456789xyz"

pytestmark = pytest.mark.usefixtures("isolated_redactor")


def cfg(server: HttpRecorder, **overrides: Any) -> NotificationsConfig:
    data = {
        "enabled": True,
        "timeout": 1,
        "flush_timeout": 3,
        "channels": [
            {"type": "webhook", "name": "hook", "url": server.url + "/hook/cliHookPathToken"},
            {"type": "telegram", "bot_token": TG_TOKEN, "chat_id": "5", "api_base": server.url},
        ],
    }
    data.update(overrides)
    return NotificationsConfig.model_validate(data)


def test_all_channels_ok_prints_a_line_each_and_exits_0(server: HttpRecorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = notify_test_command(cfg(server), tmp_path / "outbox.jsonl", None, "warning", False)
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:3] == ["hook", "webhook", "ok"] and lines[0].endswith("ms")
    assert lines[1].split()[:3] == ["telegram", "telegram", "ok"]
    bodies = {r.path: r for r in server.wait_for(2)}
    assert bodies["/hook/cliHookPathToken"].json()["event"] == "test"
    assert bodies["/hook/cliHookPathToken"].json()["level"] == "warning"


def test_a_failing_channel_exits_1_with_a_masked_error(server: HttpRecorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server.enqueue(Reply.error(401, f"Unauthorized for /bot{TG_TOKEN}"))
    code = notify_test_command(cfg(server), tmp_path / "outbox.jsonl", "telegram", "info", False)
    captured = capsys.readouterr()
    assert code == 1
    (line,) = captured.out.splitlines()
    assert "FAILED" in line and "HTTP 401" in line
    assert TG_TOKEN not in captured.out + captured.err


def test_unreachable_channel_fails_fast_and_masks_the_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with HttpRecorder() as gone:
        url = gone.url
    notifications = NotificationsConfig.model_validate(
        {"enabled": True, "timeout": 1, "channels": [{"type": "slack", "webhook_url": url + "/services/T9/B9/goneSecret"}]}
    )
    code = notify_test_command(notifications, tmp_path / "outbox.jsonl", None, "critical", True)
    captured = capsys.readouterr()
    assert code == 1
    report = json.loads(captured.out)
    assert report["ok"] is False and report["channels"][0]["error"] == "connection refused"
    assert "goneSecret" not in captured.out + captured.err


def test_unknown_channel_or_none_configured_exits_2(server: HttpRecorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert notify_test_command(cfg(server), tmp_path / "o.jsonl", "pager", "info", False) == 2
    assert "no notification channel named 'pager'" in capsys.readouterr().err
    assert notify_test_command(NotificationsConfig(enabled=True), tmp_path / "o.jsonl", None, "info", False) == 2
    assert "no notification channels" in capsys.readouterr().err
    assert notify_test_command(cfg(server), tmp_path / "o.jsonl", None, "loud", False) == 2
    assert server.requests == []


def test_json_output(server: HttpRecorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = notify_test_command(cfg(server), tmp_path / "o.jsonl", "hook", "critical", True)
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["ok"] is True and report["level"] == "critical" and report["enabled"] is True
    (entry,) = report["channels"]
    assert entry["name"] == "hook" and entry["type"] == "webhook" and entry["ok"] is True
    assert isinstance(entry["latency_ms"], int) and entry["error"] is None


def test_placeholder_channel_is_reported_without_calling_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = NotificationsConfig.model_validate(
        {"enabled": True, "channels": ["slack"], "alert_levels": ["warning"],
         "slack_webhook_url": "https://hooks.slack.com/services/YOUR/WEBHOOK/URL"}
    )
    assert notify_test_command(seed, tmp_path / "o.jsonl", None, "info", False) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "placeholder" in out


def _seed_outbox(path: Path, channel: str, title: str) -> None:
    Outbox(path).append([make_entry(entry_id=new_entry_id(), channel=channel, channel_type="webhook",
                                    message=NotificationMessage(title, "", "critical", event="engine_fatal"),
                                    attempts=5, error="HTTP 500", permanent=False)])


def test_working_channels_resend_the_outbox(server: HttpRecorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outbox = tmp_path / "notifications" / "outbox.jsonl"
    _seed_outbox(outbox, "hook", "engine momentum gave up")
    _seed_outbox(outbox, "retired-channel", "old")
    code = notify_test_command(cfg(server), outbox, None, "info", False)
    out = capsys.readouterr().out
    assert code == 0
    assert "re-sent 1 late notification(s)" in out
    assert "1 notification(s) still wait in the outbox" in out and "retired-channel: 1" in out
    late = [r.json() for r in server.wait_for(3) if r.path.startswith("/hook")]
    assert any(b["late"] and b["title"] == "engine momentum gave up (late)" for b in late)
    assert [e["channel"] for e in Outbox(outbox).read()] == ["retired-channel"]


def test_disabled_notifications_still_test_but_say_so_and_keep_the_outbox(
    server: HttpRecorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = tmp_path / "outbox.jsonl"
    _seed_outbox(outbox, "hook", "kept")
    code = notify_test_command(cfg(server, enabled=False), outbox, "hook", "info", False)
    out = capsys.readouterr().out
    assert code == 0 and "notifications are disabled" in out
    assert len(Outbox(outbox).read()) == 1 and len(server.requests) == 1
