"""The trading session a daily report describes: what ``tradeday run`` (or its state file) says ran."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from core.exitcodes import ExitCode

if TYPE_CHECKING:
    from session.config import TradedayConfig


def report_session(info: Mapping[str, Any]) -> dict[str, Any]:
    """``{status, engines: [EngineStatus.to_json()], runs: [state-file runs]}`` (or an earlier
    report's session) -> the report's ``{status, engines: [{name, starts, restarts, final_state,
    exit_code, runtime_s}], runs: [{run, pid, started_at, ended_at, phase, exit_code, engines}]}``
    (``runs``: every ``tradeday run`` of the date, when the state file recorded them)."""
    session: dict[str, Any] = {"status": info.get("status"), "engines": _report_engines(info.get("engines"))}
    runs = [r for r in info.get("runs") or [] if isinstance(r, Mapping)]
    if runs:
        session["runs"] = [{
            "run": r.get("run"),
            "pid": r.get("pid", (r.get("orchestrator") or {}).get("pid")),
            "started_at": r.get("started_at"),
            "ended_at": r.get("ended_at"),
            "phase": r.get("phase"),
            "exit_code": r.get("exit_code"),
            "engines": _report_engines(r.get("engines")),
        } for r in runs]
    return session


def _report_engines(items: Any) -> list[dict[str, Any]]:
    engines = []
    for e in items or []:
        if not isinstance(e, Mapping):
            continue
        exit_code = e.get("exit_code")
        if exit_code is None:
            exit_code = e.get("last_exit_code")
        engines.append({
            "name": e.get("name"),
            "starts": e.get("starts"),
            "restarts": e.get("restarts"),
            "final_state": e.get("final_state") or e.get("state"),
            "exit_code": exit_code,
            "runtime_s": e.get("runtime_s"),
        })
    return engines


def session_from_state_file(config: TradedayConfig, day: date) -> dict[str, Any] | None:
    """What ``tradeday run`` recorded for the day in its state file, if it started engines
    (e.g. a run interrupted before its end of day, finished by hand with ``tradeday eod``)."""
    from session.state import orchestrator_alive, read_state, state_path

    try:
        state = read_state(state_path(config.artifacts_dir, day))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or not state.get("engines"):
        return None
    code = state.get("exit_code")
    phase = str(state.get("phase") or "")
    if code in (ExitCode.SIGINT, ExitCode.SIGTERM):
        status = "interrupted"
    elif phase in ("DONE", "EOD"):
        status = "completed"
    elif orchestrator_alive(state):
        status = phase.lower() or "running"
    else:
        status = "aborted"  # the run died (SIGKILL, crash) before it finished
    return report_session({"status": status, "engines": state.get("engines"), "runs": state.get("runs")})
