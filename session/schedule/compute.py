"""When to start tradeday each day: a wall-clock time in the starter's timezone whose start falls
between 3 hours and ``session.start_before_open`` before the market's open, on every day of the
coming year, whatever the two regions' DST rules do.

The model. A starter (cron, Task Scheduler, a systemd timer) fires at wall time T every day in
its timezone Z. Each day d has a window ``[anchor - 3h, anchor - start_before_open]``, where the
anchor is the day's regular open, or the day's own open when a special session opens earlier
(on a day that opens later, tradeday simply waits). A firing counts for a day only if it lies
in that day's window, and a wall time that Z's DST change skips or repeats on a date never counts
(schedulers disagree there). Every calendar day gets a window, sessions or not: firing on a
day without a session is harmless (tradeday exits 0), and it keeps the answer right in years
whose holidays are not published yet.

The answer is one time T that puts exactly one firing in every window. When the gap between
Z's UTC offset and the market's changes too much over the year for one time to fit (a long
``start_before_open``), there is one time per pair of UTC offsets (Z's, the market's), each
guarded so that it only counts while that pair holds (cron: a shell test of both offsets;
Task Scheduler: date ranges). Any candidate set is verified by simulating every firing of the
year: each window gets exactly one start, and no start lands outside a window.
"""
from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from session.calendar import MarketCalendar, SessionDay

MAX_LEAD = timedelta(hours=3)
# Prefer starting this long before tradeday's own start (open - start_before_open): time for the
# prechecks, a notification and a fix before the engines are due.
MARGIN = timedelta(minutes=15)
YEAR_DAYS = 366
_STEP = timedelta(minutes=1)
_SINGLE_CANDIDATES = 24
_REGIME_CANDIDATES = 6

Offsets = tuple[str, str]  # (the starter zone's, the market's) UTC offsets, e.g. ("+0000", "-0400")
Line = tuple[int, frozenset[Offsets] | None]  # a start's minute of the day, and its guard (None: none)
Firing = tuple[date, int, datetime]  # a counted start: starter-local date, window index, instant


def format_offset(delta: timedelta | None) -> str:
    """``date +%z`` style: +0530, -0400."""
    minutes = int((delta or timedelta(0)).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{mins:02d}"


@dataclass(frozen=True)
class DailyStart:
    """One daily start time; ``offsets`` empty means every day, else only while one pair holds."""

    at: time
    offsets: tuple[Offsets, ...]
    runs: tuple[tuple[date, date], ...]  # the starter-local dates on which it is the day's start
    min_lead: timedelta
    max_lead: timedelta

    @property
    def guarded(self) -> bool:
        return bool(self.offsets)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.strftime("%H:%M"),
            "offsets": [{"server": s, "market": m} for s, m in self.offsets],
            "runs": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in self.runs],
            "min_lead_seconds": int(self.min_lead.total_seconds()),
            "max_lead_seconds": int(self.max_lead.total_seconds()),
        }


@dataclass(frozen=True)
class StartPlan:
    """The computed daily start(s) for one market, one starter timezone and one year."""

    calendar: str
    market_timezone: str
    regular_open: time
    regular_close: time
    start_before_open: float
    zone: str  # the timezone the start times are written in
    first: date
    last: date
    starts: tuple[DailyStart, ...]
    offsets_seen: tuple[Offsets, ...]
    earlier_opens: tuple[tuple[date, time], ...]  # special sessions that open before the regular open
    later_opens: tuple[tuple[date, time], ...]  # sessions that open later (tradeday waits for them)
    unknown_days: int  # days the calendar has no data for (a year without published holidays)
    longest_day: timedelta  # the longest span from a start to that day's close

    @property
    def guarded(self) -> bool:
        return len(self.starts) > 1

    def to_json(self) -> dict[str, Any]:
        return {
            "calendar": self.calendar,
            "market_timezone": self.market_timezone,
            "regular_open": self.regular_open.strftime("%H:%M"),
            "regular_close": self.regular_close.strftime("%H:%M"),
            "start_before_open_seconds": self.start_before_open,
            "max_lead_seconds": int(MAX_LEAD.total_seconds()),
            "zone": self.zone,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "starts": [s.to_json() for s in self.starts],
            "offsets_seen": [{"server": s, "market": m} for s, m in self.offsets_seen],
            "earlier_opens": [{"date": d.isoformat(), "open": t.strftime("%H:%M")} for d, t in self.earlier_opens],
            "later_opens": [{"date": d.isoformat(), "open": t.strftime("%H:%M")} for d, t in self.later_opens],
            "unknown_days": self.unknown_days,
            "longest_day_seconds": int(self.longest_day.total_seconds()),
        }


