"""Turn a NotificationMessage into each service's documented payload.

Pure functions, no I/O: the hub, ``send_test`` and the copilot_quant-style notifier
classes all format through here. Every text passes through GLOBAL_REDACTOR first, so a
secret an engine prints never reaches a chat room.
"""
from __future__ import annotations

import hmac
import html
import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from hashlib import sha256
from typing import Any

from core.redact import GLOBAL_REDACTOR
from session.notify.levels import AlertLevel
from session.notify.message import NotificationMessage

ELLIPSIS = "…"
SOURCE = "tradeday"
WEBHOOK_SCHEMA_VERSION = 1
SIGNATURE_HEADER = "X-Tradeday-Signature"

LEVEL_HEX = {AlertLevel.INFO: "#2eb886", AlertLevel.WARNING: "#daa038", AlertLevel.CRITICAL: "#a30200"}
LEVEL_EMOJI = {AlertLevel.INFO: "ℹ️", AlertLevel.WARNING: "⚠️", AlertLevel.CRITICAL: "🚨"}

# Discord's documented embed limits (Message Resource > Embed Limits).
DISCORD_CONTENT_MAX = 2000
DISCORD_TITLE_MAX = 256
DISCORD_DESCRIPTION_MAX = 4096
DISCORD_FIELDS_MAX = 25
DISCORD_FIELD_NAME_MAX = 256
DISCORD_FIELD_VALUE_MAX = 1024
DISCORD_FOOTER_MAX = 2048
DISCORD_EMBED_TOTAL_MAX = 6000

# Telegram: sendMessage text is 1-4096 characters after entity parsing (UTF-16 units).
TELEGRAM_TEXT_MAX = 4096

# Slack has no hard limits this low; these keep a message readable on a phone.
SLACK_TEXT_MAX = 3000
SLACK_FIELD_VALUE_MAX = 1000
SLACK_FIELDS_MAX = 20


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def _field_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


@dataclass(frozen=True)
class Rendered:
    """A message's redacted texts, ready for any channel."""

    level: AlertLevel
    event: str
    title: str
    text: str
    fields: list[tuple[str, str]]
    raw_fields: dict[str, Any]
    timestamp: datetime
    late: bool
    repeated: int

    @property
    def level_name(self) -> str:
        return self.level.name

    @property
    def local_time(self) -> str:
        return self.timestamp.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def render(message: NotificationMessage) -> Rendered:
    assert message.timestamp is not None  # NotificationMessage.__post_init__ always sets it
    redact = GLOBAL_REDACTOR
    title = redact(message.title.replace("\r", " ").replace("\n", " ")).strip() or message.event
    notes: list[str] = []
    if message.late:
        title = f"{title} (late)"
        notes.append(f"Late: this could not be delivered at {message.timestamp.astimezone():%Y-%m-%d %H:%M:%S %Z}; re-sent from the outbox.")
    if message.repeated:
        times = "time" if message.repeated == 1 else "times"
        notes.append(f"(repeated {message.repeated} {times} since the last notification)")
    text = redact(message.message)
    if notes:
        text = "\n".join([text, "", *notes]) if text else "\n".join(notes)
    fields = [(redact(str(k)), redact(_field_text(v))) for k, v in message.metadata.items()]
    raw_fields = {redact(str(k)): (redact(v) if isinstance(v, str) else v) for k, v in message.metadata.items()}
    return Rendered(
        level=message.level,
        event=message.event,
        title=title,
        text=text,
        fields=fields,
        raw_fields=raw_fields,
        timestamp=message.timestamp,
        late=message.late,
        repeated=message.repeated,
    )


# ---------------------------------------------------------------- Slack
def _slack_escape(text: str) -> str:
    # Slack's "Escaping text": only &, < and > are control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: NotificationMessage, *, username: str | None = None, channel: str | None = None) -> dict[str, Any]:
    """Incoming-webhook payload: a top-level text (what phone notifications show) and a
    secondary attachment with the level colour, title, text and fields."""
    r = render(message)
    headline = f"{LEVEL_EMOJI[r.level]} [{r.level_name}] {r.title}"
    fields = [
        {
            "title": _slack_escape(truncate(name, 256)),
            "value": _slack_escape(truncate(value, SLACK_FIELD_VALUE_MAX)),
            "short": len(value) <= 40,
        }
        for name, value in r.fields[:SLACK_FIELDS_MAX]
    ]
    if len(r.fields) > SLACK_FIELDS_MAX:
        fields.append({"title": ELLIPSIS, "value": f"{len(r.fields) - SLACK_FIELDS_MAX} more fields not shown", "short": False})
    attachment: dict[str, Any] = {
        "color": LEVEL_HEX[r.level],
        "fallback": _slack_escape(truncate(headline, 300)),
        "title": _slack_escape(truncate(r.title, 256)),
        "text": _slack_escape(truncate(r.text, SLACK_TEXT_MAX)),
        "fields": fields,
        "footer": _slack_escape(f"{SOURCE} · {r.level_name} · {r.event}"),
        "ts": int(r.timestamp.timestamp()),
    }
    payload: dict[str, Any] = {"text": _slack_escape(truncate(headline, 300)), "attachments": [attachment]}
    if username:
        payload["username"] = username
    if channel:
        payload["channel"] = channel
    return payload


