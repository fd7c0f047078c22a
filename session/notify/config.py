"""The ``notifications`` section of tradeday's configuration (pydantic v2).

Validation here is structural only (types, names, unknown keys): it never calls out and
never refuses a URL for looking wrong. Whether a channel can actually deliver is the
precheck's question (``check_channel_config``), so a notification typo cannot stop the
trading day from starting.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from core.durations import parse_duration
from session.notify.levels import KNOWN_EVENTS, AlertLevel


def _duration(value: Any) -> float:
    # The messages here never repeat the value: a secret pasted under the wrong key
    # must not be printed back (the same reason for hide_input_in_errors).
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError("must be a duration like 30s, 5m, 1h30m or a number of seconds") from None


def _level(value: Any) -> AlertLevel:
    try:
        return AlertLevel.parse(value)
    except ValueError:
        raise ValueError("must be info, warning or critical") from None


Seconds = Annotated[float, BeforeValidator(_duration)]
Level = Annotated[AlertLevel, BeforeValidator(_level)]

CHANNEL_TYPES = ("slack", "discord", "telegram", "email", "webhook")

_MODEL_CONFIG = ConfigDict(extra="forbid", hide_input_in_errors=True, populate_by_name=True)


def _check_event_names(names: list[str]) -> list[str]:
    unknown = sorted(set(names) - KNOWN_EVENTS)
    if unknown:
        raise ValueError(f"unknown event(s) {', '.join(unknown)}; known events: {', '.join(sorted(KNOWN_EVENTS))}")
    return names


class _ChannelBase(BaseModel):
    model_config = _MODEL_CONFIG

    name: str | None = None
    min_level: Level = AlertLevel.INFO
    events: list[str] = Field(default_factory=list, description="only these events; empty = all")
    rate_limit: int = Field(default=20, ge=1, le=10_000, description="max messages per minute")

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        return _check_event_names(value)

    @model_validator(mode="after")
    def _default_name(self) -> _ChannelBase:
        if not self.name:
            self.name = self.type  # type: ignore[attr-defined]  # every channel subclass declares its Literal type
        return self

    @property
    def label(self) -> str:
        """The channel's name for logs and output: never a URL or token."""
        return str(self.name)


class SlackChannel(_ChannelBase):
    type: Literal["slack"] = "slack"
    webhook_url: str | None = Field(default=None, repr=False)
    username: str | None = None
    channel: str | None = None  # honoured by legacy webhooks only


class DiscordChannel(_ChannelBase):
    type: Literal["discord"] = "discord"
    webhook_url: str | None = Field(default=None, repr=False)
    username: str | None = None


class TelegramChannel(_ChannelBase):
    type: Literal["telegram"] = "telegram"
    bot_token: str | None = Field(default=None, repr=False)
    chat_id: str | None = None
    api_base: str = "https://api.telegram.org"

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat_id_text(cls, value: Any) -> Any:
        # YAML reads -1001234 as an int; the Bot API takes either.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class EmailChannel(_ChannelBase):
    type: Literal["email"] = "email"
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535, description="default 587/465/25 by security")
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    from_addr: str | None = Field(default=None, alias="from")
    to: list[str] = Field(default_factory=list)
    ca_file: str | None = Field(default=None, description="CA bundle for a relay with a private certificate")

    @field_validator("security", mode="before")
    @classmethod
    def _security_lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("to", mode="before")
    @classmethod
    def _to_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        return {"starttls": 587, "ssl": 465, "none": 25}[self.security]


class WebhookChannel(_ChannelBase):
    type: Literal["webhook"] = "webhook"
    url: str | None = Field(default=None, repr=False)
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    secret: str | None = Field(default=None, repr=False, description="HMAC-SHA256 key for X-Tradeday-Signature")


ChannelConfig = Annotated[
    SlackChannel | DiscordChannel | TelegramChannel | EmailChannel | WebhookChannel,
    Field(discriminator="type"),
]

# copilot_quant's flat keys -> (channel type, field). Both smtp_* and email_* spellings.
_COMPACT_KEYS: dict[str, tuple[str, str]] = {
    "slack_webhook_url": ("slack", "webhook_url"),
    "slack_channel": ("slack", "channel"),
    "slack_username": ("slack", "username"),
    "discord_webhook_url": ("discord", "webhook_url"),
    "discord_username": ("discord", "username"),
    "telegram_bot_token": ("telegram", "bot_token"),
    "telegram_chat_id": ("telegram", "chat_id"),
    "telegram_api_base": ("telegram", "api_base"),
    "smtp_host": ("email", "host"),
    "email_host": ("email", "host"),
    "smtp_port": ("email", "port"),
    "email_port": ("email", "port"),
    "smtp_username": ("email", "username"),
    "email_username": ("email", "username"),
    "smtp_password": ("email", "password"),
    "email_password": ("email", "password"),
    "smtp_security": ("email", "security"),
    "email_security": ("email", "security"),
    "email_from": ("email", "from"),
    "email_to": ("email", "to"),
    "webhook_url": ("webhook", "url"),
    "webhook_headers": ("webhook", "headers"),
    "webhook_secret": ("webhook", "secret"),
}

# copilot_quant sent warning and critical only unless alert_levels said otherwise.
_COMPACT_DEFAULT_LEVELS = ["warning", "critical"]


