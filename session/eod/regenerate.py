"""Rewriting one day's report from its files (what ``tradeday report`` does for a date)."""
from __future__ import annotations

import gc
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
    options = EodOptions(mode=mode, analytics=with_analytics, backtest=with_analytics, carry=carry,
                         regenerate=True, on_step=on_step, notes=list(notes))
    # A range regenerates day after day in one process. What earlier days left behind (cycles
    # included) is collected now, and what is still alive -- modules, the config, caches -- is
    # frozen out of the collector, which is then off for the day: a day makes tens of
    # thousands of lists and dicts, and the collector would otherwise walk every long-lived
    # object of the process again each few hundred of them (half of a small day's time).
    gc.collect()
    gc.freeze()
    enabled = gc.isenabled()
    gc.disable()
    try:
        return run_eod(config, day, options)
    finally:
        if enabled:
            gc.enable()
