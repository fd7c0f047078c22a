"""Show today's (or a given day's) run: phase, when the engines start and stop, each engine, and the PnL so far.

--watch refreshes every 2 s until Ctrl+C (exit 0): in place on a terminal; without one, one snapshot per refresh, separated by a blank line. Exit 1 when the day's state file is damaged, 3 config invalid.
"""
from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt, out, print_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from session.run_status import RunStatus

WATCH_SECONDS = 2.0
WatchOpt = Annotated[bool, typer.Option("--watch", "-w", help="Refresh every 2 s until Ctrl+C")]


def status(
    config: ConfigOpt = None,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today, market time)")] = None,
    watch: WatchOpt = False,
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Show today's (or a given day's) run: phase, when the engines start and stop, each engine, and the PnL so far."""
    from cli.common import load, parse_date
    from session.run_status import run_status

    cfg = load(config, record=False, snapshot=True)
    result = run_status(cfg, parse_date(day, "--date") if day else None)
    if not watch:
        _print(result, json_out)
        return
    try:
        _watch(result, lambda prev: run_status(cfg, prev.date, journal=prev.journal), json_out)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def _watch(first: RunStatus, refresh: Callable[[RunStatus], RunStatus], json_out: bool) -> None:
    """In place on a terminal (rich Live); otherwise one snapshot per refresh (pipes, logs)."""
    result = first
    if sys.stdout.isatty() and not json_out:
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        with Live(Text("\n".join(_lines(result))), console=Console(), auto_refresh=False) as live:
            while True:
                time.sleep(WATCH_SECONDS)
                result = refresh(result)
                live.update(Text("\n".join(_lines(result))), refresh=True)
    while True:
        _print(result, json_out)
        out("")
        sys.stdout.flush()
        time.sleep(WATCH_SECONDS)
        result = refresh(result)


def _print(result: RunStatus, json_out: bool) -> None:
    if json_out:
        print_json(result.to_json())
    else:
        out("\n".join(_lines(result)))


def _lines(result: RunStatus) -> list[str]:
    from core.redact import GLOBAL_REDACTOR

    lines: list[str] = []
    state = result.state
    if state is None:
        lines.append(f"no run recorded for {result.date} ({result.path})")
    else:
        orch = state.get("orchestrator", {})
        who = f"pid {orch.get('pid')} {'alive' if result.alive else 'not running'}"
        runs = result.runs
        which = f" run {len(runs)} of {len(runs)}" if len(runs) > 1 else ""
        lines.append(f"{result.date} {state.get('calendar')} mode {state.get('mode')}{which}: phase "
                     f"{state.get('phase')} ({who})"
                     + (f", exit {state['exit_code']}" if state.get("exit_code") is not None else ""))
        if result.engines_start or result.engines_stop:
            lines.append(f"engines start {result.engines_start or '-'}, stop {result.engines_stop or '-'}")
        for run in runs[:-1]:
            code = run.get("exit_code")
            lines.append(f"  earlier: run {run.get('run')} pid {(run.get('orchestrator') or {}).get('pid')} "
                         f"started {run.get('started_at')}: phase {run.get('phase')}"
                         + (f", exit {code}" if code is not None else ", did not finish"))
        if result.stale:
            lines.append(f"STALE: the recorded orchestrator (pid {orch.get('pid')}) is gone but the run never "
                         "finished; engines may need checking")
        if state.get("loss_limit"):
            hit = state["loss_limit"]
            lines.append(f"LOSS LIMIT reached at {hit.get('at')}: realized {hit.get('realized_pnl')} "
                         f"(limit -{hit.get('limit')}); engines stopped for the day")
    lines.extend(_pnl_lines(result.pnl))
    lines.extend(_engine_lines(result))
    return [GLOBAL_REDACTOR(line) for line in lines]


def _pnl_lines(pnl: dict[str, Any] | None) -> list[str]:
    if pnl is None:
        return []
    if pnl.get("error"):
        return [f"pnl: {pnl['error']}"]
    if not pnl.get("exists"):
        return ["pnl: no fills journal yet"]
    currency = pnl.get("currency") or ""
    limit = f" (loss limit -{pnl['max_daily_loss']})" if pnl.get("max_daily_loss") else ""
    lines = [f"pnl: realized {pnl['realized_pnl']:.2f} {currency} after fees {pnl['fees']}{limit}; "
             f"{pnl['fills']} fills, {pnl['trades']} trades, {pnl['open_positions']} open positions"
             + (f" (carried from {pnl['carried_from']})" if pnl.get("carried_from") else "")]
    if pnl.get("problems"):
        lines.append(f"pnl: {pnl['problems']} journal rows the report would refuse, skipped; first: "
                     f"{pnl['problem_lines'][0]}")
    if pnl.get("note"):
        lines.append(f"pnl: {pnl['note']}")
    return lines


def _engine_lines(result: RunStatus) -> list[str]:
    if not result.engines:
        return []
    rows = []
    for e in result.engines:
        uptime = e.get("uptime_s")
        rows.append([str(e.get("name", "")), str(e.get("state", "")), str(e.get("pid") or "-"),
                     _duration(uptime) if uptime else "-", str(e.get("restarts", 0)),
                     "" if e.get("exit_code") is None else str(e.get("exit_code")),
                     str(e.get("reason") or e.get("fatal_reason") or ""), str(e.get("last_line") or "")])
    header = ["engine", "state", "pid", "uptime", "restarts", "exit", "note", "last line"]
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    return ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in [header, *rows]]


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"

