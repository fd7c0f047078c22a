"""Stop, start or restart one engine of the day's running `tradeday run` (over its control socket).

Exit 0 done; 2 unknown engine, or a live run's start without --confirm-live; 4 the engine cannot start; 7 no run in progress for the date (or its engines are not trading now); 1 refused (another user).
"""
from __future__ import annotations

from typing import Annotated

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The engine's name (as in engines: of the config)",
                                        show_default=False)]
DateOpt = Annotated[str | None, typer.Option(
    "--date", help="Session date YYYY-MM-DD (default: today in the market's time zone)", show_default=False)]
ConfirmLiveOpt = Annotated[bool, typer.Option("--confirm-live", help="Needed to start an engine of a live run")]


def _act(action: str, name: str, config: ConfigOpt, day: str | None, confirm_live: bool, json_out: bool) -> None:
    from cli.common import err, load, out, parse_date, print_json
    from session.control import engine_control

    asked = parse_date(day, "--date") if day else None
    outcome = engine_control(load(config), action, name, asked, confirm_live=confirm_live)
    if json_out:
        print_json(outcome.to_json())
    elif outcome.exit_code == 0:
        out(outcome.message)
    else:
        err(f"tradeday: error: {outcome.message}")
    raise typer.Exit(outcome.exit_code)


@app.command("stop")
def stop(name: NameArg, config: ConfigOpt = None, day: DateOpt = None, json_out: JsonOpt = False,
         log_level: LogLevelOpt = LogLevel.WARNING) -> None:
    """Stop engine NAME gracefully (its whole process group) and keep it stopped for the rest of the session."""
    _act("stop", name, config, day, False, json_out)


@app.command("start")
def start(name: NameArg, config: ConfigOpt = None, day: DateOpt = None, confirm_live: ConfirmLiveOpt = False,
          json_out: JsonOpt = False, log_level: LogLevelOpt = LogLevel.WARNING) -> None:
    """Start engine NAME again (stopped by `engine stop`, or EXITED/FATAL); not counted against max_restarts."""
    _act("start", name, config, day, confirm_live, json_out)


@app.command("restart")
def restart(name: NameArg, config: ConfigOpt = None, day: DateOpt = None, confirm_live: ConfirmLiveOpt = False,
            json_out: JsonOpt = False, log_level: LogLevelOpt = LogLevel.WARNING) -> None:
    """Stop engine NAME gracefully, then start it again; not counted against max_restarts."""
    _act("restart", name, config, day, confirm_live, json_out)
