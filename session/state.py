"""The run's state file ``{artifacts}/state/{date}.json``: written atomically on every
transition, read by ``tradeday status`` (which says when the recorded orchestrator is gone)."""
from __future__ import annotations

import json
import os
import threading
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from core.fsutil import atomic_write_json


class Phase(str, Enum):
    PRE_MARKET = "PRE_MARKET"
    WAITING = "WAITING"
    TRADING = "TRADING"
    STOPPING = "STOPPING"
    EOD = "EOD"
    DONE = "DONE"
    ERROR = "ERROR"


def state_path(artifacts: Path, day: date) -> Path:
    return artifacts / "state" / f"{day.isoformat()}.json"


def _process_start_time(pid: int) -> float | None:
    try:
        import psutil

        return psutil.Process(pid).create_time()
    except Exception:
        return None


class StateFile:
    """Holds the run's state in memory and rewrites the file (atomically) on each change."""

    def __init__(self, path: Path, *, day: date, mode: str, config_path: str, calendar: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        pid = os.getpid()
        self.data: dict[str, Any] = {
            "schema": "tradeday.state/1",
            "date": day.isoformat(),
            "mode": mode,
            "config": config_path,
            "calendar": calendar,
            "phase": Phase.PRE_MARKET.value,
            "orchestrator": {"pid": pid, "started_at": _process_start_time(pid), "host": os.uname().nodename},
            "updated_at": None,
            "session": {"open": None, "close": None, "stop_at": None},
            "engines": [],
            "exit_code": None,
            "message": None,
            "history": [],
        }

    def update(self, *, phase: Phase | None = None, engines: list[dict[str, Any]] | None = None,
               **fields: Any) -> None:
        with self._lock:
            now = datetime.now(UTC).isoformat(timespec="milliseconds")
            if phase is not None and phase.value != self.data["phase"]:
                self.data["history"].append({"phase": phase.value, "at": now})
                self.data["phase"] = phase.value
            if engines is not None:
                self.data["engines"] = engines
            for key, value in fields.items():
                if isinstance(value, dict) and isinstance(self.data.get(key), dict):
                    self.data[key].update(value)
                else:
                    self.data[key] = value
            self.data["updated_at"] = now
            atomic_write_json(self.path, self.data)


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def orchestrator_alive(state: dict[str, Any]) -> bool:
    """Is the process that wrote ``state`` still running (same pid AND same start time,
    so a recycled pid does not count)?"""
    orch = state.get("orchestrator") or {}
    pid, started = orch.get("pid"), orch.get("started_at")
    if not isinstance(pid, int):
        return False
    actual = _process_start_time(pid)
    if actual is None:
        return False
    return started is None or abs(actual - float(started)) < 1.0
