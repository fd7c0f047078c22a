"""``tradeday eod``: the end of day by hand, for a date (default: today in market time)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from session.eod.contract import EodOptions, EodResult, StepRecord
from session.eod.dates import refuse_future
from session.eod.market import load_calendar, resolve_currency
from session.eod.pipeline import run_eod

if TYPE_CHECKING:
    from session.config import TradedayConfig
    from session.modes import Mode
    from session.run_summary import DaySummary


@dataclass(frozen=True)
class EodRequest:
    day: date | None = None  # None: today in market time
    mode: Mode | None = None  # --mode; None: the config's
    analytics: bool = True
    backtest: bool = True
    carry: bool = True
    log_level: str = "WARNING"  # also for the day's log file {logs}/{date}/tradeday.log


@dataclass(frozen=True)
class EodStart:
    """What is about to run, once the date, mode and calendar are known (before any step)."""
    date: date
    mode: str
    calendar: str


@dataclass
class EodOutcome:
    date: date
    mode: str
    result: EodResult
    calendar: str = ""
    tz: Any = None  # the market's zone

    @property
    def exit_code(self) -> int:
        return self.result.exit_code

    def to_json(self) -> dict[str, Any]:
        return self.result.to_json(self.date)

    def summary(self) -> DaySummary:
        """The summary block ``tradeday eod`` prints (as ``tradeday run`` does, without a session)."""
        from session.run_summary import DaySummary, step_outcome

        summary = DaySummary(date=self.date, mode=self.mode, calendar=self.calendar, timezone=self.tz,
                             exit_code=self.exit_code, command="eod",
                             steps=[step_outcome(s) for s in self.result.steps], message=self.result.error or "")
        summary.take_report(self.result.summary, self.result.currency, self.result.report_paths)
        return summary


def run_eod_by_hand(config: TradedayConfig, request: EodRequest, *,
                    on_start: Callable[[EodStart], None] | None = None,
                    on_step: Callable[[StepRecord], None] | None = None,
                    on_step_start: Callable[[str], None] | None = None) -> EodOutcome:
    """Resolve the mode and date, then run the end of day with notifications on (if configured).

    Config problems (mode, calendar, currency) raise before ``on_start`` and before any step.
    """
    from core.logsetup import setup_logging
    from session.modes import resolve_mode

    effective = resolve_mode(config.mode, request.mode, require_confirmation=False,
                             config_label=str(config.path))
    # Config problems (calendar, currency) exit 3 here, before any step runs.
    calendar = load_calendar(config)
    resolve_currency(config, calendar)
    refuse_future([request.day], calendar, "--date")  # exit 2, before any file is touched
    session_date = request.day or calendar.today()
    from core.exitcodes import ExitCode
    from session.checks.filesystem import require_usable_folders

    require_usable_folders(config, exit_code=ExitCode.EOD_FAILED)  # the log and report go there: exit 5 if not
    setup_logging(request.log_level, config.logs_dir / session_date.isoformat() / "tradeday.log", tz=calendar.tz)

    hub = None
    if config.notifications.enabled:
        from session.notify import NotificationHub

        hub = NotificationHub(config.notifications, config.outbox_path)
        hub.drain_outbox()  # what earlier commands could not deliver goes out now
    from session.supervisor.signals import Interrupted, interrupt_on_stop_signals

    try:
        # SIGTERM/SIGINT/SIGHUP stop the step that runs (a hook's whole process group
        # included) and exit 128 + the signal; the report is not written (cli/main.py).
        with interrupt_on_stop_signals():
            if on_start is not None:
                on_start(EodStart(date=session_date, mode=effective, calendar=calendar.name))
            options = EodOptions(mode=effective, analytics=request.analytics, backtest=request.backtest,
                                 carry=request.carry, on_step=on_step, on_step_start=on_step_start)
            result = run_eod(config, session_date, options, hub=hub)
    except Interrupted as exc:
        logging.getLogger("tradeday.eod").warning("end of day %s %s; no report written", session_date, exc)
        if hub is not None:
            hub.cut_short()  # stopping now: what is unsent waits in the outbox for the next command
        raise
    finally:
        if hub is not None:
            hub.close(config.notifications.flush_timeout)
    return EodOutcome(date=session_date, mode=effective, result=result, calendar=calendar.name, tz=calendar.tz)