def _regular_hours(cal: MarketCalendar, days: Sequence[SessionDay], first: date) -> tuple[time, time]:
    """The market's regular open and close (market time): the configured hours, else the most
    common times of the regular sessions around ``first``."""
    hours = getattr(cal, "hours", None)
    if hours:
        return hours[0], hours[1]
    for sample in (days, cal.sessions(first - timedelta(days=YEAR_DAYS), first - timedelta(days=1))):
        regular = [d for d in sample if d.kind == "regular" and d.open is not None and d.close is not None]
        if regular:
            opens = Counter(d.open.astimezone(cal.tz).time() for d in regular if d.open is not None)
            closes = Counter(d.close.astimezone(cal.tz).time() for d in regular if d.close is not None)
            return opens.most_common(1)[0][0], closes.most_common(1)[0][0]
    raise ConfigError(
        f"market.calendar {cal.name}: no session data around {first} to tell when the market opens",
        hint="set market.hours {open, close} in the config",
    )


def _unambiguous(local: datetime) -> bool:
    """False for a wall time that the zone's DST change skips or repeats."""
    return local.replace(fold=1 - local.fold).utcoffset() == local.utcoffset()


def _runs(dates: Iterable[date]) -> tuple[tuple[date, date], ...]:
    out: list[list[date]] = []
    for d in sorted(dates):
        if out and (d - out[-1][1]).days == 1:
            out[-1][1] = d
        else:
            out.append([d, d])
    return tuple((a, b) for a, b in out)


