"""The end of day by hand: analytics, backtest, fills, reconciliation, the daily report. Exit 0, 5 a step failed, 3 config invalid."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt, ModeOpt, parse_date


def step_line(step: dict[str, Any]) -> str:
    """``analytics  ok        1.2s  exit code 0; wrote ...``: one plain line per step."""
    from core.redact import GLOBAL_REDACTOR

    duration = step.get("duration_s")
    took = f"{duration:.1f}s" if isinstance(duration, (int, float)) else "-"
    earlier = " (recorded by the run)" if step.get("earlier") else ""
    return GLOBAL_REDACTOR(f"{step['name']:<10} {step['status']:<8} {took:>7}  {step.get('message') or ''}{earlier}")


def result_json(day: date, result: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "date": day.isoformat(),
        "exit_code": result.exit_code,
        "report": {kind: str(path) for kind, path in result.report_paths.items()},
        "steps": [dict(s) for s in result.steps],
        "summary": result.summary,
    }
    if result.error:
        data["error"] = result.error
    return data


def eod(
    config: ConfigOpt = None,
    day: Annotated[str | None, typer.Option("--date", help="Session date YYYY-MM-DD (default: today in market time)",
                                               show_default=False)] = None,
    mode: ModeOpt = None,
    no_analytics: Annotated[bool, typer.Option("--no-analytics", help="Skip the analytics step")] = False,
    no_backtest: Annotated[bool, typer.Option("--no-backtest", help="Skip the backtest step")] = False,
    no_carry: Annotated[bool, typer.Option("--no-carry", help="Start flat: do not carry the previous report's open positions")] = False,
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """The end of day by hand: analytics, backtest, fills, reconciliation, the daily report. Exit 0, 5 a step failed, 3 config invalid."""
    from cli.common import err, load, out, print_json, setup_logging
    from session.eod import EodOptions, load_calendar, resolve_currency, run_eod
    from session.modes import resolve_mode

    setup_logging(log_level)
    asked = parse_date(day, "--date") if day else None
    cfg = load(config)
    effective = resolve_mode(cfg.mode, mode.value if mode else None, require_confirmation=False,
                             config_label=str(cfg.path))
    # Config problems (calendar, currency) exit 3 here, before any step runs.
    calendar = load_calendar(cfg)
    resolve_currency(cfg, calendar)
    session_date = asked or calendar.today()
    setup_logging(log_level, cfg.logs_dir / session_date.isoformat() / "tradeday.log")

    hub = None
    if cfg.notifications.enabled:
        from session.notify import NotificationHub

        hub = NotificationHub(cfg.notifications, cfg.outbox_path)
        hub.drain_outbox()  # what earlier commands could not deliver goes out now
    try:
        if not json_out:
            out(f"end of day {session_date} ({effective}, {calendar.name})")
        options = EodOptions(mode=effective, analytics=not no_analytics, backtest=not no_backtest,
                             carry=not no_carry, on_step=None if json_out else (lambda s: out(step_line(s))))
        result = run_eod(cfg, session_date, options, hub=hub)
    finally:
        if hub is not None:
            hub.close(cfg.notifications.flush_timeout)
    if json_out:
        print_json(result_json(session_date, result))
    else:
        for kind, path in result.report_paths.items():
            out(f"report ({kind}): {path}")
    if result.error:
        err(f"tradeday: error: {result.error}")
    elif result.exit_code:
        failed = ", ".join(s["name"] for s in result.steps if s["status"] in ("failed", "timeout") and not s.get("earlier"))
        err(f"tradeday: end of day {session_date}: {failed} failed; the report records it")
    raise typer.Exit(result.exit_code)
