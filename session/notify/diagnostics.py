"""Is a channel usable? ``check_channel_config`` (no network, for the precheck) and
``send_test`` (a real message, for ``tradeday notify test``)."""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.errors import UsageError
from session.notify.config import (
    ChannelConfig,
    DiscordChannel,
    EmailChannel,
    NotificationsConfig,
    SlackChannel,
    TelegramChannel,
    WebhookChannel,
)
from session.notify.levels import TEST, AlertLevel
from session.notify.message import NotificationMessage

# The seed config's https://hooks.slack.com/services/YOUR/WEBHOOK/URL, and the like.
_PLACEHOLDER = re.compile(r"YOUR[/_-]|/YOUR\b|\bCHANGE[_-]?ME\b|\bREPLACE[_-]?ME\b|XXXX|example\.(com|org|net)|\$\{|<[^>]*>", re.IGNORECASE)
_TELEGRAM_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _url_problems(field: str, url: str | None) -> list[str]:
    # Messages name the field, never the value: the value is the secret.
    if not url or not url.strip():
        return [f"{field} is not set"]
    if _PLACEHOLDER.search(url):
        return [f"{field} is still a placeholder (like the example's YOUR/WEBHOOK/URL); put the real URL in an environment variable"]
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return [f"{field} is not a valid URL"]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"{field} must be an http(s) URL"]
    return []


def check_channel_config(channel: ChannelConfig) -> list[str]:
    """Problems that stop this channel from delivering, found without calling out."""
    problems: list[str] = []
    if isinstance(channel, (SlackChannel, DiscordChannel)):
        problems += _url_problems("webhook_url", channel.webhook_url)
    elif isinstance(channel, WebhookChannel):
        problems += _url_problems("url", channel.url)
    elif isinstance(channel, TelegramChannel):
        token = (channel.bot_token or "").strip()
        if not token:
            problems.append("bot_token is not set")
        elif _PLACEHOLDER.search(token) or not _TELEGRAM_TOKEN.match(token):
            problems.append("bot_token does not look like a Telegram bot token (digits, a colon, then the key from @BotFather)")
        if not (channel.chat_id or "").strip():
            problems.append("chat_id is not set")
        problems += [p for p in _url_problems("api_base", channel.api_base) if "not set" not in p]
    elif isinstance(channel, EmailChannel):
        if not (channel.host or "").strip():
            problems.append("host is not set")
        from_addr = channel.from_addr or ""
        if not from_addr.strip():
            problems.append("from is not set")
        elif "@" not in from_addr:
            problems.append("from is not an email address")
        if not channel.to:
            problems.append("to has no recipients")
        bad = [addr for addr in channel.to if "@" not in addr]
        if bad:
            problems.append(f"to has {len(bad)} entr{'y' if len(bad) == 1 else 'ies'} that are not email addresses")
        if channel.username and not channel.password:
            problems.append("username is set but password is not")
        if channel.password and not channel.username:
            problems.append("password is set but username is not")
        if channel.security == "none" and channel.password and (channel.host or "") not in _LOCAL_HOSTS:
            problems.append("security is none: the password would cross the network unencrypted; use starttls or ssl")
    return problems


@dataclass(frozen=True)
class ChannelTestResult:
    name: str
    type: str
    ok: bool
    latency_ms: int
    error: str = ""


def _test_message(level: AlertLevel, channel: ChannelConfig) -> NotificationMessage:
    return NotificationMessage(
        title="tradeday test notification",
        message=f"If you can read this, the {channel.type} channel '{channel.label}' works.",
        level=level,
        metadata={"channel": channel.label, "level": level.name},
        event=TEST,
    )


def _test_one(config: NotificationsConfig, channel: ChannelConfig, level: AlertLevel) -> ChannelTestResult:
    from session.notify.channels import make_transport

    problems = check_channel_config(channel)
    if problems:
        return ChannelTestResult(channel.label, channel.type, False, 0, "; ".join(problems))
    transport = make_transport(channel)
    start = time.monotonic()
    try:
        # One try: a test should report what happened now, not after minutes of backoff.
        outcome = transport.attempt(_test_message(level, channel), config.timeout)
    finally:
        transport.close()
    latency = int(round((time.monotonic() - start) * 1000))
    return ChannelTestResult(channel.label, channel.type, outcome.ok, latency, outcome.error)


def send_test(config: NotificationsConfig, channel: str | None = None, level: AlertLevel | str = AlertLevel.INFO) -> list[ChannelTestResult]:
    """Send a test message now through every channel (or the one named), in parallel.

    Channel filters (``min_level``, ``events``) and ``enabled`` are ignored: the point is
    to see that the channel works. Raises UsageError if ``channel`` names no channel.
    """
    level = AlertLevel.parse(level)
    channels = list(config.channels)
    if channel is not None:
        chosen = config.channel(channel)
        if chosen is None:
            names = ", ".join(c.label for c in channels) or "none"
            raise UsageError(f"no notification channel named '{channel}' (configured: {names})")
        channels = [chosen]
    if not channels:
        return []
    # Every secret of every channel is registered before any is used: the channels run in
    # parallel, and one channel's error text may echo another's secret (a shared relay, a
    # server that reflects the request).
    from core.redact import GLOBAL_REDACTOR
    from session.notify.config import secret_values

    for secret in secret_values(config):
        GLOBAL_REDACTOR.add(secret)
    with ThreadPoolExecutor(max_workers=len(channels), thread_name_prefix="tradeday-notify-test") as pool:
        return list(pool.map(lambda c: _test_one(config, c, level), channels))
