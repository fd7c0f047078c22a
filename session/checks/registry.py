"""The preflight check registry, modelled on Django's system checks.

A check is a function ``(ctx) -> list[CheckResult]`` registered with ``@register``. Every
result has a stable id (``secrets.E001``), a level, a message and a hint. Checks run
concurrently (network probes above all), each bounded by its timeout, so a precheck with
two unreachable brokers takes about one timeout, not the sum.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from session.calendar import MarketCalendar, SessionDay
    from session.config import TradedayConfig


class Level(IntEnum):
    INFO = 20
    WARNING = 30
    ERROR = 40


@dataclass
class CheckResult:
    id: str
    level: Level
    message: str
    hint: str = ""
    check: str = ""
    duration_ms: float = 0.0
    silenced: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "check": self.check,
            "level": self.level.name,
            "message": self.message,
            "hint": self.hint,
            "duration_ms": round(self.duration_ms, 1),
            "silenced": self.silenced,
        }


def info(id: str, message: str, hint: str = "") -> CheckResult:
    return CheckResult(id, Level.INFO, message, hint)


def warning(id: str, message: str, hint: str = "") -> CheckResult:
    return CheckResult(id, Level.WARNING, message, hint)


def error(id: str, message: str, hint: str = "") -> CheckResult:
    return CheckResult(id, Level.ERROR, message, hint)


class CheckContext:
    """What checks read. ``facts`` carries values between dependent checks (broker clocks).

    The calendar is built on first use: it loads pandas (~1 s cold), and the network checks,
    which do not need it, should not wait for that.
    """

    def __init__(self, config: TradedayConfig, mode: str, now: datetime, environ: dict[str, str],
                 calendar_factory: Callable[[], MarketCalendar], *, start_now: bool = False,
                 notify_test: bool = False, own_lock: bool = False) -> None:
        self.config = config
        self.mode = mode
        self.now = now
        self.environ = environ
        self.start_now = start_now  # run --start-now: calendar/clock-window problems report, do not abort
        self.notify_test = notify_test
        self.own_lock = own_lock  # the caller (run) holds today's lock itself
        self.facts: dict[str, Any] = {}
        self._calendar_factory = calendar_factory
        self._calendar: MarketCalendar | None = None
        self._today: SessionDay | None = None
        self._lock = threading.Lock()

    @property
    def calendar(self) -> MarketCalendar:
        with self._lock:
            if self._calendar is None:
                self._calendar = self._calendar_factory()
            return self._calendar

    @property
    def today(self) -> SessionDay:
        cal = self.calendar
        with self._lock:
            if self._today is None:
                self._today = cal.session(cal.today(self.now))
            return self._today

    def set_fact(self, key: str, value: Any) -> None:
        with self._lock:
            self.facts[key] = value


CheckFunc = Callable[[CheckContext], Iterable[CheckResult]]


@dataclass
class CheckSpec:
    name: str
    func: CheckFunc
    tags: tuple[str, ...]
    depends: tuple[str, ...]
    timeout: Callable[[CheckContext], float] | float | None


REGISTRY: dict[str, CheckSpec] = {}


def register(name: str, *, tags: Iterable[str] = (), depends: Iterable[str] = (),
             timeout: Callable[[CheckContext], float] | float | None = None) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check. ``timeout`` (seconds, or a function of the context) bounds it;
    None means ``checks.timeout`` from the config. ``depends`` names checks whose results
    (and facts) this one needs; a dependency that is not run is simply not waited for."""

    def deco(func: CheckFunc) -> CheckFunc:
        REGISTRY[name] = CheckSpec(name, func, tuple(tags), tuple(depends), timeout)
        return func

    return deco


