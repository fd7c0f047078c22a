"""Weekly and monthly summaries, from the period's daily reports."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EodError, UsageError
from session.eod.contract import EodResult, StepRecord
from session.eod.paths import daily_report_path
from session.eod.regenerate import regenerate_daily
from session.eod.store import journal_dates, read_json_report, report_dates

if TYPE_CHECKING:
    from session.config import TradedayConfig

log = logging.getLogger("tradeday.eod")


def period_bounds(kind: str, day: date) -> tuple[str, date, date]:
    """(label, first day, last day) of the ISO week (``2026-W47``) or month (``2026-11``)."""
    if kind == "week":
        year, week, weekday = day.isocalendar()
        start = day - timedelta(days=weekday - 1)
        return f"{year}-W{week:02d}", start, start + timedelta(days=6)
    if kind == "month":
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return f"{day:%Y-%m}", start, following - timedelta(days=1)
    raise UsageError(f"--period: {kind!r} must be week or month")


@dataclass
class PeriodResult:
    kind: str
    label: str
    paths: dict[str, Path]
    days: list[date]  # the days whose daily reports it sums
    regenerated: list[tuple[date, EodResult]]  # daily reports it had to write first

    @property
    def exit_code(self) -> int:
        return max([r.exit_code for _, r in self.regenerated], default=0)

    def to_json(self) -> dict[str, Any]:
        """``{kind, period, days, regenerated, report}``: what ``tradeday report --json`` lists."""
        return {"kind": self.kind, "period": self.label,
                "days": [d.isoformat() for d in self.days],
                "regenerated": [d.isoformat() for d, _ in self.regenerated],
                "report": {k: str(v) for k, v in self.paths.items()}}


def write_period(config: TradedayConfig, kind: str, day: date, *, mode: str, carry: bool = True,
                 on_step: Callable[[StepRecord], None] | None = None, until: date | None = None) -> PeriodResult:
    """The weekly/monthly summary of the period containing ``day``, from its daily JSON
    reports; days with a journal but no report get their daily report written first.
    Days after ``until`` (the market's today) are left out: they have not happened.

    Raises EodError when a day's data is bad (no summary is written from part of a period).
    """
    from reports.render import build_period_report, write_period_report

    label, start, end = period_bounds(kind, day)
    have_reports = report_dates(config)
    have_journals = journal_dates(config)
    regenerated: list[tuple[date, EodResult]] = []
    docs = []
    days = []
    d = start
    last = min(end, until) if until is not None else end
    while d <= last:
        if d not in have_reports and d in have_journals:
            result = regenerate_daily(config, d, mode=mode, carry=carry, on_step=on_step)
            regenerated.append((d, result))
            if result.error:
                raise EodError(f"{d}: {result.error}")
        path = daily_report_path(config, d)
        if path.is_file():
            docs.append(read_json_report(path))
            days.append(d)
        d += timedelta(days=1)
    doc = build_period_report(docs, label)
    folder = config.reports_dir / ("weekly" if kind == "week" else "monthly")
    templates = config.resolve(config.reports.templates_dir) if config.reports.templates_dir else None
    written = write_period_report(doc, folder / f"{label}.md", json_path=folder / f"{label}.json",
                                  templates_dir=templates, chart=config.reports.chart)
    paths = {"json": written["json"], "md": written["markdown"]}
    if "chart" in written:
        paths["chart"] = written["chart"]
    log.info("%s report %s: %d daily report(s); %s", kind, label, len(docs), paths["md"])
    return PeriodResult(kind=kind, label=label, paths=paths, days=days, regenerated=regenerated)
