"""``tradeday calendar import``: an exchange's published list (``session.calendar.published``)
into the config's calendar file ``{root}/calendars/<NAME>.yaml`` (``session.calendar.local``).

The list is the exchange's whole list for each year it covers, so those years become known,
and importing a list for a year replaces what the file held for that year (a revised list
that moves a holiday moves it; each removal is reported). Years the list does not cover are
kept. The file is written atomically and only when its data changes: importing the same list
twice reports "no change" and leaves the file untouched.

A list that covers a year the calendar knows nothing about, yet names no holiday in it, is
refused: making that year known would turn each of its weekdays into a regular session. (A
list with only a session for a year already known, such as the times of an announced Muhurat
session, is fine.)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError, UsageError
from core.fsutil import atomic_write_text
from session.calendar.local import calendar_file, calendars_dir, check_calendar_field
from session.calendar.published import PublishedList, read_published
from session.calendar.zones import CalendarIdentity

if TYPE_CHECKING:
    from session.calendar.overlay_file import OverlayFile
    from session.config import TradedayConfig

FORMAT_TITLES = {"csv": "CSV list", "nse-json": "NSE holiday-master JSON (CM segment)"}


@dataclass(frozen=True)
class Entry:
    """One date of the calendar file: a holiday, or a session when it has times."""

    name: str
    source: str | None
    open: time | None = None
    close: time | None = None
    breaks: tuple[tuple[time, time], ...] = ()
    holiday: str | None = None

    @property
    def data(self) -> tuple[Any, ...]:
        """What the entry says about the day (its source aside)."""
        return (self.name, self.open, self.close, self.breaks, self.holiday)

    def describe(self, day: date) -> str:
        if self.open is None or self.close is None:
            return f"{day} holiday: {self.name}"
        return f"{day} session: {self.name} {self.open:%H:%M}-{self.close:%H:%M}"

    def to_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.open is not None and self.close is not None:
            out["open"], out["close"] = _Quoted(f"{self.open:%H:%M}"), _Quoted(f"{self.close:%H:%M}")
        if self.breaks:
            out["breaks"] = [[_Quoted(f"{a:%H:%M}"), _Quoted(f"{b:%H:%M}")] for a, b in self.breaks]
        if self.holiday:
            out["holiday"] = self.holiday
        out["source"] = self.source
        return out


@dataclass(frozen=True)
class CalendarImport:
    """What one import did."""

    calendar: str
    path: Path  # the calendar file
    source: Path  # the list that was read
    format: str  # "csv" or "nse-json"
    holidays: int  # in the list
    special_sessions: int
    years: tuple[int, ...]  # the years the list covers: each is now known
    known_years: tuple[int, ...]  # every year the calendar file holds
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    notes: tuple[str, ...]
    changed: bool  # False: the file already said all of this and was not touched

    def to_json(self) -> dict[str, Any]:
        return {
            "calendar": self.calendar, "path": str(self.path), "source": str(self.source), "format": self.format,
            "holidays": self.holidays, "special_sessions": self.special_sessions, "years": list(self.years),
            "known_years": list(self.known_years), "changed": self.changed, "added": list(self.added),
            "updated": list(self.updated), "removed": list(self.removed), "notes": list(self.notes),
        }


def import_calendar_file(config: TradedayConfig, file: str | Path, calendar: str | None = None, *,
                         today: date | None = None) -> CalendarImport:
    """Import the list in ``file`` into ``config``'s calendar file for ``calendar`` (default:
    the config's ``market.calendar``). Raises UsageError (exit 2) for a missing file or an
    unknown ``calendar``, ConfigError (exit 3) for a list it cannot read or a file it cannot
    write; in either case nothing is written."""
    identity = _identity(calendar or config.market.calendar, flag=calendar is not None)
    listed = read_published(Path(file))
    folder = calendars_dir(config.root_dir)
    target = calendar_file(folder, identity)
    old = _existing(target, identity)
    _refuse_empty_unknown_years(listed, identity, folder)

    covered = set(listed.years)
    source_id = f"{listed.path.name}#{listed.sha256[:8]}"
    before = _entries(old)
    after = {day: e for day, e in before.items() if day.year not in covered}
    for row in listed.days:
        after[row.day] = Entry(row.name, source_id, row.open, row.close)
    old_years = sorted(old.known_years) if old is not None else []
    known_years = sorted(set(old_years) | covered)
    added, updated, removed = _diff(before, after, covered)
    changed = known_years != old_years or {d: e.data for d, e in before.items()} != {d: e.data for d, e in after.items()}
    if changed:
        sources = {k: v for k, v in (old.sources if old is not None else {}).items()
                   if any(e.source == k for e in after.values())}
        sources[source_id] = {
            "title": f"{FORMAT_TITLES[listed.format]} imported from {listed.path.name}",
            "date": today or date.today(), "file": str(listed.path.resolve()), "sha256": listed.sha256,
        }
        text = _render(identity, old.known_through if old is not None else None, known_years, sources, after)
        try:
            atomic_write_text(target, text)
        except OSError as exc:
            raise ConfigError(f"cannot write {target} ({exc.strerror}); nothing was imported",
                              hint=f"make {folder} writable, or set root: in the config to a writable folder") from None
    return CalendarImport(
        calendar=identity.name, path=target, source=listed.path, format=listed.format,
        holidays=len(listed.holidays), special_sessions=len(listed.sessions), years=listed.years,
        known_years=tuple(known_years), added=tuple(added), updated=tuple(updated), removed=tuple(removed),
        notes=listed.notes, changed=changed,
    )


def _identity(name: str, *, flag: bool) -> CalendarIdentity:
    from session.calendar.pmc import identify_calendar

    try:
        return identify_calendar(name)
    except ConfigError as exc:
        if not flag:
            raise
        raise UsageError(exc.message.replace("market.calendar:", "--calendar:", 1), hint=exc.hint) from None


def _existing(path: Path, identity: CalendarIdentity) -> OverlayFile | None:
    """The calendar file as it is; one that does not load is never overwritten."""
    if not path.is_file():
        return None
    from session.calendar.overlay import read_overlay_file

    parsed = read_overlay_file(path, label=str(path))
    check_calendar_field(parsed.calendar, path, identity)
    return parsed


def _entries(parsed: OverlayFile | None) -> dict[date, Entry]:
    if parsed is None:
        return {}
    entries = {day: Entry(h.name, h.source) for day, h in parsed.holidays.items()}
    for day, s in parsed.special_sessions.items():
        entries[day] = Entry(s.name, s.source, s.open, s.close, tuple(s.breaks), s.holiday)
    return entries


def _refuse_empty_unknown_years(listed: PublishedList, identity: CalendarIdentity, folder: Path) -> None:
    empty = [y for y in listed.years if not any(h.day.year == y for h in listed.holidays)]
    if not empty:
        return
    from session.calendar.market import MarketCalendar

    cal = MarketCalendar(identity.name, calendars_dir=folder)
    for year in empty:
        if not cal.year_known(year):
            raise ConfigError(
                f"{listed.path.name}: lists no holiday for {year}, and {identity.name} has no holiday data for "
                f"{year}: importing it would make every {year} weekday a regular session; nothing was imported",
                hint=f"import the exchange's whole {year} list, or put a single session under market.special_sessions",
            )


def _diff(before: dict[date, Entry], after: dict[date, Entry], years: set[int]) -> tuple[list[str], ...]:
    added, updated, removed = [], [], []
    for day in sorted(set(before) | set(after)):
        if day.year not in years:
            continue
        old, new = before.get(day), after.get(day)
        if old is None and new is not None:
            added.append(new.describe(day))
        elif new is None and old is not None:
            removed.append(old.describe(day))
        elif old is not None and new is not None and old.data != new.data:
            updated.append(f"{old.describe(day)} -> {new.describe(day)[11:]}")
    return added, updated, removed


class _Quoted(str):
    """A time written quoted: YAML 1.1 reads an unquoted 18:00 as a number."""


def _render(identity: CalendarIdentity, known_through: int | None, known_years: list[int],
            sources: dict[str, dict[str, Any]], entries: dict[date, Entry]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(_Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"'))
    doc: dict[str, Any] = {"calendar": identity.name}
    if known_through is not None:
        doc["known_through"] = known_through
    doc["known_years"] = known_years
    doc["sources"] = sources
    doc["holidays"] = {d: e.to_yaml() for d, e in sorted(entries.items()) if e.open is None}
    doc["special_sessions"] = {d: e.to_yaml() for d, e in sorted(entries.items()) if e.open is not None}
    header = (
        f"# {identity.name} calendar data for tradeday, written by `tradeday calendar import` (docs/CALENDAR.md).\n"
        "# Loaded on top of the bundled data; on a date both list, this file wins. This file holds the\n"
        "# whole list of each year under known_years, so those years are known; importing a list for a\n"
        "# year replaces that year's entries. Same schema as session/data/nse_overlay.yaml.\n"
    )
    return header + yaml.dump(doc, Dumper=Dumper, sort_keys=False, default_flow_style=None, allow_unicode=True,
                              width=1000)
