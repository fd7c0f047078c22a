"""Importing a broker export (or a journal file) as each day's journal, never losing one."""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EodError, TradedayError, UsageError
from session.eod.dates import refuse_future
from session.eod.paths import show_path

if TYPE_CHECKING:
    from reports.journal import Fill
    from session.calendar import MarketCalendar
    from session.config import TradedayConfig


@dataclass
class ImportedDay:
    date: date
    path: Path
    fills: int
    status: str  # "written", "unchanged" or "replaced"
    backup: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "journal": str(self.path), "fills": self.fills,
                "status": self.status, "backup": str(self.backup) if self.backup else None}


@dataclass
class ImportResult:
    days: list[ImportedDay]
    warnings: list[str]
    currencies: set[str]


@dataclass(frozen=True)
class _PlannedDay:
    """One day an import will write: its journal, its fills, the files there now, what happens."""
    date: date
    target: Path
    fills: list[Fill]
    existing: list[Path]
    status: str


def guess_fills_format(path: Path) -> str | None:
    """journal / kite-tradebook / ibkr-flex from the first lines of a CSV, or None."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            head = "".join(fh.readline() for _ in range(12))
    except OSError:
        return None
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return "journal"
    if "trade_type" in head and "order_execution_time" in head:
        return "kite-tradebook"
    if "TradePrice" in head:
        return "ibkr-flex"
    first = head.splitlines()[0] if head else ""
    if {"time", "strategy", "symbol", "side", "quantity", "price"} <= {c.strip() for c in first.split(",")}:
        return "journal"
    return None


def import_fills_file(config: TradedayConfig, file: Path, fmt: str, calendar: MarketCalendar, *,
                      dates: Iterable[date] | None = None, force: bool = False) -> ImportResult:
    """Convert a broker export (or a journal file) into each day's journal ``{journal}/{date}.csv``.

    ``dates``: only those days (error if the file has no fill on any of them); None: every
    day in the file. A day that already has a journal with other fills is refused (UsageError,
    exit 2) unless ``force``; then the old file is kept beside it as
    ``{name}.replaced-{UTC time}``: an import never loses a journal. All days are checked
    before any is written.
    """
    if not file.is_file():
        raise UsageError(f"--fills: {file}: no such file")
    fills, warnings, currencies = _load_fills(file, fmt, calendar)
    by_day: dict[date, list[Fill]] = {}
    for f in fills:
        by_day.setdefault(f.time.astimezone(calendar.tz).date(), []).append(f)
    chosen = _choose_days(file, by_day, dates, warnings)
    refuse_future(chosen, calendar, f"--fills: {file}")  # nothing is written: all days or none
    plan = _plan(config, chosen, force)
    return ImportResult(days=_carry_out(plan), warnings=warnings, currencies=currencies)


def _load_fills(file: Path, fmt: str, calendar: MarketCalendar) -> tuple[list[Fill], list[str], set[str]]:
    """(fills, warnings, currencies) of the file in its format."""
    from reports.importers import import_fills
    from reports.journal import read_journal

    if fmt == "journal":
        loaded = read_journal(file)
        return loaded.fills.to_fills(), list(loaded.warnings), set()
    imported = import_fills(file, fmt, timezone=calendar.tz)
    return imported.fills, list(imported.warnings), set(imported.currencies)


def _choose_days(file: Path, by_day: dict[date, list[Fill]], dates: Iterable[date] | None,
                 warnings: list[str]) -> dict[date, list[Fill]]:
    """The days to import (all, or those asked for); what is left out is added to ``warnings``."""
    if dates is None:
        if not by_day:
            raise EodError(f"{file}: no fills to import", hint="check that the export covers the days you traded")
        return by_day
    wanted = sorted(set(dates))
    chosen = {d: by_day[d] for d in wanted if d in by_day}
    if not chosen:
        covers = (f"it has fills on {min(by_day)}" + (f" to {max(by_day)}" if len(by_day) > 1 else "")
                  if by_day else "it has no fills")
        span = str(wanted[0]) if len(wanted) == 1 else f"{wanted[0]} to {wanted[-1]}"
        raise EodError(f"{file}: no fills on {span} ({covers})",
                       hint="give the date the export is for, or leave DATE out to import every day in it")
    skipped = sorted(set(by_day) - set(chosen))
    if skipped:
        warnings.append(f"{file}: fills of {len(skipped)} other day(s) not imported ({', '.join(map(str, skipped))})")
    return chosen


def _plan(config: TradedayConfig, chosen: dict[date, list[Fill]], force: bool) -> list[_PlannedDay]:
    """What each day's import does; UsageError (nothing written) if one would replace other fills."""
    from reports.journal import read_journal

    plan: list[_PlannedDay] = []
    conflicts = []
    for d in sorted(chosen):
        target = config.journal_dir / f"{d.isoformat()}.csv"
        existing = [p for p in (target, target.with_suffix(".jsonl")) if p.is_file()]
        status = "written"
        if existing:
            same = False
            if len(existing) == 1:
                try:
                    same = read_journal(existing[0]).fills.to_fills() == sorted(chosen[d], key=lambda f: f.time)
                except TradedayError:
                    same = False
            if same:
                status = "unchanged"
            elif not force:
                conflicts.append(existing[0])
            else:
                status = "replaced"
        plan.append(_PlannedDay(date=d, target=target, fills=chosen[d], existing=existing, status=status))
    if conflicts:
        names = ", ".join(show_path(config, p) for p in conflicts)
        raise UsageError(f"--fills: {names} already exist{'s' if len(conflicts) == 1 else ''} with other fills; "
                         "refusing to replace the journal",
                         hint="pass --force to replace it (the old file is kept beside it as *.replaced-<time>)")
    return plan


def _carry_out(plan: list[_PlannedDay]) -> list[ImportedDay]:
    """Write the planned journals, moving a replaced one aside first (and back if the new one
    cannot be written: a full disk must not leave the day without its journal)."""
    from reports.fileset import errno_name
    from reports.journal import write_journal

    days: list[ImportedDay] = []
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for day in plan:
        moved: list[tuple[Path, Path]] = []
        try:
            if day.status == "replaced":
                for old in day.existing:
                    aside = _free_name(old.with_name(f"{old.name}.replaced-{stamp}"))
                    os.replace(old, aside)
                    moved.append((old, aside))
            if day.status != "unchanged":
                write_journal(day.fills, day.target)
        except OSError as exc:
            for old, aside in reversed(moved):
                os.replace(aside, old)
            done = f"; imported before it: {', '.join(str(d.date) for d in days)}" if days else ""
            raise EodError(f"--fills: cannot write {exc.filename or day.target}: {exc.strerror or exc} "
                           f"({errno_name(exc)}); the journal of {day.date} is unchanged{done}",
                           hint="free space in the journal folder (or fix its permissions) and import again") from None
        days.append(ImportedDay(date=day.date, path=day.target, fills=len(day.fills), status=day.status,
                                backup=moved[-1][1] if moved else None))
    return days


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate
