"""The engine line protocol: a stdout line ``@tradeday {json}`` becomes a notification.

    @tradeday {"event": "fill", "title": "Bought 10 INFY", "message": "at 1520.5", "qty": 10}

``event`` is one of fill, order_error, risk, circuit_breaker, message; ``level`` (info,
warning, critical; default: the event's), ``title`` and ``message`` are optional; every
other key becomes a field. The supervisor calls ``parse_engine_line`` on every line of
engine output, so a non-protocol line costs one ``startswith``.
"""
from __future__ import annotations

import json
from typing import Any

from session.notify.levels import ENGINE_EVENTS, MESSAGE, AlertLevel, default_level
from session.notify.message import NotificationMessage

PREFIX = "@tradeday "
PREFIX_BYTES = PREFIX.encode("ascii")

TITLE_MAX = 256
MESSAGE_MAX = 4000
FIELDS_MAX = 25
FIELD_VALUE_MAX = 1024

_DEFAULT_TITLES = {
    "fill": "Fill",
    "order_error": "Order error",
    "risk": "Risk",
    "circuit_breaker": "Circuit breaker",
    "message": "Message",
}
_RESERVED = ("event", "level", "title", "message")


def _clip(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _malformed(engine: str, reason: str, payload: str) -> NotificationMessage:
    return NotificationMessage(
        title=f"{engine}: malformed @tradeday line",
        message=f"The engine printed a notification line tradeday could not read ({reason}). It starts: {payload[:200]}",
        level=AlertLevel.WARNING,
        metadata={"engine": engine},
        event=MESSAGE,
        key=f"{engine}\x1fmalformed-protocol-line",  # one warning per window, not one per line
    )


def is_protocol_line(line: str | bytes) -> bool:
    if isinstance(line, bytes):
        return line.startswith(PREFIX_BYTES)
    return line.startswith(PREFIX)


def parse_engine_line(line: str | bytes, engine: str) -> NotificationMessage | None:
    """The notification a protocol line asks for; None for any other line. A protocol
    line that cannot be read gives a WARNING message saying so. Never raises."""
    if isinstance(line, bytes):
        if not line.startswith(PREFIX_BYTES):
            return None
        payload = line[len(PREFIX_BYTES):].decode("utf-8", "replace")
    else:
        if not line.startswith(PREFIX):
            return None
        payload = line[len(PREFIX):]
    payload = payload.strip()
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        return _malformed(engine, f"not JSON: {exc.msg}", payload)
    except ValueError as exc:  # well-formed, but refused: an integer of over 4300 digits
        return _malformed(engine, f"not JSON: {exc}", payload)
    except RecursionError:
        return _malformed(engine, "JSON nested too deeply", payload)
    if not isinstance(data, dict):
        return _malformed(engine, "not a JSON object", payload)
    event = data.get("event")
    if event not in ENGINE_EVENTS:
        return _malformed(engine, f"event must be one of {', '.join(sorted(ENGINE_EVENTS))}", payload)
    raw_level = data.get("level")
    if raw_level is None:
        level = default_level(event)
    else:
        try:
            level = AlertLevel.parse(raw_level)
        except ValueError:
            return _malformed(engine, "level must be info, warning or critical", payload)
    title = data.get("title")
    title = _DEFAULT_TITLES[event] if title is None or title == "" else _clip(title, TITLE_MAX)
    message = data.get("message")
    message = "" if message is None else _clip(message, MESSAGE_MAX)
    fields: dict[str, Any] = {"engine": engine}
    for key, value in data.items():
        # "engine" is tradeday's to say: an engine cannot speak for another.
        if key in _RESERVED or key == "engine" or len(fields) >= FIELDS_MAX:
            continue
        name = str(key)[:64]
        fields[name] = value if isinstance(value, (int, float, bool)) else _clip(value, FIELD_VALUE_MAX)
    return NotificationMessage(
        title=f"{engine}: {title}",
        message=message,
        level=level,
        metadata=fields,
        event=event,
    )