# ---------------------------------------------------------------- Discord
def _embed_total(embed: dict[str, Any]) -> int:
    total = len(embed.get("title", "")) + len(embed.get("description", "")) + len(embed.get("footer", {}).get("text", ""))
    return total + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))


def discord_payload(message: NotificationMessage, *, username: str | None = None) -> dict[str, Any]:
    """Execute-webhook payload with one embed, cut to Discord's limits so it is never
    rejected for size; mentions are disabled so engine text cannot ping @everyone."""
    r = render(message)
    fields = [
        {
            "name": truncate(name, DISCORD_FIELD_NAME_MAX) or "-",
            "value": truncate(value, DISCORD_FIELD_VALUE_MAX) or "-",  # Discord rejects empty values
            "inline": len(value) <= 40,
        }
        for name, value in r.fields
    ]
    if len(fields) > DISCORD_FIELDS_MAX:
        hidden = len(fields) - (DISCORD_FIELDS_MAX - 1)
        fields = fields[: DISCORD_FIELDS_MAX - 1] + [{"name": ELLIPSIS, "value": f"{hidden} more fields not shown", "inline": False}]
    embed: dict[str, Any] = {
        "title": truncate(r.title, DISCORD_TITLE_MAX),
        "description": truncate(r.text, DISCORD_DESCRIPTION_MAX),
        "color": int(LEVEL_HEX[r.level][1:], 16),
        "timestamp": r.timestamp.isoformat(),
        "footer": {"text": truncate(f"{SOURCE} · {r.level_name} · {r.event}", DISCORD_FOOTER_MAX)},
        "fields": fields,
    }
    overflow = _embed_total(embed) - DISCORD_EMBED_TOTAL_MAX
    if overflow > 0:
        # The description gives way first, down to a readable stub...
        keep = max(len(embed["description"]) - overflow, min(200, len(embed["description"])))
        embed["description"] = truncate(embed["description"], keep)
    while _embed_total(embed) > DISCORD_EMBED_TOTAL_MAX and embed["fields"]:
        # ...then fields go from the end.
        embed["fields"].pop()
    if _embed_total(embed) > DISCORD_EMBED_TOTAL_MAX:
        spare = DISCORD_EMBED_TOTAL_MAX - (_embed_total(embed) - len(embed["description"]))
        embed["description"] = truncate(embed["description"], spare)
    if not embed["description"]:
        del embed["description"]
    payload: dict[str, Any] = {
        "content": truncate(f"{LEVEL_EMOJI[r.level]} **{r.level_name}** {r.title}", DISCORD_CONTENT_MAX),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }
    if username:
        payload["username"] = username
    return payload


# ---------------------------------------------------------------- Telegram
def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _truncate_utf16(text: str, limit: int) -> str:
    if _utf16_len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    out: list[str] = []
    used = 1  # room for the ellipsis (one UTF-16 unit)
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > limit:
            break
        out.append(ch)
        used += width
    return "".join(out) + ELLIPSIS


def _tg(text: str) -> str:
    # Bot API "HTML style": every <, > and & that is not markup must be an entity.
    return html.escape(text, quote=False)


