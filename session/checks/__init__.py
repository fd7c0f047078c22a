"""Preflight checks: the registry (registry.py) and tradeday's built-in checks (builtin.py)."""
from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime, timezone
from typing import TYPE_CHECKING

from session.checks.registry import (
    REGISTRY,
    CheckContext,
    CheckResult,
    Level,
    PrecheckReport,
    error,
    info,
    register,
    run_checks,
    warning,
)

if TYPE_CHECKING:
    from session.calendar import MarketCalendar
    from session.config import TradedayConfig

__all__ = ["REGISTRY", "CheckContext", "CheckResult", "Level", "PrecheckReport", "error", "info",
           "register", "run_checks", "warning", "build_context", "run_precheck"]


def build_context(config: TradedayConfig, mode: str, *, now: datetime | None = None,
                  calendar: MarketCalendar | None = None, start_now: bool = False,
                  notify_test: bool = False, own_lock: bool = False,
                  environ: dict[str, str] | None = None) -> CheckContext:
    from session.calendar import MarketCalendar

    def factory() -> MarketCalendar:
        return calendar or MarketCalendar.from_market_config(config.market)

    return CheckContext(config, mode, now or datetime.now(UTC),
                        dict(os.environ if environ is None else environ), factory,
                        start_now=start_now, notify_test=notify_test, own_lock=own_lock)


def run_precheck(config: TradedayConfig, mode: str, *, only: Iterable[str] = (), skip: Iterable[str] = (),
                 strict: bool = False, **context_kwargs: object) -> PrecheckReport:
    import session.checks.builtin  # noqa: F401  (registers the built-in checks)

    ctx = build_context(config, mode, **context_kwargs)  # type: ignore[arg-type]
    return run_checks(ctx, only=only, skip=skip, strict=strict)
