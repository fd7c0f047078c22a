"""Show the state of today's (or a given day's) run, and whether its orchestrator is still alive."""
from __future__ import annotations

from typing import Annotated

import typer

from cli.common import ConfigOpt, JsonOpt, out, print_json, print_table


def status(
    config: ConfigOpt = None,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today, market time)")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the state of today's (or a given day's) run, and whether its orchestrator is still alive."""
    from datetime import datetime

    from cli.common import load, parse_date
    from session.calendar import MarketCalendar
    from session.state import orchestrator_alive, read_state, state_path

    cfg = load(config, record=False)
    the_day = parse_date(day, "--date") if day else MarketCalendar.from_market_config(cfg.market).today(
        datetime.now().astimezone())
    path = state_path(cfg.artifacts_dir, the_day)
    state = read_state(path)
    if state is None:
        if json_out:
            print_json({"date": the_day.isoformat(), "state": None, "alive": False, "stale": False})
        else:
            out(f"no run recorded for {the_day} ({path})")
        raise typer.Exit(0)
    alive = orchestrator_alive(state)
    finished = state.get("phase") in ("DONE", "ERROR")
    stale = not alive and not finished
    if json_out:
        print_json({"date": the_day.isoformat(), "state": state, "alive": alive, "stale": stale})
        raise typer.Exit(0)
    orch = state.get("orchestrator", {})
    who = f"pid {orch.get('pid')} {'alive' if alive else 'not running'}"
    out(f"{the_day} {state.get('calendar')} mode {state.get('mode')}: phase {state.get('phase')} ({who})"
        + (f", exit {state['exit_code']}" if state.get("exit_code") is not None else ""))
    if stale:
        out(f"STALE: the recorded orchestrator (pid {orch.get('pid')}) is gone but the run never finished; "
            "engines may need checking")
    rows = [[e.get("name", ""), str(e.get("state", "")), str(e.get("pid") or "-"), str(e.get("restarts", 0)),
             "" if e.get("exit_code") is None else str(e.get("exit_code")), str(e.get("fatal_reason") or "")]
            for e in state.get("engines", [])]
    if rows:
        print_table(None, ["engine", "state", "pid", "restarts", "exit", "note"], rows)
