"""The state of one day's run as ``tradeday status`` reports it: what the state file says, whether
the orchestrator that wrote it is still alive, each engine as it is now (uptime, last output
line), and the day's PnL so far from the fills journal as it is (session/live_pnl.py: the daily
report's rules, read incrementally, so ``status --watch`` reads only what was appended)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from session.config import TradedayConfig
    from session.live_pnl import LiveJournal

_LIVE_STATES = ("STARTING", "RUNNING", "STOPPING")
LAST_LINE_CHARS = 200


@dataclass(frozen=True)
class RunStatus:
    date: date
    path: Path  # the day's state file
    state: dict[str, Any] | None  # None: no run recorded for the day
    alive: bool  # the recorded orchestrator is still running
    stale: bool  # it is gone, but the run never finished (DONE or ERROR)
    engines: list[dict[str, Any]] = field(default_factory=list)  # the state's, with uptime_s and last_line now
    pnl: dict[str, Any] | None = None  # the journal so far (JournalFigures.to_json() + currency)
    journal: LiveJournal | None = None  # pass it back to run_status() to read on incrementally (--watch)

    @property
    def runs(self) -> list[dict[str, Any]]:
        """Every run of the day, oldest first (the latest is also the top level of ``state``)."""
        if self.state is None:
            return []
        return list(self.state.get("runs") or [self.state])  # a file from before `runs`: one run

    @property
    def engines_start(self) -> str | None:
        """When the engines start (waiting) or started: the planned start, else when TRADING began."""
        if self.state is None:
            return None
        planned = (self.state.get("session") or {}).get("start_at")
        if planned:
            return str(planned)
        trading = [h.get("at") for h in self.state.get("history") or [] if h.get("phase") == "TRADING"]
        return str(trading[-1]) if trading else None

    @property
    def engines_stop(self) -> str | None:
        return None if self.state is None else (self.state.get("session") or {}).get("stop_at")

    def to_json(self) -> dict[str, Any]:
        state = self.state or {}
        return {"date": self.date.isoformat(), "phase": state.get("phase"), "alive": self.alive,
                "stale": self.stale, "engines_start": self.engines_start, "engines_stop": self.engines_stop,
                "engines": self.engines, "pnl": self.pnl, "loss_limit": state.get("loss_limit"),
                "controls": state.get("controls") or [], "state": self.state, "runs": self.runs}


def run_status(config: TradedayConfig, day: date | None = None, *, journal: LiveJournal | None = None,
               with_pnl: bool = True) -> RunStatus:
    """The run of ``day`` (default: today in the market's time zone, found without pandas for
    the first-class calendars). A damaged state file raises StateFileError (exit 1, naming it).
    ``journal``: the reader of an earlier call for the same day (it reads on from where it was)."""
    from session.calendar import MarketCalendar
    from session.state import orchestrator_alive, read_state, state_path

    the_day = day if day is not None else MarketCalendar.from_market_config(config.market).today()
    path = state_path(config.artifacts_dir, the_day)
    state = read_state(path)
    pnl = None
    if with_pnl:
        if journal is None:
            from session.live_pnl import open_live_journal

            journal = open_live_journal(config, the_day)
        pnl = _pnl(config, journal)
    if state is None:
        return RunStatus(date=the_day, path=path, state=None, alive=False, stale=False, pnl=pnl, journal=journal)
    alive = orchestrator_alive(state)
    finished = state.get("phase") in ("DONE", "ERROR")
    engines = [_engine_now(config, the_day, e, alive) for e in state.get("engines") or []]
    return RunStatus(date=the_day, path=path, state=state, alive=alive, stale=not alive and not finished,
                     engines=engines, pnl=pnl, journal=journal)


def _pnl(config: TradedayConfig, journal: LiveJournal) -> dict[str, Any]:
    try:
        figures = journal.reader.poll_all()
    except OSError as exc:
        return {"error": f"cannot read {journal.reader.path}: {exc.strerror or exc}", "currency": journal.currency}
    limit = config.session.max_daily_loss
    return {**figures.to_json(), "currency": journal.currency, "journal": str(journal.reader.path),
            "carried_from": journal.carried_from.isoformat() if journal.carried_from else None,
            "note": journal.note, "max_daily_loss": None if limit is None else str(limit)}


def _engine_now(config: TradedayConfig, day: date, engine: dict[str, Any], alive: bool) -> dict[str, Any]:
    """The state file's record of an engine, with its uptime and last output line as of now."""
    now = dict(engine)
    started = engine.get("started_at")
    running = alive and engine.get("state") in _LIVE_STATES and engine.get("pid")
    uptime = None
    if running and isinstance(started, str):
        try:
            uptime = round((datetime.now(UTC) - datetime.fromisoformat(started)).total_seconds(), 1)
        except (ValueError, TypeError):
            uptime = None
    now["uptime_s"] = uptime if running else 0.0
    if not running:
        now["pid"] = None
    now["last_line"] = last_output_line(config.logs_dir / day.isoformat() / f"{engine.get('name')}.log")
    return now


def last_output_line(log: Path) -> str | None:
    """The engine's last output line in its log (tradeday's own ``### tradeday:`` notes skipped,
    the log's timestamp kept), shortened to LAST_LINE_CHARS; None without output yet."""
    from core.errors import TradedayError
    from core.redact import GLOBAL_REDACTOR
    from session.logview import last_lines, rotated_files

    try:
        tail = last_lines(rotated_files(log), 50)
    except (OSError, TradedayError):  # unreadable: no line to show, the rest of status still is
        return None
    for raw in reversed(tail.splitlines()):
        stamp, _, text = raw.decode("utf-8", errors="replace").partition(" ")
        if text.startswith("### tradeday:") or not text.strip():
            continue
        line = f"{stamp} {text.rstrip()}"
        return GLOBAL_REDACTOR(line if len(line) <= LAST_LINE_CHARS else line[: LAST_LINE_CHARS - 1] + "…")
    return None
