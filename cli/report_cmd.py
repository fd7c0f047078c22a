"""Regenerate daily reports (a date or a range), weekly/monthly summaries, import broker exports. Exit 0, 5 bad input or a failed step, 2 usage, 3 config invalid."""
from __future__ import annotations

import enum
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt

if TYPE_CHECKING:
    from session.config import TradedayConfig


class PeriodChoice(str, enum.Enum):
    week = "week"
    month = "month"


class FillsFormat(str, enum.Enum):
    journal = "journal"
    kite_tradebook = "kite-tradebook"
    ibkr_flex = "ibkr-flex"


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


def _dates_to_report(cfg: TradedayConfig, day: date | None, start: date | None, end: date | None) -> list[date]:
    from core.errors import UsageError
    from session.eod import journal_dates, latest_data_date, report_dates

    if day is not None:
        return [day]
    if start is not None:
        assert end is not None
        have = journal_dates(cfg) | report_dates(cfg)
        return sorted(d for d in have if start <= d <= end)
    latest = latest_data_date(cfg)
    if latest is None:
        raise UsageError(f"nothing to report: no journal in {cfg.journal_dir} and no daily report in "
                         f"{cfg.reports_dir / 'daily'}", hint="give a DATE, or run tradeday eod first")
    return [latest]


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
    from cli.common import err, load, out, parse_date, print_json, setup_logging
    from cli.eod_cmd import result_json, step_line
    from core.errors import TradedayError, UsageError
    from core.exitcodes import ExitCode
    from session.eod import (
        import_fills_file,
        load_calendar,
        period_bounds,
        regenerate_daily,
        resolve_currency,
        write_period,
    )

    setup_logging(log_level)
    day = parse_date(day_arg, "DATE") if day_arg else None
    start = parse_date(date_from, "--from") if date_from else None
    end = parse_date(date_to, "--to") if date_to else None
    if day is not None and (start or end):
        raise UsageError("give a DATE or --from/--to, not both")
    if end is not None and start is None:
        raise UsageError("--to needs --from", hint="e.g. --from 2026-11-16 --to 2026-11-20")
    if fills is None and (fills_format is not None or force):
        raise UsageError(f"{'--fills-format' if fills_format is not None else '--force'} goes with --fills FILE")
    if start is not None and end is not None and end < start:
        raise UsageError(f"--to {end} is before --from {start}")

    cfg = load(config)
    calendar = load_calendar(cfg)
    resolve_currency(cfg, calendar)  # exit 3 before anything is written
    if start is not None and end is None:
        from session.eod import latest_data_date

        end = max(latest_data_date(cfg) or start, start)

    data: dict[str, Any] = {"exit_code": 0, "imported": [], "reports": [], "periods": []}
    code = ExitCode.OK
    notes: list[str] = []
    imported_days: list[date] | None = None
    if fills is not None:
        fmt = fills_format.value if fills_format is not None else guess_fills_format(fills)
        if fmt is None:
            raise UsageError(f"--fills: cannot tell the format of {fills}",
                             hint="pass --fills-format journal, kite-tradebook or ibkr-flex")
        wanted = [day] if day else ([start + timedelta(days=i) for i in range((end - start).days + 1)]
                                    if start and end else None)
        imported = import_fills_file(cfg, fills, fmt, calendar, dates=wanted, force=force)
        for w in imported.warnings:
            err(f"warning: {w}")
        notes = [f"Fills imported from {fills.name} ({fmt})."] + imported.warnings
        currency = resolve_currency(cfg, calendar)
        if imported.currencies and currency not in imported.currencies:
            msg = (f"{fills.name} is in {', '.join(sorted(imported.currencies))} but the report currency is "
                   f"{currency}; set reports.currency")
            err(f"warning: {msg}")
            notes.append(msg)
        imported_days = []
        for d in imported.days:
            imported_days.append(d.date)
            data["imported"].append({"date": d.date.isoformat(), "journal": str(d.path), "fills": d.fills,
                                     "status": d.status, "backup": str(d.backup) if d.backup else None})
            if not json_out:
                kept = f"; the old journal is kept as {d.backup}" if d.backup else ""
                out(f"{d.date} imported {d.fills} fills into {d.path} ({d.status}{kept})")

    def show_steps(result: Any) -> None:
        if json_out:
            return
        for s in result.steps:
            if with_analytics or (s["status"] in ("failed", "timeout", "mismatch") and not s.get("earlier")):
                out(step_line(s))

    dailies: list[date] = []
    if imported_days is not None:
        dailies = imported_days
    elif period is None:
        dailies = _dates_to_report(cfg, day, start, end)
        if not dailies and not json_out:
            out(f"no journal or daily report between {start} and {end}; nothing to do")
    for d in dailies:
        result = regenerate_daily(cfg, d, mode=cfg.mode, carry=not no_carry, with_analytics=with_analytics,
                                  notes=notes)
        data["reports"].append(result_json(d, result))
        show_steps(result)
        code = max(code, result.exit_code)
        if result.error:
            # Later days carry this day's positions: nothing after it can be right.
            err(f"tradeday: error: {result.error}")
            left = [x for x in dailies if x > d]
            if left:
                err(f"tradeday: stopped before {left[0]}: later days carry positions from this one")
            break
        if not json_out:
            for kind, path in result.report_paths.items():
                out(f"{d} report ({kind}): {path}")

    stopped = any(r.get("error") for r in data["reports"])
    if period is not None and not stopped:
        anchors = dailies if imported_days is not None else _dates_to_report(cfg, day, start, end)
        if not anchors and not json_out:
            out(f"no journal or daily report between {start} and {end}; no {period.value} report written")
        seen: set[str] = set()
        for anchor in anchors:
            label = period_bounds(period.value, anchor)[0]
            if label in seen:
                continue
            seen.add(label)
            try:
                pres = write_period(cfg, period.value, anchor, mode=cfg.mode, carry=not no_carry)
            except TradedayError as exc:
                # A damaged daily report or journal in the period: no summary from part of it.
                err(f"tradeday: error: {label}: {exc}")
                data["periods"].append({"kind": period.value, "period": label, "error": str(exc)})
                code = max(code, exc.exit_code)
                break
            for _, r in pres.regenerated:
                show_steps(r)
            code = max(code, pres.exit_code)
            data["periods"].append({"kind": period.value, "period": pres.label,
                                    "days": [d.isoformat() for d in pres.days],
                                    "regenerated": [d.isoformat() for d, _ in pres.regenerated],
                                    "report": {k: str(v) for k, v in pres.paths.items()}})
            if not json_out:
                for d, r in pres.regenerated:
                    for kind, path in r.report_paths.items():
                        out(f"{d} report ({kind}): {path}")
                for kind, path in pres.paths.items():
                    out(f"{period.value} {pres.label} ({kind}): {path}")
    data["exit_code"] = int(code)
    if json_out:
        print_json(data)
    raise typer.Exit(int(code))
