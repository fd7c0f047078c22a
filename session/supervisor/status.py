"""EngineStatus: a snapshot of one engine, for the state file, the heartbeat line and the report."""
from __future__ import annotations

import signal
import time
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import psutil

from session.supervisor.runs import EngineRecord, EngineRun
from session.supervisor.states import FINISHED_STATES, EngineState


@dataclass
class EngineStatus:
    """A snapshot of one engine, for the state file, the heartbeat line and the report."""

    name: str
    state: EngineState
    pid: int | None  # of the current start, None when not running
    starts: int
    restarts: int
    exit_code: int | None  # the final exit once EXITED/FATAL/STOPPED; negative = killed by that signal
    last_exit_code: int | None  # the most recent exit of any start
    started_at: datetime | None  # the current (or last) start
    stopped_at: datetime | None  # the last exit
    uptime_s: float  # of the current start, 0 when not running
    rss_bytes: int | None  # whole process tree; None unless measured (snapshot())
    cpu_percent: float | None
    lines_total: int
    lines_since_heartbeat: int
    runtime_s: float  # all starts of the session together
    fatal_reason: str | None  # why FATAL
    failure: str | None = None  # why this engine makes the run fail (exit 4); None if it does not
    reason: str | None = None  # why it is STOPPED: "stopped by operator", "loss limit", the close...

    def heartbeat_text(self) -> str:
        """``demo=RUNNING pid=123 up=60s restarts=0 rss=41MB cpu=3% lines=120``: its part of tradeday's heartbeat."""
        rss = f"{self.rss_bytes / 1024**2:.0f}MB" if self.rss_bytes else "-"
        return (f"{self.name}={self.state} pid={self.pid or '-'} up={int(self.uptime_s or 0)}s "
                f"restarts={self.restarts} rss={rss} cpu={self.cpu_percent or 0:.0f}% lines={self.lines_since_heartbeat}")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat(timespec="milliseconds")
            elif isinstance(value, EngineState):
                value = value.value
            elif isinstance(value, float):
                value = round(value, 3)
            out[f.name] = value
        return out


def engine_status(engine: EngineRecord, *, measure: bool = False) -> EngineStatus:
    """The snapshot of ``engine`` now; ``measure`` adds RSS and CPU of its live process tree."""
    run = engine.run
    alive = run is not None and not run.exited.is_set() and engine.state not in FINISHED_STATES
    now = time.monotonic()
    uptime = now - run.started_monotonic if alive and run is not None else 0.0
    rss: int | None = None
    cpu: float | None = None
    if measure and alive and run is not None:
        rss, cpu = measure_tree(run)
    return EngineStatus(
        name=engine.spec.name,
        state=engine.state,
        pid=run.pid if alive and run is not None else None,
        starts=engine.starts,
        restarts=engine.restarts,
        exit_code=engine.exit_code if engine.state in FINISHED_STATES else None,
        last_exit_code=engine.last_exit_code,
        started_at=run.started_wall if run is not None else None,
        stopped_at=engine.stopped_at,
        uptime_s=uptime,
        rss_bytes=rss,
        cpu_percent=cpu,
        lines_total=engine.counters.lines_total,
        lines_since_heartbeat=engine.counters.lines_since_heartbeat,
        runtime_s=engine.runtime_done + uptime,
        fatal_reason=engine.fatal_reason,
        failure=engine.failure,
        reason=engine.reason,
    )


def describe_exit(code: int | None) -> str:
    if code is None:
        return "did not start"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def measure_tree(run: EngineRun) -> tuple[int | None, float | None]:
    """RSS and CPU% of the run's process tree; CPU needs two samples, so objects are cached per pid."""
    try:
        leader = run.psutil_cache.get(run.pid) or psutil.Process(run.pid)
        run.psutil_cache[run.pid] = leader
        procs = [leader] + leader.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None, None
    rss = 0
    cpu = 0.0
    # Keep only current processes: over a day, short-lived children come and go.
    previous, run.psutil_cache = run.psutil_cache, {}
    for proc in procs:
        cached = previous.get(proc.pid)
        if cached is None or cached != proc:  # psutil compares pid and creation time: no reused pids
            cached = proc
        run.psutil_cache[proc.pid] = cached
        try:
            with cached.oneshot():
                rss += cached.memory_info().rss
                cpu += cached.cpu_percent(None)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return rss, cpu
