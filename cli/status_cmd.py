"""Show the state of today's (or a given day's) run, and whether its orchestrator is still alive."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt, out, print_json, print_table

if TYPE_CHECKING:
    from session.run_status import RunStatus


def status(
    config: ConfigOpt = None,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today, market time)")] = None,
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Show the state of today's (or a given day's) run, and whether its orchestrator is still alive."""
    from cli.common import load, parse_date
    from session.run_status import run_status

    cfg = load(config, record=False)
    result = run_status(cfg, parse_date(day, "--date") if day else None)
    if json_out:
        print_json(result.to_json())
    else:
        _render(result)


def _render(result: RunStatus) -> None:
    state = result.state
    if state is None:
        out(f"no run recorded for {result.date} ({result.path})")
        return
    orch = state.get("orchestrator", {})
    who = f"pid {orch.get('pid')} {'alive' if result.alive else 'not running'}"
    runs = result.runs
    which = f" run {len(runs)} of {len(runs)}" if len(runs) > 1 else ""
    out(f"{result.date} {state.get('calendar')} mode {state.get('mode')}{which}: phase {state.get('phase')} ({who})"
        + (f", exit {state['exit_code']}" if state.get("exit_code") is not None else ""))
    for run in runs[:-1]:
        code = run.get("exit_code")
        out(f"  earlier: run {run.get('run')} pid {(run.get('orchestrator') or {}).get('pid')} "
            f"started {run.get('started_at')}: phase {run.get('phase')}"
            + (f", exit {code}" if code is not None else ", did not finish"))
    if result.stale:
        out(f"STALE: the recorded orchestrator (pid {orch.get('pid')}) is gone but the run never finished; "
            "engines may need checking")
    rows = [[e.get("name", ""), str(e.get("state", "")), str(e.get("pid") or "-"), str(e.get("restarts", 0)),
             "" if e.get("exit_code") is None else str(e.get("exit_code")), str(e.get("fatal_reason") or "")]
            for e in state.get("engines", [])]
    if rows:
        print_table(None, ["engine", "state", "pid", "restarts", "exit", "note"], rows)