class _Year:
    """The windows of one year and the simulation of candidate start times against them."""

    def __init__(self, cal: MarketCalendar, zone: tzinfo, start_before_open: float, first: date, days: int):
        self.zone = zone
        self.mtz = cal.tz
        self.sbo = timedelta(seconds=start_before_open)
        self.first = first
        self.last = first + timedelta(days=days - 1)
        self.sessions = cal.sessions(self.first, self.last)
        self.open_t, self.close_t = _regular_hours(cal, self.sessions, first)
        earlier, later = [], []
        self.anchors: list[datetime] = []
        self.closes: list[datetime] = []
        for day in self.sessions:
            anchor = datetime.combine(day.date, self.open_t, tzinfo=self.mtz).astimezone(UTC)
            close = datetime.combine(day.date, self.close_t, tzinfo=self.mtz).astimezone(UTC)
            if day.is_trading_day and day.open is not None:
                if day.open < anchor:
                    earlier.append((day.date, day.open.astimezone(self.mtz).time()))
                    anchor = day.open.astimezone(UTC)
                elif day.open > anchor:
                    later.append((day.date, day.open.astimezone(self.mtz).time()))
                if day.close is not None:
                    close = day.close.astimezone(UTC)
            self.anchors.append(anchor)
            self.closes.append(close)
        self.earlier, self.later = tuple(earlier), tuple(later)
        self.unknown = sum(1 for d in self.sessions if not d.known)
        self.lo = [a - MAX_LEAD for a in self.anchors]
        self.hi = [a - self.sbo for a in self.anchors]
        # Every whole minute of each window, by its wall-clock minute in the starter's zone.
        self.minutes: list[dict[int, datetime]] = []
        self.regimes: list[set[Offsets]] = []
        for lo, hi in zip(self.lo, self.hi, strict=True):
            found: dict[int, datetime] = {}
            # An offset changes at most once inside a 3-hour window: equal ends mean one pair.
            ends = {self.offsets(lo), self.offsets(hi)}
            pairs: set[Offsets] = set(ends)
            inst = lo
            while inst <= hi:
                local = inst.astimezone(zone)
                if len(ends) > 1:
                    pairs.add(self.offsets(inst))
                if _unambiguous(local) and local.second == 0:
                    found[local.hour * 60 + local.minute] = inst
                inst += _STEP
            self.minutes.append(found)
            self.regimes.append(pairs)
        self.target = min(self.sbo + MARGIN, MAX_LEAD)

    def offsets(self, inst: datetime) -> Offsets:
        return format_offset(inst.astimezone(self.zone).utcoffset()), format_offset(inst.astimezone(self.mtz).utcoffset())

    def rank(self, candidates: Iterable[int], indices: Sequence[int]) -> list[int]:
        def key(minute: int) -> tuple[bool, float, int]:
            lead = min(self.anchors[i] - self.minutes[i][minute] for i in indices)
            return minute % 5 != 0, abs((lead - self.target).total_seconds()), -minute

        return sorted(candidates, key=key)

    def window_of(self, inst: datetime) -> int | None:
        i = bisect.bisect_right(self.lo, inst) - 1
        return i if i >= 0 and inst <= self.hi[i] else None

    def simulate(self, lines: Sequence[Line]) -> list[list[Firing]] | None:
        """Every firing of ``lines`` over the year: per line, the (starter date, window index,
        instant) of each counted start; None unless each window gets exactly one and none lands
        outside every window."""
        counts = [0] * len(self.anchors)
        outer_lo, outer_hi = self.lo[0], self.hi[-1]
        result: list[list[Firing]] = []
        for minute, guard in lines:
            fired: list[Firing] = []
            wall = time(minute // 60, minute % 60)
            day = self.first - timedelta(days=2)
            while day <= self.last + timedelta(days=2):
                naive = datetime.combine(day, wall)
                early, late = naive.replace(tzinfo=self.zone, fold=0), naive.replace(tzinfo=self.zone, fold=1)
                if early.utcoffset() != late.utcoffset():
                    # A skipped or repeated wall time: schedulers differ, so it may not count.
                    for cand in (early.astimezone(UTC), late.astimezone(UTC)):
                        if (guard is None or self.offsets(cand) in guard) and outer_lo <= cand <= outer_hi:
                            return None
                    day += timedelta(days=1)
                    continue
                inst = early.astimezone(UTC)
                if guard is None or self.offsets(inst) in guard:
                    index = self.window_of(inst)
                    if index is not None:
                        counts[index] += 1
                        fired.append((day, index, inst))
                    elif outer_lo <= inst <= outer_hi:
                        return None
                day += timedelta(days=1)
            result.append(fired)
        if any(c != 1 for c in counts):
            return None
        return result

    def start_of(self, minute: int, guard: frozenset[Offsets] | None, fired: list[Firing]) -> DailyStart:
        leads = [self.anchors[i] - inst for _, i, inst in fired]
        return DailyStart(
            at=time(minute // 60, minute % 60),
            offsets=tuple(sorted(guard)) if guard else (),
            runs=_runs(d for d, _, _ in fired),
            min_lead=min(leads),
            max_lead=max(leads),
        )


def _search(year: _Year) -> list[Line] | None:
    everyone = range(len(year.anchors))
    common = set.intersection(*(set(m) for m in year.minutes)) if year.minutes else set()
    single: list[Line]
    for minute in year.rank(common, everyone)[:_SINGLE_CANDIDATES]:
        single = [(minute, None)]
        if year.simulate(single) is not None:
            return single
    # One time per pair of offsets: the days whose whole window lies in one pair decide its time.
    steady: dict[Offsets, list[int]] = {}
    for i, pairs in enumerate(year.regimes):
        if len(pairs) == 1:
            steady.setdefault(next(iter(pairs)), []).append(i)
    if len(steady) < 2:
        return None
    transitional = sorted(set().union(*year.regimes) - set(steady))
    choices: list[list[int]] = []
    for _pair, indices in sorted(steady.items()):
        fits = set.intersection(*(set(year.minutes[i]) for i in indices))
        ranked = year.rank(fits, indices)[:_REGIME_CANDIDATES if len(steady) <= 2 else 3]
        if not ranked:
            return None
        choices.append(ranked)
    pairs_in_order = sorted(steady)
    for combo in itertools.product(*choices):
        # A pair seen only inside a window (a DST change in the small hours) goes with one line.
        for extra in itertools.product(range(len(combo)), repeat=len(transitional)):
            guards: dict[int, set[Offsets]] = {}
            for pair, minute in zip(pairs_in_order, combo, strict=True):
                guards.setdefault(minute, set()).add(pair)
            for pair, which in zip(transitional, extra, strict=True):
                guards.setdefault(combo[which], set()).add(pair)
            lines = [(minute, frozenset(g)) for minute, g in sorted(guards.items())]
            if year.simulate(lines) is not None:
                return list(lines)
    return None


def plan_daily_start(cal: MarketCalendar, *, zone: tzinfo, zone_name: str, start_before_open: float,
                     first: date, days: int = YEAR_DAYS) -> StartPlan:
    """The daily start time(s), written in ``zone``, for the ``days`` days from ``first``."""
    if timedelta(seconds=start_before_open) >= MAX_LEAD:
        raise UsageError(f"session.start_before_open must be under {MAX_LEAD.seconds // 3600}h for a daily schedule")
    year = _Year(cal, zone, start_before_open, first, days)
    lines = _search(year)
    if lines is None:
        raise UsageError(
            f"no daily start time in {zone_name} falls between 3h and start_before_open before the "
            f"{cal.name} open on every day from {year.first} to {year.last}",
            hint="use `tradeday schedule systemd` (its timer keeps the market's timezone) or a shorter "
                 "session.start_before_open",
        )
    fired = year.simulate(lines)
    assert fired is not None
    starts = tuple(year.start_of(minute, guard, f) for (minute, guard), f in zip(lines, fired, strict=True))
    longest = max((year.closes[i] - inst for f in fired for _, i, inst in f), default=timedelta(0))
    return StartPlan(
        calendar=cal.name,
        market_timezone=cal.timezone,
        regular_open=year.open_t,
        regular_close=year.close_t,
        start_before_open=start_before_open,
        zone=zone_name,
        first=year.first,
        last=year.last,
        starts=starts,
        offsets_seen=tuple(sorted(set().union(*year.regimes))),
        earlier_opens=year.earlier,
        later_opens=year.later,
        unknown_days=year.unknown,
        longest_day=longest,
    )
