"""copilot_quant's notifier API for engines: ``SlackNotifier(webhook_url).notify(msg)``.

Each class wraps the same transport and retry code the hub uses (one implementation of
every service's format). ``notify`` is synchronous: it returns once the message is sent
or given up. An engine that runs under tradeday can instead use ``TradedayLineNotifier``,
which hands the message to tradeday's hub (queue, retries, outbox) through stdout.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
from typing import IO, Any

from session.notify.channels import Transport, make_transport, scrub
from session.notify.config import (
    ChannelConfig,
    DiscordChannel,
    EmailChannel,
    NotificationsConfig,
    SlackChannel,
    TelegramChannel,
    WebhookChannel,
)
from session.notify.delivery import deliver
from session.notify.diagnostics import check_channel_config
from session.notify.engine_protocol import PREFIX
from session.notify.levels import ENGINE_EVENTS, MESSAGE, AlertLevel
from session.notify.message import NotificationMessage

log = logging.getLogger("tradeday.notify")


class Notifier:
    """Base class: ``notify`` filters by ``enabled`` and ``min_level`` and calls ``send``.

    Subclass and implement ``send`` for a channel of your own.
    """

    def __init__(self, enabled: bool = True, min_level: AlertLevel | str = AlertLevel.INFO) -> None:
        self.enabled = enabled
        self.min_level = AlertLevel.parse(min_level)
        self.last_error: str = ""

    @property
    def name(self) -> str:
        return type(self).__name__

    def send(self, message: NotificationMessage) -> bool:
        """Deliver ``message``; True if delivered."""
        raise NotImplementedError(f"{type(self).__name__} must implement send()")

    def notify(self, message: NotificationMessage) -> bool:
        """Send unless disabled or below ``min_level``; never raises. True if sent."""
        if not self.enabled:
            return False
        if message.level < self.min_level:
            return False
        try:
            return bool(self.send(message))
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {scrub(str(exc))}"
            log.error("%s failed to send a notification: %s", self.name, self.last_error)
            return False


class ChannelNotifier(Notifier):
    """A Notifier over one configured channel (any type), with retries."""

    def __init__(
        self,
        channel: ChannelConfig,
        *,
        enabled: bool = True,
        timeout: float = 10.0,
        max_attempts: int = 3,
        backoff: float = 1.0,
        max_retry_wait: float = 30.0,
    ) -> None:
        super().__init__(enabled=enabled, min_level=channel.min_level)
        self.channel = channel
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_retry_wait = max_retry_wait
        self._transport: Transport = make_transport(channel)
        self._lock = threading.Lock()  # a transport (its HTTP session) is single-threaded

    @property
    def name(self) -> str:
        return f"{type(self).__name__}({self.channel.label})"

    def notify(self, message: NotificationMessage) -> bool:
        if self.channel.events and message.event not in self.channel.events:
            return False
        return super().notify(message)

    def send(self, message: NotificationMessage) -> bool:
        problems = check_channel_config(self.channel)
        if problems:
            self.last_error = "; ".join(problems)
            log.error("%s not sent: %s", self.name, self.last_error)
            return False
        with self._lock:
            result = deliver(
                self._transport,
                message,
                timeout=self.timeout,
                max_attempts=self.max_attempts,
                backoff=self.backoff,
                max_retry_wait=self.max_retry_wait,
            )
        self.last_error = result.error if not result.ok else ""
        if not result.ok:
            log.error("%s could not send %r: %s", self.name, message.title, result.error)
        return result.ok

    def close(self) -> None:
        self._transport.close()


def _level(value: AlertLevel | str) -> AlertLevel:
    return AlertLevel.parse(value)


class SlackNotifier(ChannelNotifier):
    def __init__(
        self,
        webhook_url: str,
        channel: str | None = None,
        username: str | None = None,
        enabled: bool = True,
        min_level: AlertLevel | str = AlertLevel.INFO,
        **retry: Any,
    ) -> None:
        cfg = SlackChannel(webhook_url=webhook_url, channel=channel, username=username, min_level=_level(min_level))
        super().__init__(cfg, enabled=enabled, **retry)


class DiscordNotifier(ChannelNotifier):
    def __init__(
        self,
        webhook_url: str,
        username: str | None = None,
        enabled: bool = True,
        min_level: AlertLevel | str = AlertLevel.INFO,
        **retry: Any,
    ) -> None:
        cfg = DiscordChannel(webhook_url=webhook_url, username=username, min_level=_level(min_level))
        super().__init__(cfg, enabled=enabled, **retry)


class TelegramNotifier(ChannelNotifier):
    def __init__(
        self,
        bot_token: str,
        chat_id: str | int,
        api_base: str = "https://api.telegram.org",
        enabled: bool = True,
        min_level: AlertLevel | str = AlertLevel.INFO,
        **retry: Any,
    ) -> None:
        cfg = TelegramChannel(bot_token=bot_token, chat_id=str(chat_id), api_base=api_base, min_level=_level(min_level))
        super().__init__(cfg, enabled=enabled, **retry)


class EmailNotifier(ChannelNotifier):
    """copilot_quant's signature; ``use_tls`` means STARTTLS (``security`` overrides)."""

    def __init__(
        self,
        smtp_host: str,
        smtp_port: int,
        username: str | None,
        password: str | None,
        from_email: str,
        to_emails: list[str],
        use_tls: bool = True,
        enabled: bool = True,
        min_level: AlertLevel | str = AlertLevel.INFO,
        security: str | None = None,
        ca_file: str | None = None,
        **retry: Any,
    ) -> None:
        cfg = EmailChannel.model_validate(
            {
                "host": smtp_host,
                "port": smtp_port,
                "security": security or ("starttls" if use_tls else "none"),
                "username": username or None,
                "password": password or None,
                "from": from_email,
                "to": list(to_emails),
                "ca_file": ca_file,
                "min_level": _level(min_level),
            }
        )
        super().__init__(cfg, enabled=enabled, **retry)


