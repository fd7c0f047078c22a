"""How reports show moments: to the second, with their offset, in market time."""
from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any


def format_when(value: Any) -> str:
    """An ISO-8601 moment as ``2026-11-20 16:05:12 -05:00``: to the second, with its offset (the
    market's); None -> ``—``; anything that is not a moment as it is."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return f"{moment:%Y-%m-%d %H:%M:%S}"
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def zone_of(moment: Any) -> tzinfo | None:
    """The offset of a moment (a datetime or ISO text), e.g. the market's open; None if it has none."""
    try:
        value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    except (TypeError, ValueError):
        return None
    return value.tzinfo
