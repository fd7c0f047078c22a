"""Running selected checks concurrently, each bounded by its own timeout.

Network probes above all wait on sockets, so a precheck with two unreachable brokers takes
about one timeout, not the sum. A check that raises becomes an ``<name>.E999`` ERROR; one
that does not finish in time becomes ``<name>.E998``.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from session.checks.results import CheckResult, Level, error

if TYPE_CHECKING:
    from session.checks.context import CheckContext

CheckFunc = Callable[["CheckContext"], Iterable[CheckResult]]
Timeout = Callable[["CheckContext"], float] | float | None


@dataclass
class CheckSpec:
    name: str
    func: CheckFunc
    tags: tuple[str, ...]
    depends: tuple[str, ...]
    timeout: Timeout

    def timeout_for(self, ctx: CheckContext) -> float:
        """Seconds this check may take: its own timeout, else ``checks.timeout``."""
        t = self.timeout
        if callable(t):
            return float(t(ctx))
        return float(t if t is not None else ctx.config.checks.timeout)


class ConcurrentRun:
    """One thread per check; a check starts once the selected checks it depends on are done."""

    def __init__(self, specs: list[CheckSpec], ctx: CheckContext) -> None:
        self.specs = specs
        self.ctx = ctx
        self.done = {s.name: threading.Event() for s in specs}
        self.outcome: dict[str, list[CheckResult]] = {}
        self.started: dict[str, float] = {}

    def results(self) -> dict[str, list[CheckResult]]:
        """Start every check, wait for each within its timeout, and return what each said."""
        threading.Thread(target=self._warm_calendar, name="check-calendar-warmup", daemon=True).start()
        for spec in self.specs:
            threading.Thread(target=self._run_one, args=(spec,), name=f"check-{spec.name}", daemon=True).start()
        # Each check gets its own timeout, counted from when it started (after its dependencies).
        t_begin = time.monotonic()
        return {spec.name: self._wait_for(spec, t_begin) for spec in self.specs}

    def _warm_calendar(self) -> None:
        # Build the calendar (pandas) while the network checks wait on sockets. An error
        # here is raised again, in the caller's thread, by the report's ctx.today.
        try:
            _ = self.ctx.today
        except Exception:
            pass

    def _run_one(self, spec: CheckSpec) -> None:
        for dep in spec.depends:
            if dep in self.done:
                self.done[dep].wait()
        t0 = time.monotonic()
        self.started[spec.name] = t0
        try:
            results = list(spec.func(self.ctx))
        except Exception as exc:  # a check must never take the precheck down
            from core.redact import GLOBAL_REDACTOR

            results = [error(f"{spec.name}.E999", GLOBAL_REDACTOR(f"check crashed: {exc.__class__.__name__}: {exc}"),
                             "this is a bug in the check; please report it")]
        elapsed = (time.monotonic() - t0) * 1000
        for r in results:
            r.check = spec.name
            r.duration_ms = elapsed
        self.outcome[spec.name] = results
        self.done[spec.name].set()

    def _wait_for(self, spec: CheckSpec, t_begin: float) -> list[CheckResult]:
        limit = spec.timeout_for(self.ctx)
        done = self.done[spec.name]
        while not done.is_set():
            t_start = self.started.get(spec.name)
            base = t_start if t_start is not None else time.monotonic()
            remaining = base + limit - time.monotonic()
            if t_start is not None and remaining <= 0:
                break
            done.wait(min(max(remaining, 0.01), 0.1))
            if t_start is None and time.monotonic() - t_begin > limit * 3:
                break  # a dependency never finished; do not wait forever
        if done.is_set():
            return self.outcome[spec.name]
        return [CheckResult(
            f"{spec.name}.E998", Level.ERROR, f"check did not finish within {limit:g}s",
            "something it talks to is hanging; see the other results", spec.name, limit * 1000,
        )]
