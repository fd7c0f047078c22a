"""Show the exchange calendar: sessions, holidays, early closes, special sessions.

``tradeday calendar [--date D | --from A --to B] [--json]`` lists days;
``tradeday calendar import FILE`` loads an exchange's published list (docs/CALENDAR.md).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt, out, parse_date, print_json, print_table
from core.errors import UsageError

if TYPE_CHECKING:
    from session.calendar import CalendarImport, CalendarListing, SessionDay

DateOpt = Annotated[str | None, typer.Option("--date", help="A date YYYY-MM-DD (default: today, market time)")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First date of a range (YYYY-MM-DD)")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last date of a range (YYYY-MM-DD)")]
FileArg = Annotated[Path, typer.Argument(
    help="The exchange's list: a CSV (date,description[,open,close]) or NSE's holiday-master JSON",
    show_default=False)]
CalendarOpt = Annotated[str | None, typer.Option(
    "--calendar", help="Calendar the list is for (default: the config's market.calendar)", show_default=False)]

MAX_RANGE_DAYS = 3700  # ten years: enough for any real question, bounded for memory

app = typer.Typer(invoke_without_command=True, no_args_is_help=False)


@app.callback(invoke_without_command=True)
def calendar(
    ctx: typer.Context,
    config: ConfigOpt = None,
    day: DateOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Show the exchange calendar: sessions, holidays, early closes, special sessions.

    Without a subcommand: one day (--date, default today) or a range (--from/--to). `calendar import FILE` loads the exchange's published list of holidays and sessions.
    """
    if ctx.invoked_subcommand is not None:
        if day or start or end or json_out:
            raise UsageError(f"--date/--from/--to/--json go after `calendar {ctx.invoked_subcommand}`, or without it")
        ctx.obj = config  # `tradeday calendar -c X import FILE` means the same as `... import FILE -c X`
        return
    from cli.common import load
    from session.calendar import calendars_dir, list_sessions

    cfg = load(config)
    the_day, span = _parse_days(day, start, end)
    listing = list_sessions(cfg.market, day=the_day, span=span, calendars_dir=calendars_dir(cfg.root_dir))
    if json_out:
        print_json(listing.to_json())
    else:
        _render(listing)


@app.command("import")
def import_list(
    ctx: typer.Context,
    file: FileArg,
    calendar_name: CalendarOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Load an exchange's published holidays and special sessions into {root}/calendars/NAME.yaml.

    Each year the list covers becomes known, replacing what an earlier import said about that year. A row it cannot read, or a date that is both a holiday and a session, refuses the whole file (exit 3, naming file:line); a missing FILE or an unknown --calendar is exit 2.
    """
    from cli.common import load
    from session.calendar import import_calendar_file

    cfg = load(config if config is not None else ctx.obj)
    result = import_calendar_file(cfg, file, calendar_name)
    if json_out:
        print_json(result.to_json())
    else:
        _render_import(result)


def _parse_days(day: str | None, start: str | None, end: str | None) -> tuple[date | None, tuple[date, date] | None]:
    """(--date, (--from, --to)) as dates; at most one of them is given."""
    if day and (start or end):
        raise UsageError("give either --date or --from/--to, not both")
    if not (start or end):
        return (parse_date(day, "--date") if day else None), None
    if not (start and end):
        raise UsageError("--from and --to go together")
    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}")
    if (last - first).days > MAX_RANGE_DAYS:
        raise UsageError(f"range of {(last - first).days} days is too long; at most {MAX_RANGE_DAYS}")
    return None, (first, last)


def _session_text(d: SessionDay) -> str:
    if not d.known and d.special_session:
        return f"UNKNOWN ({d.special_session} announced; times not yet published)"
    if not d.known:
        return f"UNKNOWN (no holiday data for {d.date.year})"
    if d.special_session:
        return f"special: {d.special_session}"
    if d.is_trading_day:
        return "early close" if d.early_close else "open"
    if d.holiday:
        return "holiday"
    return "closed (weekend)" if d.date.weekday() >= 5 else "closed"


def _render(listing: CalendarListing) -> None:
    rows = [
        [
            d.date.isoformat(), d.date.strftime("%a"), _session_text(d),
            d.open.strftime("%H:%M") if d.open else "-",
            d.close.strftime("%H:%M") if d.close else "-",
            d.holiday or "",
        ]
        for d in listing.days
    ]
    print_table(f"{listing.calendar} ({listing.timezone})", ["date", "day", "session", "open", "close", "holiday"], rows)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _render_import(result: CalendarImport) -> None:
    listed = f"{_count(result.holidays, 'holiday')}, {_count(result.special_sessions, 'special session')}"
    years = ", ".join(str(y) for y in result.years)
    if not result.changed:
        out(f"{result.path}: no change; {result.source.name} ({listed} for {years}) is already imported")
    else:
        out(f"{result.path}: imported {result.source.name}: {listed}; years now known: {years}")
        if result.known_years != result.years:
            out(f"  the file holds {', '.join(str(y) for y in result.known_years)}")
        for label, lines in (("added", result.added), ("changed", result.updated), ("removed", result.removed)):
            for line in lines:
                out(f"  {label:<8} {line}")
    for note in result.notes:
        out(f"note: {note}")