class WebhookNotifier(ChannelNotifier):
    def __init__(
        self,
        webhook_url: str,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        enabled: bool = True,
        min_level: AlertLevel | str = AlertLevel.INFO,
        secret: str | None = None,
        **retry: Any,
    ) -> None:
        cfg = WebhookChannel(url=webhook_url, headers=dict(headers or {}), secret=secret, min_level=_level(min_level))
        super().__init__(cfg, enabled=enabled, timeout=timeout, **retry)


class TradedayLineNotifier(Notifier):
    """For an engine supervised by tradeday: print ``@tradeday {json}`` to stdout and let
    tradeday's hub deliver it (with its queue, retries, outbox and de-duplication)."""

    def __init__(self, stream: IO[str] | None = None, enabled: bool = True, min_level: AlertLevel | str = AlertLevel.INFO) -> None:
        super().__init__(enabled=enabled, min_level=min_level)
        self.stream = stream
        self._lock = threading.Lock()

    def send(self, message: NotificationMessage) -> bool:
        payload: dict[str, Any] = {}
        for key, value in message.metadata.items():
            # Field names that collide with the protocol's own keys get a trailing "_".
            name = f"{key}_" if key in ("event", "level", "title", "message", "engine") else str(key)
            payload[name] = value
        payload.update(
            {
                "event": message.event if message.event in ENGINE_EVENTS else MESSAGE,
                "level": message.level.value,
                "title": message.title,
                "message": message.message,
            }
        )
        line = PREFIX + json.dumps(payload, ensure_ascii=False, default=str) + "\n"
        stream = self.stream if self.stream is not None else sys.stdout
        with self._lock:
            stream.write(line)
            stream.flush()
        return True


def build_notifiers(config: NotificationsConfig, **retry: Any) -> list[Notifier]:
    """One synchronous notifier per configured channel (empty when disabled)."""
    if not config.enabled:
        return []
    options: dict[str, Any] = {
        "timeout": config.timeout,
        "max_attempts": config.max_attempts,
        "backoff": config.backoff,
        "max_retry_wait": config.max_retry_wait,
    }
    options.update(retry)
    return [ChannelNotifier(channel, **options) for channel in config.channels]
