"""``tradeday report``: which days and which operation (a date, a range, a week or month
summary, an import), carried out in order, told as events while it runs, and summed up.

The command builds a ReportRequest (its checks are the usage errors, exit 2), calls
``run_report`` and prints the events as they come (so progress and errors appear in the
order things happen) and the outcome's ``to_json()``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import TradedayError, UsageError
from session.eod.contract import EodResult, StepRecord
from session.eod.dates import refuse_future
from session.eod.imports import ImportedDay, guess_fills_format, import_fills_file
from session.eod.market import load_calendar, resolve_currency
from session.eod.periods import PeriodResult, period_bounds, write_period
from session.eod.regenerate import regenerate_daily
from session.eod.store import journal_dates, latest_data_date, report_dates

if TYPE_CHECKING:
    from session.calendar import MarketCalendar
    from session.config import TradedayConfig

# Step statuses a regeneration shows even without --with-analytics.
_SHOWN_STATUSES = ("failed", "timeout", "mismatch")


@dataclass(frozen=True)
class ReportRequest:
    """What ``tradeday report`` was asked; constructing it checks the combination (UsageError)."""
    day: date | None = None  # DATE
    start: date | None = None  # --from
    end: date | None = None  # --to (default: the latest date with data)
    period: str | None = None  # --period week|month
    fills: Path | None = None  # --fills FILE
    fills_format: str | None = None  # --fills-format (default: detected from its header)
    force: bool = False
    with_analytics: bool = False
    carry: bool = True

    def __post_init__(self) -> None:
        if self.day is not None and (self.start or self.end):
            raise UsageError("give a DATE or --from/--to, not both")
        if self.end is not None and self.start is None:
            raise UsageError("--to needs --from", hint="e.g. --from 2026-11-16 --to 2026-11-20")
        if self.fills is None and (self.fills_format is not None or self.force):
            raise UsageError(f"{'--fills-format' if self.fills_format is not None else '--force'} goes with --fills FILE")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise UsageError(f"--to {self.end} is before --from {self.start}")


# --------------------------------------------------------------------------- events, as they happen


@dataclass(frozen=True)
class ImportWarning:
    """Something an import said (a dropped row, another day left out, a currency mismatch)."""
    message: str


@dataclass(frozen=True)
class DayImported:
    day: ImportedDay


@dataclass(frozen=True)
class StepShown:
    """A step record worth showing: any with --with-analytics, else the failures of this run."""
    step: StepRecord


@dataclass(frozen=True)
class NothingToReport:
    """A range with no journal and no daily report; ``period``: the summary not written."""
    start: date | None
    end: date | None
    period: str | None = None


@dataclass(frozen=True)
class DailyWritten:
    day: date
    result: EodResult


@dataclass(frozen=True)
class DailyStopped:
    """A day's data is bad: later days carry its positions, so the run stops here."""
    day: date
    error: str
    next_day: date | None  # the first day not regenerated because of it


@dataclass(frozen=True)
class PeriodWritten:
    result: PeriodResult


@dataclass(frozen=True)
class PeriodFailed:
    """A damaged daily report or journal in the period: no summary from part of it."""
    kind: str
    label: str
    error: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "period": self.label, "error": self.error}


ReportEvent = (ImportWarning | DayImported | StepShown | NothingToReport | DailyWritten | DailyStopped
               | PeriodWritten | PeriodFailed)


# --------------------------------------------------------------------------- the outcome


@dataclass
class ReportOutcome:
    imported: list[ImportedDay] = field(default_factory=list)
    reports: list[tuple[date, EodResult]] = field(default_factory=list)
    periods: list[PeriodResult] = field(default_factory=list)
    failed_period: PeriodFailed | None = None  # the last thing tried, when it failed
    exit_code: int = 0  # the worst of the days' and periods' codes

    def to_json(self) -> dict[str, Any]:
        """``{exit_code, imported, reports, periods}``: what ``tradeday report --json`` prints."""
        periods = [p.to_json() for p in self.periods]
        if self.failed_period is not None:
            periods.append(self.failed_period.to_json())
        return {"exit_code": int(self.exit_code), "imported": [d.to_json() for d in self.imported],
                "reports": [result.to_json(d) for d, result in self.reports], "periods": periods}


# --------------------------------------------------------------------------- the operation


def run_report(config: TradedayConfig, request: ReportRequest,
               on_event: Callable[[ReportEvent], None] | None = None) -> ReportOutcome:
    """Import (if asked), regenerate the daily reports, write the summaries (if asked).

    Raises ConfigError (calendar, currency) before anything is written, UsageError for an
    import that cannot be done, EodError for an export without the asked days' fills.
    """
    run = _ReportRun(config, request, on_event or _ignore)
    return run.run()


def _ignore(event: ReportEvent) -> None:
    return None


class _ReportRun:
    def __init__(self, config: TradedayConfig, request: ReportRequest,
                 emit: Callable[[ReportEvent], None]) -> None:
        self.config = config
        self.request = request
        self.emit = emit
        self.outcome = ReportOutcome()
        self.start = request.start
        self.end = request.end
        self.today: date | None = None  # the market's, once the calendar is loaded

    def run(self) -> ReportOutcome:
        config, request = self.config, self.request
        calendar = load_calendar(config)
        resolve_currency(config, calendar)  # exit 3 before anything is written
        # exit 2 before anything is written: no report (or import) for a day that has not happened
        refuse_future([request.day], calendar, "DATE")
        refuse_future([request.start], calendar, "--from")
        refuse_future([request.end], calendar, "--to")
        self.today = calendar.today()
        if self.start is not None and self.end is None:
            self.end = max(latest_data_date(config, until=self.today) or self.start, self.start)

        notes: list[str] = []
        imported_days: list[date] | None = None
        if request.fills is not None:
            notes = self._import(request.fills, calendar)
            imported_days = [d.date for d in self.outcome.imported]

        dailies: list[date] = []
        if imported_days is not None:
            dailies = imported_days
        elif request.period is None:
            dailies = self._dates_to_report()
            if not dailies:
                self.emit(NothingToReport(self.start, self.end))
        self._regenerate(dailies, notes)

        stopped = any(result.error for _, result in self.outcome.reports)
        if request.period is not None and not stopped:
            anchors = dailies if imported_days is not None else self._dates_to_report()
            if not anchors:
                self.emit(NothingToReport(self.start, self.end, request.period))
            self._periods(request.period, anchors)
        return self.outcome

    def _dates_to_report(self) -> list[date]:
        config, day, start, end = self.config, self.request.day, self.start, self.end
        if day is not None:
            return [day]
        if start is not None:
            assert end is not None
            have = journal_dates(config) | report_dates(config)
            return sorted(d for d in have if start <= d <= end)
        latest = latest_data_date(config, until=self.today)
        if latest is None:
            raise UsageError(f"nothing to report: no journal in {config.journal_dir} and no daily report in "
                             f"{config.reports_dir / 'daily'}", hint="give a DATE, or run tradeday eod first")
        return [latest]

    def _import(self, fills: Path, calendar: MarketCalendar) -> list[str]:
        """Import the export as the journals of its days; return the notes for their reports."""
        config, request, day, start, end = self.config, self.request, self.request.day, self.start, self.end
        fmt = request.fills_format if request.fills_format is not None else guess_fills_format(fills)
        if fmt is None:
            raise UsageError(f"--fills: cannot tell the format of {fills}",
                             hint="pass --fills-format journal, kite-tradebook or ibkr-flex")
        wanted = [day] if day else ([start + timedelta(days=i) for i in range((end - start).days + 1)]
                                    if start and end else None)
        imported = import_fills_file(config, fills, fmt, calendar, dates=wanted, force=request.force)
        for w in imported.warnings:
            self.emit(ImportWarning(w))
        notes = [f"Fills imported from {fills.name} ({fmt})."] + imported.warnings
        currency = resolve_currency(config, calendar)
        if imported.currencies and currency not in imported.currencies:
            msg = (f"{fills.name} is in {', '.join(sorted(imported.currencies))} but the report currency is "
                   f"{currency}; set reports.currency")
            self.emit(ImportWarning(msg))
            notes.append(msg)
        for d in imported.days:
            self.outcome.imported.append(d)
            self.emit(DayImported(d))
        return notes

    def _show_steps(self, result: EodResult) -> None:
        for s in result.steps:
            if self.request.with_analytics or (s["status"] in _SHOWN_STATUSES and not s.get("earlier")):
                self.emit(StepShown(s))

    def _regenerate(self, dailies: list[date], notes: list[str]) -> None:
        """Each day's report in order; a day with bad data stops the rest (they carry from it)."""
        for d in dailies:
            result = regenerate_daily(self.config, d, mode=self.config.mode, carry=self.request.carry,
                                      with_analytics=self.request.with_analytics, notes=notes)
            self.outcome.reports.append((d, result))
            self._show_steps(result)
            self.outcome.exit_code = max(self.outcome.exit_code, int(result.exit_code))
            if result.error:
                # Later days carry this day's positions: nothing after it can be right.
                left = [x for x in dailies if x > d]
                self.emit(DailyStopped(d, result.error, left[0] if left else None))
                break
            self.emit(DailyWritten(d, result))

    def _periods(self, kind: str, anchors: list[date]) -> None:
        """The summary of each period the anchors fall in, once per period."""
        seen: set[str] = set()
        for anchor in anchors:
            label = period_bounds(kind, anchor)[0]
            if label in seen:
                continue
            seen.add(label)
            try:
                written = write_period(self.config, kind, anchor, mode=self.config.mode, carry=self.request.carry,
                                       until=self.today)
            except TradedayError as exc:
                # A damaged daily report or journal in the period: no summary from part of it.
                failed = PeriodFailed(kind=kind, label=label, error=str(exc))
                self.outcome.failed_period = failed
                self.emit(failed)
                self.outcome.exit_code = max(self.outcome.exit_code, int(exc.exit_code))
                break
            for _, r in written.regenerated:
                self._show_steps(r)
            self.outcome.exit_code = max(self.outcome.exit_code, written.exit_code)
            self.outcome.periods.append(written)
            self.emit(PeriodWritten(written))