@dataclass
class PrecheckReport:
    mode: str
    session: dict[str, Any]
    results: list[CheckResult]
    strict: bool = False

    def failures(self) -> list[CheckResult]:
        worst = Level.WARNING if self.strict else Level.ERROR
        return [r for r in self.results if r.level >= worst and not r.silenced]

    @property
    def ok(self) -> bool:
        return not self.failures()

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mode": self.mode,
            "session": self.session,
            "checks": [r.to_json() for r in self.results],
        }


def _timeout_for(spec: CheckSpec, ctx: CheckContext) -> float:
    t = spec.timeout
    if callable(t):
        return float(t(ctx))
    return float(t if t is not None else ctx.config.checks.timeout)


def run_checks(ctx: CheckContext, *, only: Iterable[str] = (), skip: Iterable[str] = (),
               strict: bool = False) -> PrecheckReport:
    """Run the selected checks concurrently and collect their results in registry order."""
    from core.errors import UsageError

    only, skip = list(only), list(skip)
    unknown = [n for n in [*only, *skip] if n not in REGISTRY]
    if unknown:
        raise UsageError(f"unknown check '{unknown[0]}'", hint=f"checks are: {', '.join(REGISTRY)}")
    disabled = set(ctx.config.checks.disable) | set(skip)
    selected = [s for s in REGISTRY.values() if (not only or s.name in only) and s.name not in disabled]

    done = {s.name: threading.Event() for s in selected}
    outcome: dict[str, list[CheckResult]] = {}
    started: dict[str, float] = {}

    def runner(spec: CheckSpec) -> None:
        for dep in spec.depends:
            if dep in done:
                done[dep].wait()
        t0 = time.monotonic()
        started[spec.name] = t0
        try:
            results = list(spec.func(ctx))
        except Exception as exc:  # a check must never take the precheck down
            from core.redact import GLOBAL_REDACTOR

            results = [error(f"{spec.name}.E999", GLOBAL_REDACTOR(f"check crashed: {exc.__class__.__name__}: {exc}"),
                             "this is a bug in the check; please report it")]
        elapsed = (time.monotonic() - t0) * 1000
        for r in results:
            r.check = spec.name
            r.duration_ms = elapsed
        outcome[spec.name] = results
        done[spec.name].set()

    def warm_calendar() -> None:
        # Build the calendar (pandas) while the network checks wait on sockets. An error
        # here is raised again, in the caller's thread, by the report's ctx.today below.
        try:
            ctx.today
        except Exception:
            pass

    threading.Thread(target=warm_calendar, name="check-calendar-warmup", daemon=True).start()
    threads = []
    for spec in selected:
        th = threading.Thread(target=runner, args=(spec,), name=f"check-{spec.name}", daemon=True)
        th.start()
        threads.append((spec, th))

    # Each check gets its own timeout, counted from when it started (after its dependencies).
    t_begin = time.monotonic()
    final: dict[str, list[CheckResult]] = {}
    for spec, th in threads:
        limit = _timeout_for(spec, ctx)
        while not done[spec.name].is_set():
            t_start = started.get(spec.name)
            base = t_start if t_start is not None else time.monotonic()
            remaining = base + limit - time.monotonic()
            if t_start is not None and remaining <= 0:
                break
            done[spec.name].wait(min(max(remaining, 0.01), 0.1))
            if t_start is None and time.monotonic() - t_begin > limit * 3:
                break  # a dependency never finished; do not wait forever
        if done[spec.name].is_set():
            final[spec.name] = outcome[spec.name]
        else:
            final[spec.name] = [CheckResult(
                f"{spec.name}.E998", Level.ERROR, f"check did not finish within {limit:g}s",
                "something it talks to is hanging; see the other results", spec.name, limit * 1000,
            )]

    silenced = set(ctx.config.checks.silence)
    results: list[CheckResult] = []
    for spec in selected:
        for r in final.get(spec.name, []):
            r.silenced = r.id in silenced
            results.append(r)
    return PrecheckReport(mode=ctx.mode, session=ctx.today.to_json(), results=results, strict=strict)
