"""The state of one day's run as ``tradeday status`` reports it: what the state file says, and
whether the orchestrator that wrote it is still alive."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from session.config import TradedayConfig


@dataclass(frozen=True)
class RunStatus:
    date: date
    path: Path  # the day's state file
    state: dict[str, Any] | None  # None: no run recorded for the day
    alive: bool  # the recorded orchestrator is still running
    stale: bool  # it is gone, but the run never finished (DONE or ERROR)

    @property
    def runs(self) -> list[dict[str, Any]]:
        """Every run of the day, oldest first (the latest is also the top level of ``state``)."""
        if self.state is None:
            return []
        return list(self.state.get("runs") or [self.state])  # a file from before `runs`: one run

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "state": self.state, "alive": self.alive, "stale": self.stale,
                "runs": self.runs}


def run_status(config: TradedayConfig, day: date | None = None) -> RunStatus:
    """The run of ``day`` (default: today in the market's time zone, found without pandas for
    the first-class calendars). A damaged state file raises StateFileError (exit 1, naming it)."""
    from session.calendar import MarketCalendar
    from session.state import orchestrator_alive, read_state, state_path

    the_day = day if day is not None else MarketCalendar.from_market_config(config.market).today()
    path = state_path(config.artifacts_dir, the_day)
    state = read_state(path)
    if state is None:
        return RunStatus(date=the_day, path=path, state=None, alive=False, stale=False)
    alive = orchestrator_alive(state)
    finished = state.get("phase") in ("DONE", "ERROR")
    return RunStatus(date=the_day, path=path, state=state, alive=alive, stale=not alive and not finished)
