"""Epoch nanoseconds to ISO-8601 text with the UTC offset, vectorised."""
from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

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
    return _format(wall_us, offsets, with_us=bool((wall_us % 1_000_000).any()))


class IsoColumn:
    """``iso_times`` of many instants, made a slice at a time (a day of 1.35M trades: ~500 MB
    of text and its byte matrix otherwise). ``with_us`` is what ``iso_times`` decides for the
    whole column, so every slice prints as that one call would have."""

    def __init__(self, ns: np.ndarray, tz: tzinfo, *, with_us: bool) -> None:
        self._ns, self._tz, self._with_us = ns, tz, with_us

    def __len__(self) -> int:
        return len(self._ns)

    def __getitem__(self, index: int | slice) -> Any:
        import numpy as np

        if isinstance(index, slice):
            part = np.asarray(self._ns[index], dtype=np.int64)
            if len(part) == 0:
                return []
            offsets = _utc_offsets_minutes(part, self._tz)
            return _format(part // 1000 + offsets * 60_000_000, offsets, with_us=self._with_us)
        i = index + len(self._ns) if index < 0 else index
        if not 0 <= i < len(self._ns):
            raise IndexError("index out of range")
        return self[i:i + 1][0]


def has_microseconds(ns: np.ndarray) -> bool:
    """What ``iso_times`` decides: a whole-minute UTC offset never moves the microseconds."""
    return bool(((ns // 1000) % 1_000_000).any())


def iso_times_many(arrays: list[np.ndarray], tz: tzinfo) -> list[list[str]]:
    """``[iso_times(a, tz) for a in arrays]`` in two formatting passes however many arrays
    (the equity curve has one per strategy: the per-call numpy overhead was most of it)."""
    import numpy as np

    sizes = [len(a) for a in arrays]
    if sum(sizes) == 0:
        return [[] for _ in arrays]
    ns = np.concatenate([np.asarray(a, dtype=np.int64) for a in arrays])
    offsets = _utc_offsets_minutes(ns, tz)
    wall_us = ns // 1000 + offsets * 60_000_000
    bounds = np.cumsum([0, *sizes]).tolist()
    fraction = wall_us % 1_000_000 != 0
    # Each array is printed with microseconds when any of its own times has them.
    with_us = [bool(fraction[lo:hi].any()) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    per_row = np.repeat(np.asarray(with_us, dtype=bool), sizes)
    texts: dict[bool, list[str]] = {}
    starts: dict[bool, list[int]] = {}
    for flag in (False, True):
        pick = per_row if flag else ~per_row
        if pick.any():
            texts[flag] = _format(wall_us[pick], offsets[pick], with_us=flag)
            # where each array starts in its pass's list
            starts[flag] = np.cumsum([0, *(n if w == flag else 0 for n, w in zip(sizes, with_us, strict=True))]
                                     ).tolist()
    out: list[list[str]] = []
    for i, (n, flag) in enumerate(zip(sizes, with_us, strict=True)):
        if n == 0:
            out.append([])
            continue
        lo = starts[flag][i]
        out.append(texts[flag][lo:lo + n])
    return out


def iso_times_each(ns: np.ndarray, tz: tzinfo) -> list[str]:
    """Like :func:`datetime.isoformat` of each instant (to the microsecond) in ``tz``: seconds
    where the microseconds are 0, microseconds elsewhere, value by value."""
    import numpy as np

    if len(ns) == 0:
        return []
    ns = np.asarray(ns, dtype=np.int64)
    offsets = _utc_offsets_minutes(ns, tz)
    wall_us = ns // 1000 + offsets * 60_000_000
    whole = wall_us % 1_000_000 == 0
    if whole.all():
        return _format(wall_us, offsets, with_us=False)
    out = _format(wall_us, offsets, with_us=True)
    # A whole second prints as the same text without its ".000000" (characters 19..25):
    # one formatting pass, not a second one for them.
    for i in np.flatnonzero(whole).tolist():
        text = out[i]
        out[i] = text[:19] + text[26:]
    return out


def _format(wall_us: np.ndarray, offsets: np.ndarray, *, with_us: bool) -> list[str]:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM`` of wall-clock microseconds, written as a byte
    matrix of digits (numpy's datetime_as_string and np.char take microseconds per value)."""
    import numpy as np

    n = len(wall_us)
    secs, us = np.divmod(wall_us, 1_000_000)
    days, sod = np.divmod(secs, 86_400)
    year, month, day = _civil_from_days(days)
    hour, rem = np.divmod(sod, 3600)
    minute, second = np.divmod(rem, 60)
    sign = np.where(offsets < 0, ord("-"), ord("+"))
    off_h, off_m = np.divmod(np.abs(offsets), 60)
    fields: list[tuple[np.ndarray | int, int]] = [
        (year, 4), (ord("-"), 0), (month, 2), (ord("-"), 0), (day, 2), (ord("T"), 0),
        (hour, 2), (ord(":"), 0), (minute, 2), (ord(":"), 0), (second, 2),
    ]
    if with_us:
        fields += [(ord("."), 0), (us, 6)]
    width = sum(max(w, 1) for _, w in fields) + 6
    mat = np.empty((n, width), dtype=np.uint8)
    col = 0
    for value, digits in fields:
        if digits == 0:
            mat[:, col] = value
            col += 1
            continue
        v = np.asarray(value, dtype=np.int64)
        for k in range(digits - 1, -1, -1):
            mat[:, col + k] = 48 + v % 10
            v = v // 10
        col += digits
    mat[:, col] = sign
    mat[:, col + 1] = 48 + off_h // 10
    mat[:, col + 2] = 48 + off_h % 10
    mat[:, col + 3] = ord(":")
    mat[:, col + 4] = 48 + off_m // 10
    mat[:, col + 5] = 48 + off_m % 10
    # One str per row, made by numpy from a UCS-4 view of the rows (half the time of slicing
    # one decoded text into rows).
    rows: list[str] = mat.astype(np.uint32).view(f"U{width}").reshape(n).tolist()
    return rows


def _civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01, proleptic Gregorian (H. Hinnant's algorithm)."""
    import numpy as np

    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _utc_offsets_minutes(ns: np.ndarray, tz: tzinfo) -> np.ndarray:
    """The UTC offset (minutes) of ``tz`` at each instant; one lookup per distinct hour."""
    import numpy as np

    fixed = tz.utcoffset(None)
    if fixed is not None:  # datetime.timezone: one offset for all time
        return np.full(len(ns), int(fixed.total_seconds()) // 60, dtype=np.int64)
    if len(ns) == 0:
        return np.zeros(0, dtype=np.int64)
    hours = ns // 3_600_000_000_000
    first, last = int(hours.min()), int(hours.max())
    if last - first >= 1 << 16:  # instants years apart: the distinct hours by a sort
        unique_hours, inverse = np.unique(hours, return_inverse=True)
        per_hour = np.array([_offset_minutes_at(int(h) * 3_600_000_000_000, tz) for h in unique_hours.tolist()],
                            dtype=np.int64)
        return per_hour[inverse.reshape(-1)]
    # A day's instants span a few hours (a carried book some weeks): the hours present, marked
    # in a table over that span, not found by sorting every instant.
    present = np.zeros(last - first + 1, dtype=bool)
    present[hours - first] = True
    table = np.zeros(last - first + 1, dtype=np.int64)
    for h in np.flatnonzero(present).tolist():
        table[h] = _offset_minutes_at((first + h) * 3_600_000_000_000, tz)
    return table[hours - first]


def _offset_minutes_at(ns: int, tz: tzinfo) -> int:
    offset = time_from_ns(ns, tz).utcoffset()
    if offset is None:  # astimezone() has already asked tz for an offset: only a broken tzinfo gets here
        raise ValueError(f"time zone {tz!r} has no UTC offset")
    return int(offset.total_seconds()) // 60
