"""Rewriting one day's report from its files (what ``tradeday report`` does for a date)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING

from session.eod.contract import EodOptions, EodResult, StepRecord
from session.eod.pipeline import run_eod

if TYPE_CHECKING:
    from session.config import TradedayConfig


def regenerate_daily(config: TradedayConfig, day: date, *, mode: str, carry: bool = True,
                     with_analytics: bool = False, notes: Iterable[str] = (),
                     on_step: Callable[[StepRecord], None] | None = None) -> EodResult:
    """Rewrite one day's report from its files (no broker call, hooks only if asked)."""
    return run_eod(config, day, EodOptions(mode=mode, analytics=with_analytics, backtest=with_analytics,
                                           carry=carry, regenerate=True, on_step=on_step, notes=list(notes)))
