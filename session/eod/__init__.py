"""The end of day: analytics and backtest hooks, fills, reconciliation, the daily report
(pipeline.py has the whole story), and what ``tradeday eod`` and ``tradeday report`` do.

- contract.py: EodOptions, EodResult, the step statuses
- paths.py, market.py: where the files are; the calendar and the report currency
- pipeline.py: ``run_eod``, the end of day's steps in order
- hooks.py: one analytics/backtest hook (its process group, its timeout)
- embedded.py: a hook's JSON document, read to embed
- kite_fills.py: the broker's fills from Kite
- sessions.py, store.py: the session a report describes; reports and journals on disk
- regenerate.py, periods.py, imports.py: rewriting a day, weekly/monthly summaries, imports
- by_hand.py, operations.py: ``tradeday eod`` and ``tradeday report`` (a request in, an outcome out)

Everything here imports only the standard library and ``core`` at module level: pandas,
the calendars and the broker clients load inside the functions that need them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

# Loaded on first use (core/lazy.py): `status` needs .store, not the pipeline, hooks and brokers.
_EXPORTS = {
    "EodOutcome": "session.eod.by_hand",
    "EodRequest": "session.eod.by_hand",
    "EodStart": "session.eod.by_hand",
    "run_eod_by_hand": "session.eod.by_hand",
    "FAILED_STATUSES": "session.eod.contract",
    "STEP_FAILED": "session.eod.contract",
    "STEP_MISMATCH": "session.eod.contract",
    "STEP_OK": "session.eod.contract",
    "STEP_SKIPPED": "session.eod.contract",
    "STEP_TIMEOUT": "session.eod.contract",
    "EodOptions": "session.eod.contract",
    "EodResult": "session.eod.contract",
    "StepRecord": "session.eod.contract",
    "MAX_EMBED_BYTES": "session.eod.embedded",
    "OUTPUT_TAIL_LINES": "session.eod.hooks",
    "STEP_STOP_GRACE_S": "session.eod.hooks",
    "run_step": "session.eod.hooks",
    "step_environment": "session.eod.hooks",
    "ImportedDay": "session.eod.imports",
    "ImportResult": "session.eod.imports",
    "guess_fills_format": "session.eod.imports",
    "import_fills_file": "session.eod.imports",
    "fetch_kite_fills": "session.eod.kite_fills",
    "load_calendar": "session.eod.market",
    "resolve_currency": "session.eod.market",
    "DailyStopped": "session.eod.operations",
    "DailyWritten": "session.eod.operations",
    "DayImported": "session.eod.operations",
    "ImportWarning": "session.eod.operations",
    "NothingToReport": "session.eod.operations",
    "PeriodFailed": "session.eod.operations",
    "PeriodWritten": "session.eod.operations",
    "ReportEvent": "session.eod.operations",
    "ReportOutcome": "session.eod.operations",
    "ReportRequest": "session.eod.operations",
    "StepShown": "session.eod.operations",
    "run_report": "session.eod.operations",
    "analytics_output_path": "session.eod.paths",
    "backtest_output_path": "session.eod.paths",
    "broker_journal_path": "session.eod.paths",
    "daily_report_path": "session.eod.paths",
    "step_log_path": "session.eod.paths",
    "PeriodResult": "session.eod.periods",
    "period_bounds": "session.eod.periods",
    "write_period": "session.eod.periods",
    "run_eod": "session.eod.pipeline",
    "regenerate_daily": "session.eod.regenerate",
    "report_session": "session.eod.sessions",
    "session_from_state_file": "session.eod.sessions",
    "CARRY_LOOKBACK_DAYS": "session.eod.store",
    "find_previous_report": "session.eod.store",
    "journal_dates": "session.eod.store",
    "latest_data_date": "session.eod.store",
    "latest_report_before": "session.eod.store",
    "report_dates": "session.eod.store",
}
lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from session.eod.by_hand import EodOutcome, EodRequest, EodStart, run_eod_by_hand
    from session.eod.contract import (
        FAILED_STATUSES,
        STEP_FAILED,
        STEP_MISMATCH,
        STEP_OK,
        STEP_SKIPPED,
        STEP_TIMEOUT,
        EodOptions,
        EodResult,
        StepRecord,
    )
    from session.eod.embedded import MAX_EMBED_BYTES
    from session.eod.hooks import OUTPUT_TAIL_LINES, STEP_STOP_GRACE_S, run_step, step_environment
    from session.eod.imports import ImportedDay, ImportResult, guess_fills_format, import_fills_file
    from session.eod.kite_fills import fetch_kite_fills
    from session.eod.market import load_calendar, resolve_currency
    from session.eod.operations import (
        DailyStopped,
        DailyWritten,
        DayImported,
        ImportWarning,
        NothingToReport,
        PeriodFailed,
        PeriodWritten,
        ReportEvent,
        ReportOutcome,
        ReportRequest,
        StepShown,
        run_report,
    )
    from session.eod.paths import (
        analytics_output_path,
        backtest_output_path,
        broker_journal_path,
        daily_report_path,
        step_log_path,
    )
    from session.eod.periods import PeriodResult, period_bounds, write_period
    from session.eod.pipeline import run_eod
    from session.eod.regenerate import regenerate_daily
    from session.eod.sessions import report_session, session_from_state_file
    from session.eod.store import (
        CARRY_LOOKBACK_DAYS,
        find_previous_report,
        journal_dates,
        latest_data_date,
        latest_report_before,
        report_dates,
    )

__all__ = [
    # contract
    "EodOptions", "EodResult", "StepRecord",
    "STEP_OK", "STEP_FAILED", "STEP_TIMEOUT", "STEP_SKIPPED", "STEP_MISMATCH", "FAILED_STATUSES",
    # where things are
    "analytics_output_path", "backtest_output_path", "broker_journal_path", "daily_report_path", "step_log_path",
    "load_calendar", "resolve_currency",
    # the pipeline and its parts
    "run_eod", "run_step", "step_environment", "STEP_STOP_GRACE_S", "OUTPUT_TAIL_LINES", "MAX_EMBED_BYTES",
    "fetch_kite_fills",
    # sessions, reports on disk
    "report_session", "session_from_state_file", "CARRY_LOOKBACK_DAYS", "find_previous_report",
    "latest_report_before", "journal_dates", "report_dates", "latest_data_date",
    # tradeday report
    "regenerate_daily", "period_bounds", "PeriodResult", "write_period",
    "ImportedDay", "ImportResult", "import_fills_file", "guess_fills_format",
    "ReportRequest", "ReportOutcome", "ReportEvent", "run_report",
    "ImportWarning", "DayImported", "StepShown", "NothingToReport", "DailyWritten", "DailyStopped",
    "PeriodWritten", "PeriodFailed",
    # tradeday eod
    "EodRequest", "EodStart", "EodOutcome", "run_eod_by_hand",
]
