"""What checks read: the config, the mode, the time, the environment and a lazily built
calendar, plus ``facts`` that dependent checks pass on (broker clocks)."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from session.calendar import MarketCalendar, SessionDay
    from session.config import TradedayConfig


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


def build_context(config: TradedayConfig, mode: str, *, now: datetime | None = None,
                  calendar: MarketCalendar | None = None, start_now: bool = False,
                  notify_test: bool = False, own_lock: bool = False,
                  environ: dict[str, str] | None = None) -> CheckContext:
    """The context of a real precheck: now, this process's environment, the config's calendar
    (or ``calendar``, when the caller has built it already)."""
    from session.calendar import MarketCalendar

    def factory() -> MarketCalendar:
        return calendar or MarketCalendar.from_config(config)

    return CheckContext(config, mode, now or datetime.now(UTC),
                        dict(os.environ if environ is None else environ), factory,
                        start_now=start_now, notify_test=notify_test, own_lock=own_lock)
