"""Durations (``30s``, ``5m``, ``1h30m``, ``0.2s``, or a number of seconds) and times of day."""
from __future__ import annotations

import re
from datetime import time

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: object) -> float:
    """Return seconds. Raises ValueError with a message fit for a config error."""
    if isinstance(value, bool):
        raise ValueError("must be a duration like 30s, 5m, 1h30m or a number of seconds")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("must not be negative")
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            if not text or not _WHOLE.match(text):
                raise ValueError(
                    f"'{value}' is not a duration; write it like 30s, 5m, 1h30m, 0.2s or a number of seconds"
                ) from None
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(text))
        if seconds < 0:
            raise ValueError("must not be negative")
        return seconds
    raise ValueError("must be a duration like 30s, 5m, 1h30m or a number of seconds")


def format_duration(seconds: float) -> str:
    """Short human form: 45s, 5m, 1h30m, 0.2s."""
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    total = int(round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{s}s" if s else "")
    return out or "0s"


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def parse_time_of_day(value: object) -> time:
    """``HH:MM`` (or ``HH:MM:SS``) in the market's timezone."""
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 09:15 as the sexagesimal integer 555 (minutes).
        if 0 <= value < 24 * 60:
            return time(value // 60, value % 60)
    if isinstance(value, str):
        m = _HHMM.match(value.strip())
        if m:
            return time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    raise ValueError(f"'{value}' is not a time of day; write it as HH:MM (24-hour, market time)")
