"""Show the exchange calendar: sessions, holidays, early closes, special sessions."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from cli.common import ConfigOpt, JsonOpt, parse_date, print_json, print_table
from core.errors import UsageError

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
    from session.calendar import MarketCalendar

    cfg = load(config)
    cal = MarketCalendar.from_market_config(cfg.market)
    if day and (start or end):
        raise UsageError("give either --date or --from/--to, not both")
    if start or end:
        if not (start and end):
            raise UsageError("--from and --to go together")
        first, last = parse_date(start, "--from"), parse_date(end, "--to")
        if last < first:
            raise UsageError(f"--to {last} is before --from {first}")
        if (last - first).days > MAX_RANGE_DAYS:
            raise UsageError(f"range of {(last - first).days} days is too long; at most {MAX_RANGE_DAYS}")
        days = cal.sessions(first, last)
        if json_out:
            print_json([d.to_json() for d in days])
            return
    else:
        the_day = parse_date(day, "--date") if day else cal.today(datetime.now().astimezone())
        days = [cal.session(the_day)]
        if json_out:
            print_json(days[0].to_json())
            return
    rows = []
    for d in days:
        if not d.known and d.special_session:
            status = f"UNKNOWN ({d.special_session} announced; times not yet published)"
        elif not d.known:
            status = "UNKNOWN (no holiday data for this year)"
        elif d.special_session:
            status = f"special: {d.special_session}"
        elif d.is_trading_day:
            status = "early close" if d.early_close else "open"
        elif d.holiday:
            status = "holiday"
        else:
            status = "closed (weekend)" if d.date.weekday() >= 5 else "closed"
        rows.append([
            d.date.isoformat(), d.date.strftime("%a"), status,
            d.open.strftime("%H:%M") if d.open else "-",
            d.close.strftime("%H:%M") if d.close else "-",
            d.holiday or "",
        ])
    print_table(f"{cal.name} ({cal.timezone})", ["date", "day", "session", "open", "close", "holiday"], rows)
