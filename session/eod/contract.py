"""What the end of day takes and gives back: its options, its result, the step statuses."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from core.redact import GLOBAL_REDACTOR

STEP_OK = "ok"
STEP_FAILED = "failed"
STEP_TIMEOUT = "timeout"
STEP_SKIPPED = "skipped"
STEP_MISMATCH = "mismatch"  # reconciliation found differences: listed in the report, not a failure
FAILED_STATUSES = frozenset({STEP_FAILED, STEP_TIMEOUT})

# A step record: {"name", "status", "exit_code", "duration_s", "message", ...extra fields}.
StepRecord = dict[str, Any]


@dataclass
class EodOptions:
    mode: str
    analytics: bool = True
    backtest: bool = True
    # {"status": "completed"|..., "engines": [EngineStatus.to_json() dicts]}; None: nothing ran
    # (then the report keeps the session of an earlier report for the date, or the state file's).
    session_info: dict[str, Any] | None = None
    carry: bool = True
    # `tradeday report`: no broker calls, the run's step records and mode kept, hooks only if asked.
    regenerate: bool = False
    # Called with each step record as it finishes (the CLI prints a status line).
    on_step: Callable[[StepRecord], None] | None = None
    # Called with a step's name as it begins (the CLI shows progress: a line, a spinner).
    on_step_start: Callable[[str], None] | None = None
    # Extra lines for the report's notes (e.g. what an import said).
    notes: list[str] = field(default_factory=list)


@dataclass
class EodResult:
    exit_code: int  # 0, or 5 (ExitCode.EOD_FAILED) if any step failed
    report_paths: dict[str, Path]  # "json", "md", ("html", "chart")
    summary: dict[str, Any] | None
    steps: list[StepRecord]
    error: str | None = None  # bad input that stopped the report, one line (file:line field)
    currency: str | None = None  # the report's currency (of ``summary``'s amounts)

    def failed_step_names(self) -> list[str]:
        """The steps of this run that failed or timed out (not those an earlier run recorded)."""
        return [s["name"] for s in self.steps if s["status"] in FAILED_STATUSES and not s.get("earlier")]

    def to_json(self, day: date) -> dict[str, Any]:
        """``{date, exit_code, report, steps, summary[, error]}``: what ``--json`` prints for a day."""
        data: dict[str, Any] = {
            "date": day.isoformat(),
            "exit_code": self.exit_code,
            "report": {kind: str(path) for kind, path in self.report_paths.items()},
            "steps": [dict(s) for s in self.steps],
            "summary": self.summary,
        }
        if self.error:
            data["error"] = self.error
        return data


def clean_message(text: str) -> str:
    """One line, secrets redacted: how step messages and report notes are stored."""
    return GLOBAL_REDACTOR(" ".join(str(text).split()))
