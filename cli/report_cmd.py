"""Regenerate daily reports (a date or a range), weekly/monthly summaries, import broker exports. Exit 0, 5 bad input or a failed step, 2 usage, 3 config invalid."""
from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt

if TYPE_CHECKING:
    from session.eod import ReportEvent


class PeriodChoice(str, enum.Enum):
    week = "week"
    month = "month"


class FillsFormat(str, enum.Enum):
    journal = "journal"
    kite_tradebook = "kite-tradebook"
    ibkr_flex = "ibkr-flex"


def report(
    day_arg: Annotated[str | None, typer.Argument(metavar="[DATE]", help="Session date YYYY-MM-DD (default: the latest with a journal or report)",
                                                     show_default=False)] = None,
    config: ConfigOpt = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First date of a range (YYYY-MM-DD)")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last date of a range (default: the latest with data)")] = None,
    period: Annotated[PeriodChoice | None, typer.Option("--period", help="Write the weekly or monthly summary of the period containing DATE")] = None,
    fills: Annotated[Path | None, typer.Option("--fills", help="Import a broker export (or a journal file) as the journal of DATE (or of each day in it)")] = None,
    fills_format: Annotated[FillsFormat | None, typer.Option("--fills-format", help="Format of --fills (default: detected from its header)")] = None,
    force: Annotated[bool, typer.Option("--force", help="With --fills: replace an existing journal (the old one is kept as *.replaced-<time>)")] = False,
    with_analytics: Annotated[bool, typer.Option("--with-analytics", help="Also re-run the analytics and backtest hooks")] = False,
    no_carry: Annotated[bool, typer.Option("--no-carry", help="Start each day flat: do not carry the previous report's open positions")] = False,
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Regenerate daily reports (a date or a range), weekly/monthly summaries, import broker exports. Exit 0, 5 bad input or a failed step, 2 usage, 3 config invalid."""
    from cli.common import load, parse_date, print_json, setup_logging
    from session.eod import ReportRequest, run_report

    setup_logging(log_level)
    # Usage errors (exit 2) come before the config is read.
    request = ReportRequest(
        day=parse_date(day_arg, "DATE") if day_arg else None,
        start=parse_date(date_from, "--from") if date_from else None,
        end=parse_date(date_to, "--to") if date_to else None,
        period=period.value if period is not None else None,
        fills=fills,
        fills_format=fills_format.value if fills_format is not None else None,
        force=force, with_analytics=with_analytics, carry=not no_carry,
    )
    cfg = load(config)
    from session.supervisor.signals import Interrupted, interrupt_on_stop_signals

    try:
        # A stop signal stops the step that runs (a hook's process group included): exit 128 + it.
        with interrupt_on_stop_signals():
            outcome = run_report(cfg, request, on_event=lambda event: _print_event(event, json_out))
    except Interrupted as exc:
        from cli.common import err

        err(f"tradeday: {exc}; its processes were stopped and the report of that day was not written")
        raise typer.Exit(exc.exit_code) from None
    if json_out:
        print_json(outcome.to_json())
    raise typer.Exit(outcome.exit_code)


def _print_event(event: ReportEvent, json_out: bool) -> None:
    """Problems go to stderr (also with --json); progress lines to stdout (not with --json)."""
    if not _print_problem(event) and not json_out:
        _print_progress(event)


def _print_problem(event: ReportEvent) -> bool:
    """Print the event on stderr if it is a warning or an error; False if it is neither."""
    from cli.common import err
    from session.eod import DailyStopped, ImportWarning, PeriodFailed

    if isinstance(event, ImportWarning):
        err(f"warning: {event.message}")
    elif isinstance(event, DailyStopped):
        err(f"tradeday: error: {event.error}")
        if event.next_day is not None:
            err(f"tradeday: stopped before {event.next_day}: later days carry positions from this one")
    elif isinstance(event, PeriodFailed):
        err(f"tradeday: error: {event.label}: {event.error}")
    else:
        return False
    return True


def _print_progress(event: ReportEvent) -> None:
    from cli.common import out, step_line
    from session.eod import DailyWritten, DayImported, NothingToReport, PeriodWritten, StepShown

    if isinstance(event, DayImported):
        imported = event.day
        kept = f"; the old journal is kept as {imported.backup}" if imported.backup else ""
        out(f"{imported.date} imported {imported.fills} fills into {imported.path} ({imported.status}{kept})")
    elif isinstance(event, StepShown):
        out(step_line(event.step))
    elif isinstance(event, NothingToReport):
        outcome = "nothing to do" if event.period is None else f"no {event.period} report written"
        out(f"no journal or daily report between {event.start} and {event.end}; {outcome}")
    elif isinstance(event, DailyWritten):
        for kind, path in event.result.report_paths.items():
            out(f"{event.day} report ({kind}): {path}")
    elif isinstance(event, PeriodWritten):
        written = event.result
        for d, r in written.regenerated:
            for kind, path in r.report_paths.items():
                out(f"{d} report ({kind}): {path}")
        for kind, path in written.paths.items():
            out(f"{written.kind} {written.label} ({kind}): {path}")
