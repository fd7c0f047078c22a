"""Show the exchange calendar: sessions, holidays, early closes, special sessions."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import ConfigOpt, JsonOpt, parse_date, print_json, print_table
from core.errors import UsageError

if TYPE_CHECKING:
    from session.calendar import CalendarListing, SessionDay

DateOpt = Annotated[str | None, typer.Option("--date", help="A date YYYY-MM-DD (default: today, market time)")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First date of a range (YYYY-MM-DD)")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last date of a range (YYYY-MM-DD)")]

MAX_RANGE_DAYS = 3700  # ten years: enough for any real question, bounded for memory


def calendar(
    config: ConfigOpt = None,
    day: DateOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the exchange calendar: sessions, holidays, early closes, special sessions."""
    from cli.common import load
    from session.calendar import list_sessions

    cfg = load(config)
    the_day, span = _parse_days(day, start, end)
    listing = list_sessions(cfg.market, day=the_day, span=span)
    if json_out:
        print_json(listing.to_json())
    else:
        _render(listing)


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
        return "UNKNOWN (no holiday data for this year)"
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
