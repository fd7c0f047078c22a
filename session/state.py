"""The day's state file ``{artifacts}/state/{date}.json``: written atomically on every
transition, read by ``tradeday status`` (which says when the recorded orchestrator is gone).

It is the record of the day, not of the last run: ``runs`` keeps every ``tradeday run`` of the
date (orchestrator, start and end, engines with their starts, restarts and exit codes, phases),
the current one last. The top-level fields (``phase``, ``engines``, ``exit_code``, ...) are the
latest run's, as they always were. A damaged file is an error for ``status`` (exit 1); ``run``
moves it aside (``{date}.json.corrupt-<time>``) and starts a new record.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from core import platform
from core.errors import TradedayError
from core.exitcodes import ExitCode
from core.fsutil import atomic_write_json

_log = logging.getLogger("tradeday.state")


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

    def __init__(self, path: Path, *, day: date, mode: str, config_path: str, calendar: str,
                 previous_runs: list[dict[str, Any]] | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        self._run_number = len(previous_runs or []) + 1
        pid = os.getpid()
        self.data: dict[str, Any] = {
            "schema": "tradeday.state/1",
            "date": day.isoformat(),
            "mode": mode,
            "config": config_path,
            "calendar": calendar,
            "phase": Phase.PRE_MARKET.value,
            "orchestrator": {"pid": pid, "started_at": _process_start_time(pid), "host": platform.machine_name()},
            "updated_at": None,
            "session": {"open": None, "close": None, "stop_at": None},
            "engines": [],
            "exit_code": None,
            "message": None,
            "history": [],
            "runs": [dict(r) for r in previous_runs or []],
        }
        self.data["runs"].append(self._run_record())

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
            self.data["runs"][-1] = self._run_record()
            self._write()

    def _run_record(self) -> dict[str, Any]:
        """This run's entry in ``runs``: the top-level fields that describe it, as they are now."""
        d = self.data
        ended = d["updated_at"] if d["phase"] in _FINISHED else None
        return {
            "run": self._run_number,
            "orchestrator": d["orchestrator"],
            "mode": d["mode"],
            "config": d["config"],
            "started_at": self._started_at,
            "ended_at": ended,
            "phase": d["phase"],
            "exit_code": d["exit_code"],
            "message": d["message"],
            "engines": d["engines"],
            "history": list(d["history"]),
        }

    # While writes fail (a full disk): what the file still holds, and what was already said.
    _failing: bool = False
    _written: tuple[Any, Any] | None = None  # (phase, updated_at) of the last good write
    _said_unrecorded: tuple[Any, Any] | None = None

    def _write(self) -> None:
        """Atomically, or not at all: on a full disk the last good file stays, the failure is
        reported once (core.diskfaults) and every later update tries again (heartbeats do)."""
        from core.diskfaults import DISK_FAULTS, fault_of

        try:
            atomic_write_json(self.path, self.data)
        except OSError as exc:
            first = not self._failing
            if first:
                self._failing = True
                DISK_FAULTS.failed(fault_of("the state file", self.path, exc))
            said = (self.data["phase"], self.data.get("exit_code"))
            if first or said != self._said_unrecorded:
                self._said_unrecorded = said
                exit_code = f", exit code {said[1]}" if said[1] is not None else ""
                kept = (f"phase {self._written[0]}, updated {self._written[1]}" if self._written
                        else "none: it was never written")
                _log.error("state file %s: phase %s%s not recorded (%s); it keeps its last good content (%s)",
                           self.path, said[0], exit_code, exc.strerror or exc, kept)
            return
        self._written = (self.data["phase"], self.data["updated_at"])
        if self._failing:
            self._failing, self._said_unrecorded = False, None
            DISK_FAULTS.recovered(self.path, "it is up to date again")


_FINISHED = (Phase.DONE.value, Phase.ERROR.value)


class StateFileError(TradedayError, ValueError):
    """The state file exists but cannot be used: not JSON, not UTF-8, or not the shape tradeday writes."""

    exit_code = ExitCode.STATE_DAMAGED


def read_state(path: Path) -> dict[str, Any] | None:
    """The day's state, None when there is none; StateFileError (naming the file) when damaged."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # NotADirectory: a file where a folder should be
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _damaged(path, f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise _damaged(path, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}; "
                             "truncated?)") from None
    problem = state_problem(data)
    if problem:
        raise _damaged(path, problem)
    return data


def _damaged(path: Path, problem: str) -> StateFileError:
    return StateFileError(f"state file {path}: {problem}",
                          hint="`tradeday run` moves a damaged state file aside and starts a new record; "
                               "or move it away yourself")


# The shape tradeday writes: key -> the JSON types its value may have (None: null allowed).
_SHAPE: dict[str, tuple[type | None, ...]] = {
    "schema": (str,), "date": (str,), "mode": (str,), "config": (str, None), "calendar": (str, None),
    "phase": (str,), "orchestrator": (dict,), "updated_at": (str, None), "session": (dict,),
    "engines": (list,), "exit_code": (int, None), "message": (str, None), "history": (list,), "runs": (list,),
}
_TYPE_WORDS: dict[type | None, str] = {str: "text", dict: "an object", list: "a list", int: "an integer",
                                       None: "null"}


def state_problem(data: Any) -> str | None:
    """What is wrong with a parsed state file (one line), or None if it has tradeday's shape."""
    if not isinstance(data, dict):
        return f"expected a JSON object, found {_json_type(data)}"
    for key, allowed in _SHAPE.items():
        if key not in data:
            continue
        value = data[key]
        if not any(value is None if t is None else isinstance(value, t) and not isinstance(value, bool)
                   for t in allowed):
            want = " or ".join(_TYPE_WORDS[t] for t in allowed)
            return f"'{key}' should be {want}, found {_json_type(value)}"
    if "phase" in data and data["phase"] not in {p.value for p in Phase}:
        return f"'phase' is {data['phase']!r}, not one of {', '.join(p.value for p in Phase)}"
    for key in ("engines", "history", "runs"):
        for i, item in enumerate(data.get(key) or []):
            if not isinstance(item, dict):
                return f"'{key}[{i}]' should be an object, found {_json_type(item)}"
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {str: "text", dict: "an object", list: "a list", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)


def earlier_runs(path: Path) -> tuple[list[dict[str, Any]], Path | None]:
    """For a new run of the day: the runs the state file already records, and where a damaged
    file was moved (``{name}.corrupt-<UTC time>``; None if it was fine or absent).

    A file written before ``runs`` existed counts as one run (its top-level fields)."""
    try:
        data = read_state(path)
    except StateFileError:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        try:
            platform.replace_file(path, aside)
        except OSError as exc:  # a read-only folder: the new record overwrites it (or cannot)
            _log.warning("state file %s is damaged and cannot be moved aside (%s); starting a new record",
                         path, exc.strerror or exc)
            return [], None
        return [], aside
    if data is None:
        return [], None
    runs = data.get("runs")
    if runs:
        return list(runs), None
    old = {k: data.get(k) for k in ("orchestrator", "mode", "config", "phase", "exit_code", "message", "engines")}
    history = data.get("history") or []
    old.update(run=1, started_at=history[0].get("at") if history else None,
               ended_at=history[-1].get("at") if history and data.get("phase") in _FINISHED else None,
               history=history)
    return [old], None


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
    if not isinstance(started, (int, float)):
        return started is None
    return abs(actual - float(started)) < 1.0