def telegram_text(message: NotificationMessage) -> str:
    """HTML ``text`` for sendMessage, at most 4096 visible characters."""
    r = render(message)
    title = truncate(r.title, 256)
    head = f"{LEVEL_EMOJI[r.level]} {r.level_name} · {title}"
    field_lines = [(name, value) for name, value in r.fields]
    foot = f"{r.event} · {r.local_time}"

    def visible(body: str, fields: list[tuple[str, str]]) -> int:
        parts = [head, body, "\n".join(f"{n}: {v}" for n, v in fields), foot]
        return _utf16_len("\n\n".join(p for p in parts if p))

    body = r.text
    over = visible(body, field_lines) - TELEGRAM_TEXT_MAX
    if over > 0:
        body = _truncate_utf16(body, max(_utf16_len(body) - over, min(200, _utf16_len(body))))
    while visible(body, field_lines) > TELEGRAM_TEXT_MAX and field_lines:
        field_lines.pop()
    if visible(body, field_lines) > TELEGRAM_TEXT_MAX:
        body = _truncate_utf16(body, TELEGRAM_TEXT_MAX - visible("", field_lines) - 2)
    head_html = f"{LEVEL_EMOJI[r.level]} <b>{_tg(r.level_name)}</b> · <b>{_tg(title)}</b>"
    parts = [head_html, _tg(body), "\n".join(f"<b>{_tg(n)}</b>: {_tg(v)}" for n, v in field_lines), f"<i>{_tg(foot)}</i>"]
    return "\n\n".join(p for p in parts if p)


def telegram_payload(message: NotificationMessage, *, chat_id: str) -> dict[str, Any]:
    return {
        "chat_id": chat_id,
        "text": telegram_text(message),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }


# ---------------------------------------------------------------- Webhook
def webhook_payload(message: NotificationMessage) -> dict[str, Any]:
    """tradeday's documented webhook schema (docs/NOTIFICATIONS.md).

    ``metadata`` and ``timestamp`` repeat ``fields`` and ``time`` under copilot_quant's
    names, so that receivers written for copilot_quant keep working.
    """
    r = render(message)
    when = r.timestamp.isoformat()
    return {
        "source": SOURCE,
        "version": WEBHOOK_SCHEMA_VERSION,
        "event": r.event,
        "level": r.level.value,
        "title": r.title,
        "message": r.text,
        "fields": r.raw_fields,
        "metadata": r.raw_fields,
        "time": when,
        "timestamp": when,
        "late": r.late,
        "repeated": r.repeated,
    }


def webhook_body(message: NotificationMessage) -> bytes:
    return json.dumps(webhook_payload(message), ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def webhook_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes under ``secret``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, sha256).hexdigest()


# ---------------------------------------------------------------- Email
def email_subject(message: NotificationMessage) -> str:
    r = render(message)
    return truncate(f"[{SOURCE} {r.level_name}] {r.title}", 200)


def email_text(message: NotificationMessage) -> str:
    r = render(message)
    lines = [r.title, "=" * min(len(r.title), 72), ""]
    if r.text:
        lines += [r.text, ""]
    if r.fields:
        width = min(max(len(name) for name, _ in r.fields), 24)
        lines += [f"{name.ljust(width)}  {value}" for name, value in r.fields] + [""]
    lines += [f"Level: {r.level_name}   Event: {r.event}   Time: {r.local_time}", "", f"-- {SOURCE}"]
    return "\n".join(lines) + "\n"


def email_html(message: NotificationMessage) -> str:
    r = render(message)
    e = html.escape
    colour = LEVEL_HEX[r.level]
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0;vertical-align:top">{e(name)}</th>'
        f'<td style="padding:2px 0;white-space:pre-wrap">{e(value)}</td></tr>'
        for name, value in r.fields
    )
    table = f'<table style="border-collapse:collapse;margin:12px 0">{rows}</table>' if rows else ""
    text = f'<p style="white-space:pre-wrap">{e(r.text)}</p>' if r.text else ""
    return (
        '<!DOCTYPE html><html><body style="font-family:sans-serif">'
        f'<div style="border-left:6px solid {colour};padding:4px 12px">'
        f'<p style="margin:0;color:{colour};font-weight:bold">{e(r.level_name)}</p>'
        f'<h2 style="margin:4px 0">{e(r.title)}</h2>{text}{table}'
        f'<p style="color:#666;font-size:12px">{e(r.event)} · {e(r.local_time)} · {SOURCE}</p>'
        "</div></body></html>"
    )


def email_message(message: NotificationMessage, *, from_addr: str, to: list[str]) -> EmailMessage:
    """A multipart/alternative email: plain text first, HTML second (RFC 2046 order)."""
    mail = EmailMessage()
    mail["Subject"] = email_subject(message)
    mail["From"] = from_addr
    mail["To"] = ", ".join(to)
    mail.set_content(email_text(message))
    mail.add_alternative(email_html(message), subtype="html")
    return mail