def _expand_compact(data: dict[str, Any]) -> dict[str, Any]:
    """``{channels: [slack], alert_levels: [...], slack_webhook_url: ...}`` -> full form."""
    data = dict(data)
    flat = {key: data.pop(key) for key in list(data) if key in _COMPACT_KEYS}
    alert_levels = data.pop("alert_levels", None)
    if alert_levels is None:
        alert_levels = _COMPACT_DEFAULT_LEVELS
    if isinstance(alert_levels, str):
        alert_levels = [alert_levels]
    if not isinstance(alert_levels, list) or not alert_levels:
        raise ValueError("alert_levels must be a list such as [warning, critical]")
    min_level = min(_level(level) for level in alert_levels)

    if "channels" in data:
        listed = data["channels"] or []
        if not isinstance(listed, list):
            raise ValueError("channels must be a list")
    else:
        # No list given: the flat keys that are present say which channels are meant.
        listed = [t for t in CHANNEL_TYPES if any(ct == t for ct, _ in (_COMPACT_KEYS[k] for k in flat))]

    channels: list[Any] = []
    for item in listed:
        if isinstance(item, str):
            kind = item.strip().lower()
            if kind not in CHANNEL_TYPES:
                shown = f" '{item}'" if re.fullmatch(r"[A-Za-z_]{1,20}", item.strip()) else ""
                raise ValueError(f"unknown channel{shown} in channels; use one of {', '.join(CHANNEL_TYPES)}")
            channel: dict[str, Any] = {"type": kind, "min_level": min_level.value}
            for key, value in flat.items():
                ctype, fname = _COMPACT_KEYS[key]
                if ctype == kind and value is not None:
                    channel[fname] = value
            channels.append(channel)
        elif isinstance(item, dict) and "min_level" not in item:
            channels.append({**item, "min_level": min_level.value})
        else:
            channels.append(item)
    data["channels"] = channels
    return data


def _is_compact(data: dict[str, Any]) -> bool:
    if "alert_levels" in data or any(key in _COMPACT_KEYS for key in data):
        return True
    channels = data.get("channels")
    return isinstance(channels, list) and any(isinstance(c, str) for c in channels)


class NotificationsConfig(BaseModel):
    """``notifications:`` — where tradeday sends alerts and how hard it tries."""

    model_config = _MODEL_CONFIG

    enabled: bool = False
    channels: list[ChannelConfig] = Field(default_factory=list)
    healthcheck_url: str | None = Field(default=None, repr=False)
    dedup_window: Seconds = 600.0
    flush_timeout: Seconds = 10.0
    queue_size: int = Field(default=1000, ge=1, le=1_000_000)
    timeout: Annotated[Seconds, Field(gt=0)] = 5.0
    max_attempts: int = Field(default=5, ge=1, le=50)
    backoff: Seconds = Field(default=1.0, description="first retry delay; doubles per attempt")
    max_retry_wait: Seconds = Field(default=60.0, description="cap on one backoff or Retry-After wait")
    events: dict[str, bool] = Field(default_factory=dict, description="turn events on/off, e.g. {no_session: true}")

    @model_validator(mode="before")
    @classmethod
    def _compact_form(cls, data: Any) -> Any:
        if isinstance(data, dict) and _is_compact(data):
            return _expand_compact(data)
        return data

    @field_validator("events")
    @classmethod
    def _known_event_overrides(cls, value: dict[str, bool]) -> dict[str, bool]:
        _check_event_names(list(value))
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> NotificationsConfig:
        seen: set[str] = set()
        for channel in self.channels:
            if channel.label in seen:
                raise ValueError(f"two channels are named '{channel.label}'; give each a distinct name")
            seen.add(channel.label)
        return self

    def channel(self, name: str) -> ChannelConfig | None:
        for channel in self.channels:
            if channel.label == name:
                return channel
        return None


def _url_secret_parts(url: str | None) -> list[str]:
    """The URL and the parts of it that carry a secret (path, query).

    requests' exception texts show only the path ("Max retries exceeded with url:
    /services/T/B/X"), so the path alone must be masked too.
    """
    if not url:
        return []
    out = [url]
    try:
        parts = urlsplit(url)
    except ValueError:
        return out
    if parts.path and parts.path != "/":
        out.append(parts.path)
        if parts.query:
            out.append(f"{parts.path}?{parts.query}")
    if parts.query:
        out.append(parts.query)
    if parts.password:
        out.append(parts.password)
    return out


def channel_secret_values(channel: ChannelConfig) -> list[str]:
    values: list[str] = []
    if isinstance(channel, (SlackChannel, DiscordChannel)):
        values += _url_secret_parts(channel.webhook_url)
    elif isinstance(channel, TelegramChannel):
        values += [channel.bot_token] if channel.bot_token else []
    elif isinstance(channel, EmailChannel):
        values += [channel.password] if channel.password else []
    elif isinstance(channel, WebhookChannel):
        values += _url_secret_parts(channel.url)
        values += [channel.secret] if channel.secret else []
        values += [v for v in channel.headers.values() if v]
    return values


def secret_values(config: NotificationsConfig) -> list[str]:
    """Every secret in the section (webhook URLs and their paths, tokens, passwords,
    HMAC secrets, header values, the healthcheck URL) for GLOBAL_REDACTOR."""
    values = _url_secret_parts(config.healthcheck_url)
    for channel in config.channels:
        values += channel_secret_values(channel)
    # Order kept, duplicates dropped.
    return list(dict.fromkeys(v for v in values if v))
