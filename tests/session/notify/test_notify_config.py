"""The notifications config section: full form, compact (copilot_quant) form, checks, secrets."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from session.notify.config import (
    DiscordChannel,
    EmailChannel,
    NotificationsConfig,
    SlackChannel,
    TelegramChannel,
    WebhookChannel,
    secret_values,
)
from session.notify.diagnostics import check_channel_config
from session.notify.levels import AlertLevel

SEED_PLACEHOLDER = "https://hooks.slack.com/services/YOUR/WEBHOOK/URL"

pytestmark = pytest.mark.usefixtures("isolated_redactor")


def test_defaults_are_off_and_sane() -> None:
    cfg = NotificationsConfig()
    assert cfg.enabled is False and cfg.channels == []
    assert (cfg.dedup_window, cfg.flush_timeout, cfg.timeout) == (600.0, 10.0, 5.0)
    assert (cfg.queue_size, cfg.max_attempts) == (1000, 5)


def test_full_form_parses_every_channel_type_durations_and_levels() -> None:
    cfg = NotificationsConfig.model_validate(
        {
            "enabled": True,
            "dedup_window": "5m",
            "flush_timeout": "1m30s",
            "timeout": 2,
            "events": {"no_session": True, "fill": False},
            "channels": [
                {"type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/X", "min_level": "Warning"},
                {"type": "discord", "name": "ops", "webhook_url": "https://discord.com/api/webhooks/1/abc", "events": ["engine_fatal"]},
                {"type": "telegram", "bot_token": "123456:" + "A" * 35, "chat_id": -1001234567, "min_level": "CRITICAL"},
                {"type": "email", "host": "smtp.mail.test", "security": "SSL", "username": "u", "password": "p4ssw0rd",
                 "from": "bot@mail.test", "to": "a@mail.test, b@mail.test"},
                {"type": "webhook", "url": "https://hooks.mail.test/x", "headers": {"Authorization": "Bearer t0k3n"}, "secret": "s3cr3t"},
            ],
        }
    )
    assert (cfg.dedup_window, cfg.flush_timeout, cfg.timeout) == (300.0, 90.0, 2.0)
    slack, discord, telegram, email, webhook = cfg.channels
    assert isinstance(slack, SlackChannel) and slack.name == "slack" and slack.min_level is AlertLevel.WARNING
    assert isinstance(discord, DiscordChannel) and discord.name == "ops" and discord.events == ["engine_fatal"]
    assert isinstance(telegram, TelegramChannel) and telegram.chat_id == "-1001234567"
    assert telegram.min_level is AlertLevel.CRITICAL and telegram.api_base == "https://api.telegram.org"
    assert isinstance(email, EmailChannel) and email.security == "ssl" and email.effective_port == 465
    assert email.from_addr == "bot@mail.test" and email.to == ["a@mail.test", "b@mail.test"]
    assert isinstance(webhook, WebhookChannel) and webhook.secret == "s3cr3t"
    assert cfg.channel("ops") is discord and cfg.channel("nope") is None
    assert all(check_channel_config(c) == [] for c in cfg.channels)


def test_copilot_compact_form_with_the_seed_placeholder_loads() -> None:
    cfg = NotificationsConfig.model_validate(
        {"enabled": True, "channels": ["slack"], "alert_levels": ["warning", "critical"], "slack_webhook_url": SEED_PLACEHOLDER}
    )
    (slack,) = cfg.channels
    assert isinstance(slack, SlackChannel)
    assert slack.webhook_url == SEED_PLACEHOLDER
    assert slack.min_level is AlertLevel.WARNING  # the lowest listed level
    # Loading never calls out; the precheck says the URL is a placeholder.
    problems = check_channel_config(slack)
    assert problems and "placeholder" in problems[0]


def test_compact_form_other_channels_and_levels() -> None:
    cfg = NotificationsConfig.model_validate(
        {
            "enabled": True,
            "channels": ["Discord", "telegram", "email", "webhook"],
            "alert_levels": ["critical", "info"],
            "discord_webhook_url": "https://discord.com/api/webhooks/1/abc",
            "telegram_bot_token": "123456:" + "B" * 35,
            "telegram_chat_id": 42,
            "smtp_host": "smtp.mail.test",
            "smtp_port": 2525,
            "email_username": "u",
            "smtp_password": "pw-123456",
            "email_from": "bot@mail.test",
            "email_to": ["me@mail.test"],
            "webhook_url": "https://hooks.mail.test/y",
            "webhook_headers": {"X-Key": "k3y-value"},
        }
    )
    discord, telegram, email, webhook = cfg.channels
    assert all(c.min_level is AlertLevel.INFO for c in cfg.channels)
    assert discord.webhook_url.endswith("/abc") and telegram.chat_id == "42"
    assert (email.host, email.port, email.username, email.password) == ("smtp.mail.test", 2525, "u", "pw-123456")
    assert webhook.headers == {"X-Key": "k3y-value"}


def test_compact_form_without_channels_list_infers_them_and_defaults_to_warning() -> None:
    cfg = NotificationsConfig.model_validate({"enabled": True, "slack_webhook_url": "https://hooks.slack.com/services/T/B/X"})
    assert [c.type for c in cfg.channels] == ["slack"]
    assert cfg.channels[0].min_level is AlertLevel.WARNING  # copilot_quant's default alert_levels


def test_compact_form_rejects_unknown_channel_name() -> None:
    with pytest.raises(ValidationError, match="unknown channel 'pager'"):
        NotificationsConfig.model_validate({"channels": ["pager"], "alert_levels": ["info"]})


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"channels": [{"type": "slack", "webhok_url": "x"}]}, "webhok_url"),
        ({"channels": [{"type": "sms"}]}, "type"),
        ({"channels": [{"type": "slack", "min_level": "loud"}]}, "min_level"),
        ({"events": {"no_sesion": True}}, "no_sesion"),
        ({"channels": [{"type": "slack", "events": ["fills"]}]}, "fills"),
        ({"dedup_window": "ten minutes"}, "dedup_window"),
        ({"timeout": 0}, "timeout"),
        ({"channels": [{"type": "slack"}, {"type": "slack"}]}, "distinct name"),
        ({"channels": [{"type": "email", "security": "tls"}]}, "security"),
    ],
)
def test_invalid_values_are_config_errors(data: dict, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        NotificationsConfig.model_validate(data)
    assert fragment in str(info.value)


def test_validation_errors_do_not_echo_secret_values() -> None:
    secret_url = "https://hooks.slack.com/services/T0SECRET/B0SECRET/zzSecretPathToken"
    with pytest.raises(ValidationError) as info:
        NotificationsConfig.model_validate(
            {"channels": [{"type": "slack", "webhook_url": secret_url, "min_level": secret_url}]}
        )
    assert "zzSecretPathToken" not in str(info.value)
    with pytest.raises(ValidationError) as info:
        NotificationsConfig.model_validate({"channels": [{"type": "email", "password": ["hunter2-secret"]}]})
    assert "hunter2-secret" not in str(info.value)


def test_repr_hides_secrets() -> None:
    cfg = NotificationsConfig.model_validate(
        {"channels": [{"type": "telegram", "bot_token": "999:reprSecretToken", "chat_id": 1},
                      {"type": "email", "password": "reprSecretPass"}]}
    )
    assert "reprSecretToken" not in repr(cfg) and "reprSecretPass" not in repr(cfg)


def test_secret_values_lists_every_secret_including_url_paths() -> None:
    cfg = NotificationsConfig.model_validate(
        {
            "healthcheck_url": "https://hc-ping.com/0f0f0f0f-uuid",
            "channels": [
                {"type": "slack", "webhook_url": "https://hooks.slack.com/services/T1/B1/slackTok"},
                {"type": "discord", "webhook_url": "https://discord.com/api/webhooks/1/discTok?thread_id=7"},
                {"type": "telegram", "bot_token": "123:tgTok", "chat_id": 1},
                {"type": "email", "password": "mailPass"},
                {"type": "webhook", "url": "https://h.test/w/hookTok", "secret": "hmacKey", "headers": {"Authorization": "Bearer hdrTok"}},
            ],
        }
    )
    values = secret_values(cfg)
    for expected in [
        "https://hooks.slack.com/services/T1/B1/slackTok",
        "/services/T1/B1/slackTok",  # requests' errors show only the path
        "/api/webhooks/1/discTok?thread_id=7",
        "/0f0f0f0f-uuid",
        "123:tgTok",
        "mailPass",
        "hmacKey",
        "Bearer hdrTok",
        "/w/hookTok",
    ]:
        assert expected in values


@pytest.mark.parametrize(
    "channel, fragment",
    [
        ({"type": "slack"}, "webhook_url is not set"),
        ({"type": "discord", "webhook_url": "discord.com/api/webhooks/1/x"}, "http(s) URL"),
        ({"type": "webhook", "url": "${HOOK_URL}"}, "placeholder"),
        ({"type": "telegram", "chat_id": "1"}, "bot_token is not set"),
        ({"type": "telegram", "bot_token": "nonsense", "chat_id": "1"}, "does not look like"),
        ({"type": "telegram", "bot_token": "123456:" + "C" * 35}, "chat_id is not set"),
        ({"type": "email", "from": "a@b.test", "to": ["c@d.test"]}, "host is not set"),
        ({"type": "email", "host": "smtp.test", "from": "a@b.test"}, "to has no recipients"),
        ({"type": "email", "host": "smtp.test", "to": ["c@d.test"]}, "from is not set"),
        ({"type": "email", "host": "smtp.test", "from": "a@b.test", "to": ["c@d.test"], "username": "u"}, "password is not"),
        ({"type": "email", "host": "smtp.test", "security": "none", "from": "a@b.test", "to": ["c@d.test"],
          "username": "u", "password": "checkSecretPw"}, "unencrypted"),
    ],
)
def test_check_channel_config_finds_problems_without_naming_secrets(channel: dict, fragment: str) -> None:
    cfg = NotificationsConfig.model_validate({"channels": [channel]})
    problems = check_channel_config(cfg.channels[0])
    assert any(fragment in p for p in problems), problems
    assert not any("checkSecretPw" in p or "nonsense" in p for p in problems)


def test_the_package_exports_exactly_its_lazy_names() -> None:
    import session.notify as notify

    assert notify.__all__ == sorted(notify._EXPORTS)
    for name in notify.__all__:
        assert getattr(notify, name) is not None
