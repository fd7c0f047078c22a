"""Run the trading day: prechecks, wait for the open, supervise the engines, stop at the close, end of day."""
from __future__ import annotations

from typing import Annotated

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt, ModeOpt


def run(
    ctx: typer.Context,
    config: ConfigOpt = None,
    mode: ModeOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Prechecks only; print the precheck report")] = False,
    no_analytics: Annotated[bool, typer.Option("--no-analytics", help="End of day without the analytics step")] = False,
    no_backtest: Annotated[bool, typer.Option("--no-backtest", help="End of day without the backtest step")] = False,
    no_eod: Annotated[bool, typer.Option("--no-eod", help="Skip the end of day")] = False,
    start_now: Annotated[bool, typer.Option("--start-now", help="Do not wait for the calendar; start now")] = False,
    duration: Annotated[str | None, typer.Option("--duration", help="Bound the session, e.g. 30s, 5m")] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", help="Print only warnings and errors (cron mails any output); engine output, INFO lines "
                        "and report paths go to the logs")] = False,
    confirm_live: Annotated[bool, typer.Option("--confirm-live", help="Required to trade live")] = False,
    forever: Annotated[bool, typer.Option("--forever", help="After a session, sleep until the next one")] = False,
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.INFO,
) -> None:
    """Run the trading day: prechecks, wait for the open, supervise the engines, stop at the close, end of day."""
    from cli.common import load, setup_logging
    from cli.run_console import make_run_console
    from core.durations import parse_duration
    from core.errors import UsageError
    from session.day import DayRun, RunOptions
    from session.modes import resolve_mode

    setup_logging(log_level)
    if quiet:
        from core.logsetup import quiet_console

        quiet_console()  # WARNING and above still print: cron mails only what needs a person
    seconds = None
    if duration is not None:
        try:
            seconds = parse_duration(duration)
        except ValueError as exc:
            raise UsageError(f"--duration: {exc}") from None
        if seconds <= 0:
            raise UsageError("--duration must be more than 0s")
    cfg = load(config)
    effective = resolve_mode(cfg.mode, mode.value if mode else None, confirm_live=confirm_live,
                             require_confirmation=not dry_run, config_label=str(cfg.path))
    console = make_run_console(quiet=quiet, as_json=json_out)
    if getattr(console, "tty", False) and _log_level_defaulted(ctx):
        from core.logsetup import console_shows_progress

        console_shows_progress()  # the console says it; INFO lines still go to tradeday.log
    options = RunOptions(mode=effective, dry_run=dry_run, no_analytics=no_analytics, no_backtest=no_backtest,
                         no_eod=no_eod, start_now=start_now, duration=seconds, quiet=quiet, forever=forever,
                         as_json=json_out, log_level=log_level.value, console=console)
    try:
        code = DayRun(cfg, options).run()
    finally:
        console.close()
    raise typer.Exit(code)


def _log_level_defaulted(ctx: typer.Context) -> bool:
    """--log-level not given: on a terminal the run's console replaces the INFO lines on stderr."""
    source = ctx.get_parameter_source("log_level")  # typer's vendored click: compare by name
    return source is None or source.name in ("DEFAULT", "DEFAULT_MAP")
