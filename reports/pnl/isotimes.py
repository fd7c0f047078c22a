"""Epoch nanoseconds to ISO-8601 text with the UTC offset, vectorised."""
from __future__ import annotations

import functools
import itertools
from datetime import date, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from reports.journal import time_from_ns

if TYPE_CHECKING:
    import numpy as np

_EPOCH = date(1970, 1, 1)


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


def iso_times_runs(ns: np.ndarray, sizes: list[int], tz: tzinfo) -> list[str]:
    """:func:`iso_times` of each run of ``sizes`` consecutive instants of ``ns``, in one list:
    each run is printed with microseconds when any of its own times has them. The equity curve
    has a run per strategy: one formatting pass for all, not one numpy pass per series."""
    import numpy as np

    if len(ns) == 0:
        return []
    ns = np.asarray(ns, dtype=np.int64)
    offsets = _utc_offsets_minutes(ns, tz)
    wall_us = ns // 1000 + offsets * 60_000_000
    fraction = wall_us % 1_000_000 != 0
    if not fraction.any():
        return _format(wall_us, offsets, with_us=False)
    bounds = np.cumsum([0, *sizes]).tolist()
    runs = [(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True) if hi > lo]
    flags = np.logical_or.reduceat(fraction, [lo for lo, _ in runs]).tolist()
    if all(flags):  # the usual day: every run has a time with microseconds
        return _format(wall_us, offsets, with_us=True)
    per_row = np.repeat(np.asarray(flags, dtype=bool), [hi - lo for lo, hi in runs])
    texts = {flag: iter(_format(wall_us[per_row == flag], offsets[per_row == flag], with_us=flag))
             for flag in (False, True) if (per_row == flag).any()}
    out: list[str] = []
    for (lo, hi), flag in zip(runs, flags, strict=True):
        out += itertools.islice(texts[flag], hi - lo)
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
    matrix (numpy's datetime_as_string and np.char take microseconds per value).

    A row is a copy of its date-and-offset row (a day's instants have one or two of them), then
    the time of day and the microseconds as whole blocks of bytes looked up in digit tables: a
    few array operations per call, not two per digit.
    """
    import numpy as np

    n = len(wall_us)
    if n == 0:
        return []
    secs, us = np.divmod(wall_us, 1_000_000)
    days, sod = np.divmod(secs, 86_400)
    key = days * 4096 + (offsets + 2048)  # |offset| < 24 h = 1440 minutes
    if (key == key[0]).all():
        distinct, inverse = key[:1], None
    else:
        distinct, inverse = np.unique(key, return_inverse=True)
    width = 32 if with_us else 25
    mat = np.empty((n, 32), dtype=np.uint8)
    words = mat.view(np.uint64)  # a row as four 8-byte words: one copy of its template
    templates = _date_rows(distinct.tolist(), with_us=with_us).view(np.uint64)
    words[:] = templates[0] if inverse is None else templates[inverse.reshape(-1)]
    tables = _digit_tables()
    minute, second = np.divmod(sod, 60)  # minute of the day
    mat[:, 11:19].view(np.uint64)[:, 0] = tables.hh_mm[minute]
    mat[:, 17:19].view(np.uint16)[:, 0] = tables.two_digits[second]
    if with_us:
        hi, lo = np.divmod(us, 100)
        mat[:, 20:24].view(np.uint32)[:, 0] = tables.four_digits[hi]
        mat[:, 24:26].view(np.uint16)[:, 0] = tables.two_digits[lo]
    # One str per row, made by numpy from a UCS-4 view of the rows (half the time of slicing
    # one decoded text into rows).
    rows: list[str] = mat[:, :width].astype(np.uint32).view(f"U{width}").reshape(n).tolist()
    return rows


def _date_rows(keys: list[int], *, with_us: bool) -> np.ndarray:
    """32-byte rows ``YYYY-MM-DDT..:..:..[.......]+HH:MM`` per ``day * 4096 + offset + 2048``: the
    parts every instant of that day shares (the dots are filled per instant)."""
    import numpy as np

    rows = []
    for key in keys:
        days, offset = divmod(key, 4096)
        offset -= 2048
        sign = "-" if offset < 0 else "+"
        off_h, off_m = divmod(abs(offset), 60)
        day = (_EPOCH + timedelta(days=days)).isoformat()
        rows.append(f"{day}T00:00:00{'.000000' if with_us else ''}{sign}{off_h:02d}:{off_m:02d}".ljust(32))
    return np.frombuffer("".join(rows).encode("ascii"), dtype=np.uint8).reshape(len(keys), 32)


class _DigitTables:
    """ASCII digits as whole blocks: ``HH:MM:`` of each minute of a day (8 bytes, the seconds
    written over the last two), and every four-digit and two-digit number (small tables, made
    once per process by broadcasting one digit column at a time)."""

    def __init__(self) -> None:
        import numpy as np

        digit = 48 + np.arange(10, dtype=np.uint8)
        by_digit = np.empty((10, 10, 10, 10, 4), dtype=np.uint8)
        for k in range(4):
            by_digit[..., k] = digit.reshape([10 if axis == k else 1 for axis in range(4)])
        four = by_digit.reshape(10_000, 4)
        tens, ones = four[:100, 2], four[:100, 3]
        hh_mm = np.full((24, 60, 8), ord(":"), dtype=np.uint8)  # by hour and minute: "HH:MM:.."
        hh_mm[..., 0], hh_mm[..., 1] = tens[:24, None], ones[:24, None]
        hh_mm[..., 3], hh_mm[..., 4] = tens[None, :60], ones[None, :60]
        self.hh_mm = hh_mm.reshape(1440, 8).view(np.uint64)[:, 0]
        self.four_digits = four.view(np.uint32)[:, 0]
        self.two_digits = np.ascontiguousarray(four[:100, 2:]).view(np.uint16)[:, 0]


@functools.cache
def _digit_tables() -> _DigitTables:
    return _DigitTables()


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
