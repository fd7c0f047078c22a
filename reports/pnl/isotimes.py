"""Epoch nanoseconds to ISO-8601 text with the UTC offset, vectorised."""
from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Literal

from reports.journal import time_from_ns

if TYPE_CHECKING:
    import numpy as np


def iso_times(ns: np.ndarray, tz: tzinfo) -> list[str]:
    """Vectorised ISO-8601 with offset: seconds, or microseconds when any time has them."""
    import numpy as np

    if len(ns) == 0:
        return []
    ns = np.asarray(ns, dtype=np.int64)
    offsets = _utc_offsets_minutes(ns, tz)
    wall_us = ns // 1000 + offsets * 60_000_000
    unit: Literal["us", "s"] = "us" if bool((wall_us % 1_000_000).any()) else "s"
    text = np.datetime_as_string(wall_us.astype("datetime64[us]"), unit=unit)
    distinct = np.unique(offsets)
    if len(distinct) == 1:
        return np.char.add(text, _offset_text(int(distinct[0]))).tolist()
    suffix = np.array([_offset_text(int(o)) for o in distinct])
    return np.char.add(text, suffix[np.searchsorted(distinct, offsets)]).tolist()


def _utc_offsets_minutes(ns: np.ndarray, tz: tzinfo) -> np.ndarray:
    """The UTC offset (minutes) of ``tz`` at each instant; one lookup per distinct hour."""
    import numpy as np

    fixed = tz.utcoffset(None)
    if fixed is not None:  # datetime.timezone: one offset for all time
        return np.full(len(ns), int(fixed.total_seconds()) // 60, dtype=np.int64)
    hours = ns // 3_600_000_000_000
    unique_hours, inverse = np.unique(hours, return_inverse=True)
    per_hour = np.array([_offset_minutes_at(int(h) * 3_600_000_000_000, tz) for h in unique_hours.tolist()],
                        dtype=np.int64)
    return per_hour[inverse.reshape(-1)]


def _offset_minutes_at(ns: int, tz: tzinfo) -> int:
    offset = time_from_ns(ns, tz).utcoffset()
    if offset is None:  # astimezone() has already asked tz for an offset: only a broken tzinfo gets here
        raise ValueError(f"time zone {tz!r} has no UTC offset")
    return int(offset.total_seconds()) // 60


def _offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    h, mnt = divmod(abs(minutes), 60)
    return f"{sign}{h:02d}:{mnt:02d}"
