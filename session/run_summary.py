"""What a day's run tells the person watching it: the events a console shows as they happen
(``RunObserver``) and the summary at the end (``DaySummary``).

The session only reports; how it looks (colour, a countdown, plain lines for cron) is the CLI's
(cli/run_console.py). An observer's methods are called on the run's main thread, outside the
supervision loop (before the engines start and after they stopped), so a slow terminal never
holds up supervision.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

__all__ = ["DaySummary", "EngineOutcome", "RunObserver", "StepOutcome", "engine_outcomes_from_state", "step_outcome"]


@dataclass(frozen=True)
class EngineOutcome:
    """One engine at the end of the session."""

    name: str
    state: str  # EXITED, FATAL, STOPPED, ...
    starts: int
    restarts: int
    exit_code: int | None
    reason: str | None = None  # why it failed (FATAL reason, "exited 1 with no restart left"), if it did

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "starts": self.starts, "restarts": self.restarts,
                "exit_code": self.exit_code, "reason": self.reason}


@dataclass(frozen=True)
class StepOutcome:
    """One end-of-day step as it finished."""

    name: str
    status: str  # ok, failed, timeout, skipped, mismatch
    duration_s: float | None
    message: str
    earlier: bool = False  # recorded by an earlier run (tradeday report keeps it)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "duration_s": self.duration_s, "message": self.message,
                "earlier": self.earlier}


def step_outcome(step: Mapping[str, Any]) -> StepOutcome:
    """A step record of the end of day (session/eod/contract.py) as a StepOutcome."""
    duration = step.get("duration_s")
    return StepOutcome(name=str(step.get("name")), status=str(step.get("status")),
                       duration_s=float(duration) if isinstance(duration, (int, float)) else None,
                       message=str(step.get("message") or ""), earlier=bool(step.get("earlier")))


def engine_outcomes_from_state(engines: Sequence[Any]) -> list[EngineOutcome]:
    """The engines as the state file records them (EngineStatus.to_json()) as outcomes."""
    out = []
    for e in engines:
        if not isinstance(e, Mapping):
            continue
        exit_code = e.get("exit_code") if e.get("exit_code") is not None else e.get("last_exit_code")
        out.append(EngineOutcome(name=str(e.get("name")), state=str(e.get("state")), starts=int(e.get("starts") or 0),
                                 restarts=int(e.get("restarts") or 0), exit_code=exit_code,
                                 reason=e.get("failure") or e.get("fatal_reason")))
    return out


@dataclass
class DaySummary:
    """The end of a ``tradeday run`` day (or of ``tradeday eod``): the block printed last.

    Times are tz-aware; ``timezone`` is the market's zone, in which the console shows them.
    """

    date: date
    mode: str
    calendar: str
    timezone: tzinfo | None
    exit_code: int = 0
    command: str = "run"  # run | eod (no session or engines of its own)
    start_at: datetime | None = None  # the engines' start (None: no engine started)
    stop_at: datetime | None = None  # when they stopped
    open: datetime | None = None  # the market's session
    close: datetime | None = None
    stop_reason: str = ""
    engines: list[EngineOutcome] = field(default_factory=list)
    eod: str = "ran"  # ran | skipped (--no-eod, eod.enabled: false) | interrupted | not reached
    steps: list[StepOutcome] = field(default_factory=list)
    fills: int | None = None  # from the daily report; None without an end of day
    trades: int | None = None
    realized_pnl: float | None = None
    fees: float | None = None
    open_positions: int | None = None
    currency: str | None = None
    report_paths: dict[str, Path] = field(default_factory=dict)
    message: str = ""  # a last word: why the run stopped early (interrupted, precheck failed)

    def take_report(self, summary: Mapping[str, Any] | None, currency: str | None,
                    paths: Mapping[str, Path]) -> None:
        """The daily report's figures (its ``summary`` object) and file paths."""
        s = summary or {}
        self.fills = _int(s.get("fills"))
        self.trades = _int(s.get("trades"))
        self.realized_pnl = _float(s.get("realized_pnl"))
        self.fees = _float(s.get("fees"))
        self.open_positions = _int(s.get("open_positions"))
        self.currency = currency
        self.report_paths = dict(paths)

    def to_json(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.astimezone(self.timezone).isoformat(timespec="seconds") if t else None

        return {
            "date": self.date.isoformat(), "command": self.command, "mode": self.mode, "calendar": self.calendar, "exit_code": self.exit_code,
            "session": {"start_at": iso(self.start_at), "stop_at": iso(self.stop_at), "open": iso(self.open),
                        "close": iso(self.close), "stop_reason": self.stop_reason},
            "engines": [e.to_json() for e in self.engines],
            "eod": self.eod, "steps": [s.to_json() for s in self.steps],
            "fills": self.fills, "trades": self.trades, "realized_pnl": self.realized_pnl, "fees": self.fees,
            "open_positions": self.open_positions, "currency": self.currency,
            "report": {k: str(v) for k, v in self.report_paths.items()}, "message": self.message,
        }


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class RunObserver:
    """What a run tells its console; every method does nothing here. ``tradeday run`` passes the
    CLI's console (cli/run_console.py); the Python API may pass its own."""

    def started(self, day: date, calendar: str, mode: str, config_path: str | None) -> None:
        """The run of ``day`` has its lock and begins with the prechecks."""

    def prechecks_passed(self, ok: int, warnings: int, warned: Sequence[str]) -> None:
        """The prechecks passed: ``ok`` checks fine, ``warnings`` not (their ids in ``warned``)."""

    def prechecks_failed(self, failing: Sequence[str]) -> None:
        """The prechecks failed (the ids); the run stops."""

    def waiting(self, start_at: datetime, open: datetime | None, tz: tzinfo) -> AbstractContextManager[Any]:
        """The wait until ``start_at`` runs inside this context (a console may count down)."""
        return nullcontext()

    def engines_started(self, names: Sequence[str], stop_at: datetime | None, tz: tzinfo) -> None:
        """The engines were started; they stop at ``stop_at`` (None: when they finish)."""

    def engines_stopped(self, reason: str) -> None:
        """Stopping the engines: ``reason`` (scheduled stop, signal, every engine finished)."""

    def eod_started(self, day: date) -> None:
        """The end of day begins."""

    def eod_step_started(self, name: str) -> None:
        """The end-of-day step ``name`` begins (a console may show a spinner until it finishes)."""

    def eod_step_finished(self, step: StepOutcome) -> None:
        """A step finished (a step that failed before it began has no ``eod_step_started``)."""

    def finished(self, summary: DaySummary) -> None:
        """The day is done: its summary."""

    def close(self) -> None:
        """The command ends (also by an exception): stop any live line."""


class DayRecorder:
    """Keeps the day's summary and tells the observer, so that ``DayRun`` needs one line per event."""

    def __init__(self, observer: RunObserver | None) -> None:
        self.has_console = observer is not None
        self.observer = observer or RunObserver()
        self.summary: DaySummary | None = None
        self.quiet_start = False  # --dry-run: the precheck report is the output

    def begin(self, day: Any, calendar: Any, mode: str, config_path: Any, *, dry_run: bool) -> None:
        """``day``: the SessionDay; ``calendar``: the MarketCalendar."""
        self.quiet_start = dry_run
        self.summary = DaySummary(date=day.date, mode=mode, calendar=calendar.name, timezone=calendar.tz,
                                  open=day.open, close=day.close, eod="not reached")
        if not dry_run:
            self.observer.started(day.date, calendar.name, mode, str(config_path) if config_path else None)

    def prechecks(self, report: Any) -> None:
        """The PrecheckReport, once the run has decided on it."""
        if self.quiet_start:
            return
        failing = [r.id for r in report.failures()]
        if failing:
            self.observer.prechecks_failed(failing)
            self.note(f"precheck failed ({', '.join(failing)}); engines not started")
            return
        shown = [r for r in report.results if not r.silenced]
        warned = [r.id for r in shown if r.level.name == "WARNING"]
        self.observer.prechecks_passed(sum(1 for r in shown if r.level.name == "INFO"), len(warned), warned)

    def note(self, message: str) -> None:
        if self.summary is not None:
            self.summary.message = message

    def waiting(self, start_at: datetime, open: datetime | None) -> AbstractContextManager[Any]:
        tz = self.summary.timezone if self.summary is not None and self.summary.timezone else start_at.tzinfo
        assert tz is not None
        return self.observer.waiting(start_at, open, tz)

    def engines_started(self, names: Sequence[str], stop_at: datetime | None) -> None:
        from datetime import UTC

        if self.summary is not None:
            self.summary.start_at = datetime.now(UTC)
        tz = self.summary.timezone if self.summary is not None and self.summary.timezone else UTC
        self.observer.engines_started(list(names), stop_at, tz)

    def engines_stopping(self, reason: str) -> None:
        from datetime import UTC

        if self.summary is not None:
            self.summary.stop_at, self.summary.stop_reason = datetime.now(UTC), reason
        self.observer.engines_stopped(reason)

    def eod_callbacks(self, day: date) -> dict[str, Any]:
        """EodOptions' ``on_step_start`` and ``on_step``; the end of day begins now."""
        if self.summary is not None:
            self.summary.eod = "interrupted"  # until it returns
        self.observer.eod_started(day)
        return {"on_step_start": self.observer.eod_step_started,
                "on_step": lambda step: self.observer.eod_step_finished(step_outcome(step))}

    def eod_done(self, result: Any, *, quiet: bool) -> None:
        """The EodResult. Without a console the report paths are printed (logged with ``--quiet``:
        cron mails nothing on a clean day); a console shows them in its summary."""
        import logging
        import sys

        if self.summary is not None:
            self.summary.eod = "ran"
            self.summary.steps = [step_outcome(s) for s in result.steps]
            self.summary.take_report(result.summary, result.currency, result.report_paths)
        for kind, path in result.report_paths.items():
            if quiet or self.has_console:
                logging.getLogger("tradeday.run").info("report (%s): %s", kind, path)
            else:
                sys.stdout.write(f"report ({kind}): {path}\n")
        sys.stdout.flush()

    def finish(self, code: Any, state: Any) -> Any:
        """The day's exit code (returned as it is) and its StateFile: the engines' final record
        and the last message come from it."""
        if self.summary is not None and not self.quiet_start:
            data = state.data if state is not None else {}
            self.summary.exit_code = int(code)
            self.summary.engines = engine_outcomes_from_state(data.get("engines") or [])
            self.summary.message = str(data.get("message") or "")
            if self.summary.eod == "not reached" and self.summary.stop_reason and int(code) < 128:
                self.summary.eod = "skipped"  # --no-eod, eod.enabled: false
            self.observer.finished(self.summary)
        return code
