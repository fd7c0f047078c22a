"""Preflight checks: the registry (registry.py), what a check reads (context.py) and says
(results.py), how checks run (runner.py), tradeday's built-in checks (builtin.py) and the
report's rendering (render.py)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from session.checks.context import CheckContext, build_context
from session.checks.registry import REGISTRY, CheckRegistry, register, run_checks, tag_exists, tags_available
from session.checks.results import CheckResult, Level, PrecheckReport, error, info, warning

if TYPE_CHECKING:
    from session.calendar import MarketCalendar
    from session.config import TradedayConfig

# Not the default instance under its own name ``registry``: a package attribute of that
# name would hide the submodule ``session.checks.registry``. ``REGISTRY`` is the same instance.
__all__ = ["REGISTRY", "CheckContext", "CheckRegistry", "CheckResult", "Level", "PrecheckReport", "error", "info",
           "register", "run_checks", "tag_exists", "tags_available", "warning", "build_context",
           "run_precheck"]


def run_precheck(config: TradedayConfig, mode: str, *, only: Iterable[str] = (), skip: Iterable[str] = (),
                 tags: Iterable[str] = (), strict: bool = False, now: datetime | None = None,
                 calendar: MarketCalendar | None = None, start_now: bool = False, notify_test: bool = False,
                 own_lock: bool = False, environ: dict[str, str] | None = None) -> PrecheckReport:
    """The built-in checks (those selected by ``only``/``tags``, minus ``skip``) on ``config``
    in ``mode``: what ``tradeday precheck`` and ``run`` report."""
    import session.checks.builtin  # noqa: F401  (registers the built-in checks)

    ctx = build_context(config, mode, now=now, calendar=calendar, start_now=start_now,
                        notify_test=notify_test, own_lock=own_lock, environ=environ)
    return run_checks(ctx, only=only, skip=skip, tags=tags, strict=strict)
