"""The end of day by hand: analytics, backtest, fills, reconciliation, the daily report. Exit 0, 5 a step failed, 3 config invalid."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt, ModeOpt, parse_date

if TYPE_CHECKING:
    from session.eod import EodOutcome, EodStart


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
    from cli.common import load, setup_logging
    from cli.run_console import RunConsole
    from session.eod import EodRequest, run_eod_by_hand
    from session.run_summary import RunObserver, step_outcome

    setup_logging(log_level)
    asked = parse_date(day, "--date") if day else None
    cfg = load(config)
    request = EodRequest(day=asked, mode=mode.value if mode else None, analytics=not no_analytics,
                         backtest=not no_backtest, carry=not no_carry, log_level=log_level.value)

    # Progress: a line as each step starts and ends (a spinner on a terminal), then the summary.
    console = RunObserver() if json_out else RunConsole(tty=sys.stdout.isatty())

    def started(start: EodStart) -> None:
        console.eod_started(start.date)

    from session.supervisor.signals import Interrupted

    try:
        outcome = run_eod_by_hand(cfg, request, on_start=started, on_step_start=console.eod_step_started,
                                  on_step=lambda s: console.eod_step_finished(step_outcome(s)))
    except Interrupted as exc:  # SIGTERM/SIGINT/SIGHUP: the step's processes are stopped
        from cli.common import err

        console.close()
        err(f"tradeday: {exc}; its processes were stopped and no report was written")
        raise typer.Exit(exc.exit_code) from None
    finally:
        console.close()
    if not json_out:
        console.finished(outcome.summary())
    _print_outcome(outcome, json_out)
    raise typer.Exit(outcome.exit_code)


def _print_outcome(outcome: EodOutcome, json_out: bool) -> None:
    from cli.common import err, print_json

    result = outcome.result
    if json_out:
        print_json(outcome.to_json())  # (without --json the summary block named the report files)
    if result.error:
        err(f"tradeday: error: {result.error}")
    elif result.exit_code:
        failed = ", ".join(result.failed_step_names())
        err(f"tradeday: end of day {outcome.date}: {failed} failed; the report records it")
