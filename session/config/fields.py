"""Building blocks of the config models: the strict base model and the value types of fields
(durations, times of day, sizes, signal names)."""
from __future__ import annotations

import re
import signal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from core.durations import format_duration, parse_duration
from session.validation import TimeOfDay

__all__ = ["Duration", "Model", "SignalName", "Size", "TimeOfDay", "parse_size"]



def _duration_text(seconds: float) -> str:
    """How a duration is shown (``config show``) and saved: ``10m``, ``1h30m``, ``0.2s``; exact,
    so that it reads back as the same number of seconds."""
    if seconds == int(seconds):
        return format_duration(seconds)
    return f"{seconds!r}s"


# In JSON mode (config show, save, history) a duration is written as a person writes it, not 600.0.
Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(_duration_text, when_used="json")]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
               "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4,
               "tb": 1000**4, "tib": 1024**4}


def parse_size(value: object) -> int:
    """Bytes from ``1GiB``, ``500MB``, ``2g`` or a plain number."""
    if isinstance(value, bool):
        raise ValueError("must be a size like 1GiB, 500MB or a number of bytes")
    if isinstance(value, (int, float)):
        return int(value)
    m = _SIZE.match(str(value))
    if not m or (m.group(2) or "").lower() not in _SIZE_UNITS:
        raise ValueError(f"'{value}' is not a size; write it like 1GiB, 500MB or a number of bytes")
    return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "").lower()])


Size = Annotated[int, BeforeValidator(parse_size)]


def _signal_name(value: object) -> str:
    name = str(value).upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    if not hasattr(signal.Signals, name):
        raise ValueError(f"'{value}' is not a signal name; use e.g. SIGTERM, SIGINT, SIGHUP")
    return name


SignalName = Annotated[str, BeforeValidator(_signal_name)]


class Model(BaseModel):
    # hide_input_in_errors: a validation error must never echo a secret value back.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, populate_by_name=True)
