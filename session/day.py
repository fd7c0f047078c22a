"""``tradeday run``: one trading day from cron's start to the end of day.

Order matters and is the product's promise: live guard before anything, the single-instance
lock, prechecks, wait for the open, supervise the engines until the close, stop them, the
end of day, the final state. Signals at any point stop the engines the same way.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time as monotonic_time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.exitcodes import ExitCode
from session.state import Phase, StateFile, state_path

if TYPE_CHECKING:
    from session.calendar import MarketCalendar, SessionDay
    from session.config import TradedayConfig
    from session.supervisor import EngineSpec, Supervisor

log = logging.getLogger("tradeday.run")

@dataclass
class RunOptions:
    mode: str
    dry_run: bool = False
    no_analytics: bool = False
    no_backtest: bool = False
    no_eod: bool = False
    start_now: bool = False
    duration: float | None = None
    quiet: bool = False
    forever: bool = False
    as_json: bool = False
    log_level: str = "INFO"


@dataclass
class SessionWindow:
    """When to start and stop the engines for one day (all tz-aware)."""

    start_at: datetime
    stop_at: datetime | None  # None: until the engines finish or a signal
    open: datetime  # the market open; with --start-now on a day without a session, the start
    close: datetime | None  # None only with --start-now on a day without a session, without --duration


def plan_window(day: SessionDay, now: datetime, *, start_before_open: float, stop_after_close: float,
                start_now: bool, duration: float | None) -> SessionWindow | None:
    """Pure: the session window for ``day`` seen at ``now``; None when there is nothing to run.

    ``start_now`` skips the wait (a demo, a test, a manual run); ``duration`` bounds the
    session from its start. A run started after the open starts at once; after the close
    (plus ``stop_after_close``) there is nothing to do.
    """
    if start_now:
        stop_at = now + timedelta(seconds=duration) if duration else None
        if day.is_trading_day and day.close is not None:
            day_stop = day.close + timedelta(seconds=stop_after_close)
            if day_stop > now:
                stop_at = min(stop_at, day_stop) if stop_at else day_stop
        return SessionWindow(start_at=now, stop_at=stop_at, open=day.open or now, close=day.close or stop_at)
    if not day.is_trading_day or day.open is None or day.close is None:
        return None
    stop_at = day.close + timedelta(seconds=stop_after_close)
    if now >= stop_at:
        return None
    start_at = max(now, day.open - timedelta(seconds=start_before_open))
    if duration:
        stop_at = min(stop_at, start_at + timedelta(seconds=duration))
    return SessionWindow(start_at=start_at, stop_at=stop_at, open=day.open, close=day.close)


def engine_specs(config: TradedayConfig, mode: str, day: date, window: SessionWindow,
                 environ: dict[str, str]) -> list[EngineSpec]:
    """The supervisor's spec of every enabled engine (session/engines.py maps each entry)."""
    from session.engines import engine_spec

    logs = config.logs_dir / day.isoformat()
    heartbeats = config.state_dir / "heartbeat" / day.isoformat()
    heartbeats.mkdir(parents=True, exist_ok=True)
    journal = config.journal_path(day)
    journal.parent.mkdir(parents=True, exist_ok=True)
    return [
        engine_spec(config, e, mode=mode, day=day, session_open=window.open, session_close=window.close,
                    environ=environ, log_file=logs / f"{e.name}.log", heartbeat=heartbeats / f"{e.name}.heartbeat",
                    journal=journal)
        for e in config.engines
        if e.enabled
    ]


def _fmt_bytes(n: int | None) -> str:
    return "-" if not n else f"{n / 1024**2:.0f}MB"


@dataclass
class DayRun:
    """One ``tradeday run`` invocation (possibly several days with ``--forever``)."""

    config: TradedayConfig
    options: RunOptions
    stop_requested: threading.Event = field(default_factory=threading.Event)
    kill_now: threading.Event = field(default_factory=threading.Event)
    signal_received: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.last_day: SessionDay | None = None
        self.hub: Any = None
        self.supervisor: Supervisor | None = None
        self.state: StateFile | None = None
        self._config_mtime = self._mtime()

    # --- notifications -------------------------------------------------------------------

    def _open_hub(self) -> None:
        from session.notify import NotificationHub

        self.hub = NotificationHub(self.config.notifications, self.config.outbox_path)
        self.hub.drain_outbox()

    def notify(self, event: str, level: str, title: str, message: str, fields: dict[str, Any] | None = None,
               key: str | None = None) -> None:
        if self.hub is not None:
            self.hub.emit(event, level, title, message, fields=fields, key=key)

    # --- the loop over days ----------------------------------------------------------------

    def run(self) -> int:
        from session.calendar import MarketCalendar
        from session.supervisor import install_stop_signals

        restore = install_stop_signals(self.stop_requested, self.kill_now, self.signal_received)
        try:
            self._open_hub()
            if self.hub is not None:
                self.hub.ping("start")
            code = ExitCode.OK
            while True:
                cal = MarketCalendar.from_market_config(self.config.market)
                code = self.run_one_day(cal)
                if not self.options.forever or self.stop_requested.is_set() or code in (
                        ExitCode.PRECHECK_FAILED, ExitCode.LOCKED) or self.options.dry_run:
                    break
                if not self._sleep_until_next_session(cal):
                    code = self._signal_exit_code() if self.stop_requested.is_set() else code
                    break
                # --start-now is for the session it started; later ones follow the calendar.
                self.options.start_now = False
            if self.hub is not None:
                self.hub.ping("success" if code == ExitCode.OK else "fail")
            return int(code)
        finally:
            if self.hub is not None:
                self.hub.close(self.config.notifications.flush_timeout)
            restore()

    def _signal_exit_code(self) -> ExitCode:
        import signal

        if self.signal_received and self.signal_received[0] == signal.SIGINT:
            return ExitCode.SIGINT
        return ExitCode.SIGTERM

    def _sleep_until_next_session(self, cal: MarketCalendar) -> bool:
        """--forever: sleep until shortly before the next session that has not been run."""
        from session.waiting import sleep_until

        now = datetime.now(UTC)
        after = now
        ran = self.last_day
        if ran is not None and not self.options.start_now and ran.close is not None:
            # The calendar session of that day was run: the next one opens after its close.
            after = max(now, ran.close)
        next_open = cal.get_next_market_open(after + timedelta(seconds=1))
        if next_open is None:
            log.error("no known next session for %s (calendar data ends); stopping --forever", cal.name)
            return False
        wake = next_open - timedelta(seconds=self.config.session.start_before_open) - timedelta(minutes=5)
        log.info("--forever: next session opens %s; sleeping until %s", next_open.isoformat(), wake.isoformat())
        if self.state is not None:
            self.state.update(message=f"--forever: sleeping until {wake.isoformat()}")
        if wake > now and not sleep_until(wake, self.stop_requested, step=1.0):
            log.info("--forever: stopped while sleeping")
            return False
        self._reload_config()
        return True

    # --- one day ---------------------------------------------------------------------------

    def run_one_day(self, cal: MarketCalendar) -> ExitCode:
        from session.lock import acquire_day_lock

        now = datetime.now(UTC)
        today = cal.session(cal.today(now))
        self.last_day = today
        with acquire_day_lock(self.config.artifacts_dir, today.date):
            return self._run_locked(cal, today)

    def _run_locked(self, cal: MarketCalendar, today: SessionDay) -> ExitCode:
        from core.logsetup import setup_logging
        from session.checks import run_precheck

        opts = self.options
        day = today.date
        setup_logging(opts.log_level, self.config.logs_dir / day.isoformat() / "tradeday.log")
        self.state = StateFile(state_path(self.config.artifacts_dir, day), day=day, mode=opts.mode,
                               config_path=str(self.config.path), calendar=cal.name)
        self.state.update(phase=Phase.PRE_MARKET, session={"open": _iso(today.open), "close": _iso(today.close)})
        log.info("tradeday run %s: %s, mode %s, config %s (sha256 %s)", day, cal.name, opts.mode,
                 self.config.path, self.config.sha256[:12])

        report = run_precheck(self.config, opts.mode, calendar=cal, start_now=opts.start_now, own_lock=True)
        if opts.dry_run:
            from session.checks.render import render_report

            render_report(report, as_json=opts.as_json)
            self.state.update(phase=Phase.DONE, exit_code=0 if report.ok else 1, message="dry run")
            return ExitCode.OK if report.ok else ExitCode.PRECHECK_FAILED
        failures = report.failures()
        for r in report.results:
            if r.level.name != "INFO" and not r.silenced:
                log.log(logging.ERROR if r.level.name == "ERROR" else logging.WARNING,
                        "precheck %s: %s%s", r.id, r.message, f" (hint: {r.hint})" if r.hint else "")
        if failures:
            lines = "\n".join(f"{r.id}: {r.message}" for r in failures)
            self.notify("precheck_failed", "CRITICAL", f"precheck failed for {day}", lines,
                        fields={"failing": len(failures)})
            self.state.update(phase=Phase.ERROR, exit_code=ExitCode.PRECHECK_FAILED, message="precheck failed")
            log.error("precheck failed (%d problem(s)); engines not started", len(failures))
            return ExitCode.PRECHECK_FAILED
        warned = [r for r in report.results if r.level.name == "WARNING" and not r.silenced]
        if warned:
            self.notify("precheck_warned", "WARNING", f"precheck warnings for {day}",
                        "\n".join(f"{r.id}: {r.message}" for r in warned))

        now = datetime.now(UTC)
        if opts.start_now:
            log.warning("--start-now: not waiting for the calendar; the session starts now%s",
                        f" for {opts.duration:g}s" if opts.duration else "")
        window = plan_window(today, now, start_before_open=self.config.session.start_before_open,
                             stop_after_close=self.config.session.stop_after_close, start_now=opts.start_now,
                             duration=opts.duration)
        if window is None:
            if not today.is_trading_day:
                why = f"holiday: {today.holiday}" if today.holiday else (
                    "weekend" if day.weekday() >= 5 else "exchange closed")
                msg = f"no session today ({day}, {why})"
                self.notify("no_session", "INFO", msg, msg)
            else:
                msg = f"today's session is over (closed {today.close:%H:%M} {cal.timezone}); nothing to do"
            log.info(msg)
            self.state.update(phase=Phase.DONE, exit_code=0, message=msg)
            return ExitCode.OK

        if window.start_at > now:
            from session.waiting import sleep_until

            self.state.update(phase=Phase.WAITING, session={"start_at": _iso(window.start_at)})
            log.info("waiting until %s (open %s)", window.start_at.astimezone(cal.tz).strftime("%H:%M:%S %Z"),
                     _iso(window.open))
            if not sleep_until(window.start_at, self.stop_requested, step=1.0):
                code = self._signal_exit_code()
                log.warning("interrupted while waiting for the open; no engine was started")
                self.notify("interrupted", "WARNING", "tradeday interrupted", "stopped while waiting for the open")
                self.state.update(phase=Phase.DONE, exit_code=code, message="interrupted while waiting")
                return code

        engines_code = self._trade(day, window, cal.tz)
        interrupted = self.stop_requested.is_set() and bool(self.signal_received)

        eod_code = ExitCode.OK
        if interrupted:
            log.warning("interrupted: end of day skipped; run `tradeday eod` to produce the report")
            self.notify("interrupted", "WARNING", "tradeday interrupted",
                        "engines stopped after a signal; end of day skipped")
        elif not opts.no_eod and self.config.eod.enabled:
            eod_code = self._end_of_day(day)

        code = self._signal_exit_code() if interrupted else (engines_code or eod_code)
        self.state.update(phase=Phase.DONE, exit_code=int(code))
        log.info("tradeday run %s done: exit %d", day, int(code))
        return code

    # --- trading ---------------------------------------------------------------------------

    def _trade(self, day: date, window: SessionWindow, tz: Any) -> ExitCode:
        from session.supervisor import Supervisor

        specs = engine_specs(self.config, self.options.mode, day, window, dict(os.environ))
        console = None if self.options.quiet else sys.stdout.buffer
        self.supervisor = Supervisor(
            specs, console=console, quiet=self.options.quiet, on_transition=self._on_transition,
            on_line=self._on_engine_line, on_line_prefix=b"@tradeday ", on_event=self._on_engine_event,
            logger=logging.getLogger("tradeday.engine"), timezone=tz,
        )
        assert self.state is not None
        self.state.update(phase=Phase.TRADING, session={"stop_at": _iso(window.stop_at)})
        try:
            return self._supervise(day, window, specs)
        finally:
            # Whatever happened above (a bug, an exception from a callback), no engine may be
            # left running unsupervised. stop_all() is idempotent.
            self.supervisor.stop_all(kill_now=self.kill_now)

    def _supervise(self, day: date, window: SessionWindow, specs: list[EngineSpec]) -> ExitCode:
        assert self.supervisor is not None and self.state is not None
        self.supervisor.start()
        names = ", ".join(s.name for s in specs)
        stop_text = window.stop_at.isoformat() if window.stop_at else "the engines finish"
        log.info("session started: %s; stopping at %s", names, stop_text)
        self.notify("session_started", "INFO", f"session started {day}", f"engines: {names}; stop at {stop_text}")

        stop_at = window.stop_at
        heartbeat_every = self.config.session.heartbeat_interval
        next_heartbeat = monotonic_time.monotonic() + heartbeat_every
        outcome = "deadline"
        while True:
            # Wake at least every 2 s to honour a hot reload or a heartbeat.
            chunk_end = datetime.now(UTC) + timedelta(seconds=min(2.0, max(heartbeat_every, 0.5)))
            if stop_at is not None:
                chunk_end = min(chunk_end, stop_at)
            outcome = self.supervisor.run_until(chunk_end, self.stop_requested)
            if outcome in ("stopped", "all_finished"):
                break
            if stop_at is not None and datetime.now(UTC) >= stop_at:
                outcome = "deadline"
                break
            if monotonic_time.monotonic() >= next_heartbeat:
                self._heartbeat()
                heartbeat_every = self.config.session.heartbeat_interval
                next_heartbeat = monotonic_time.monotonic() + heartbeat_every
            new_stop = self._maybe_reload(window)
            if new_stop is not None:
                stop_at = new_stop

        reason = {"deadline": "scheduled stop (market close)", "stopped": "signal",
                  "all_finished": "every engine finished"}[outcome]
        self.state.update(phase=Phase.STOPPING, message=f"stopping: {reason}")
        log.info("stopping engines: %s", reason)
        self.supervisor.stop_all(kill_now=self.kill_now)
        self._write_engines_state()
        failed = self.supervisor.any_failed()
        summary = ", ".join(f"{s.name} {s.state.value if hasattr(s.state, 'value') else s.state}"
                            for s in self.supervisor.snapshot())
        self.notify("session_closed", "INFO", f"engines stopped {day}", f"{reason}; {summary}")
        return ExitCode.ENGINE_FAILED if failed else ExitCode.OK

    def _write_engines_state(self) -> None:
        if self.supervisor is not None and self.state is not None:
            self.state.update(engines=[s.to_json() for s in self.supervisor.snapshot()])

    def _on_transition(self, status: Any, old: Any, new: Any) -> None:
        self._write_engines_state()

    def _on_engine_line(self, engine: str, line: bytes) -> bool:
        if not line.startswith(b"@tradeday "):
            return False
        from session.notify import parse_engine_line

        msg = parse_engine_line(line, engine)
        if msg is None:
            return False
        log.info("engine %s: %s: %s", engine, msg.level.name, msg.title)
        if self.hub is not None:
            self.hub.emit_message(msg)
        return True

    def _on_engine_event(self, engine: str, event: str, info: dict[str, Any]) -> None:
        detail = ", ".join(f"{k}={v}" for k, v in info.items())
        if event == "restarted":
            self.notify("engine_restarted", "WARNING", f"engine {engine} restarted", detail, fields=info,
                        key=f"engine_restarted:{engine}")
        elif event == "hung":
            self.notify("engine_hung", "WARNING", f"engine {engine} hung and was killed", detail, fields=info)
        elif event in ("fatal", "gave_up"):
            self.notify("engine_fatal", "CRITICAL", f"engine {engine} gave up", detail, fields=info)

    def _heartbeat(self) -> None:
        assert self.supervisor is not None and self.state is not None
        parts = []
        for s in self.supervisor.snapshot():
            state = s.state.value if hasattr(s.state, "value") else s.state
            parts.append(f"{s.name}={state} pid={s.pid or '-'} up={int(s.uptime_s or 0)}s "
                         f"restarts={s.restarts} rss={_fmt_bytes(s.rss_bytes)} cpu={s.cpu_percent or 0:.0f}% "
                         f"lines={s.lines_since_heartbeat}")
        log.info("heartbeat phase=%s %s", self.state.data["phase"], "; ".join(parts))
        self.supervisor.mark_heartbeat()
        self._write_engines_state()

    # --- hot reload ------------------------------------------------------------------------

    def _mtime(self) -> float | None:
        try:
            return self.config.path.stat().st_mtime if self.config.path else None
        except OSError:
            return None

    def _maybe_reload(self, window: SessionWindow) -> datetime | None:
        """Apply a changed config's safe keys; return a new stop time if it moved."""
        mtime = self._mtime()
        if mtime is None or mtime == self._config_mtime:
            return None
        self._config_mtime = mtime
        old = self.config
        if not self._reload_config():
            return None
        from session.engines import engine_policy

        new = self.config
        assert self.supervisor is not None
        changed = []
        old_engines = {e.name: e for e in old.engines}
        for e in new.engines:
            before = old_engines.get(e.name)
            if before is None:
                log.warning("config reload: new engine %s needs a restart of tradeday to start", e.name)
                continue
            if (before.command, before.cwd, before.env) != (e.command, e.cwd, e.env):
                log.warning("config reload: engine %s command/cwd/env changed; takes effect at the next start "
                            "of tradeday (restart needed)", e.name)
            policy = engine_policy(e)
            if engine_policy(before) != policy:
                self.supervisor.update_policy(e.name, **policy.changes())
                changed.append(f"engines.{e.name} restart policy")
        if new.session.heartbeat_interval != old.session.heartbeat_interval:
            changed.append("session.heartbeat_interval")
        if new.notifications != old.notifications and self.hub is not None:
            # Swap hubs and let the old one flush in the background: closing it here would
            # hold up supervision for its flush timeout.
            previous = self.hub
            self._open_hub()
            threading.Thread(target=previous.close, args=(2.0,), name="notify-close", daemon=True).start()
            changed.append("notifications")
        new_stop = None
        if new.session.stop_after_close != old.session.stop_after_close and window.close and not self.options.duration:
            new_stop = window.close + timedelta(seconds=new.session.stop_after_close)
            changed.append("session.stop_after_close")
        if changed:
            log.info("config reloaded (sha256 %s): applied %s", new.sha256[:12], ", ".join(changed))
            self.notify("config_reloaded", "INFO", "config reloaded", "applied: " + ", ".join(changed))
        return new_stop

    def _reload_config(self) -> bool:
        from core.errors import ConfigError
        from session.config import load_config

        try:
            new = load_config(self.config.path, record=True)
        except ConfigError as exc:
            log.error("config change rejected, keeping the running config: %s", exc)
            self.notify("config_rejected", "WARNING", "config change rejected", str(exc))
            return False
        if new.mode != self.config.mode:
            log.error("config reload: mode changed to %s; mode changes need a restart (ignored)", new.mode)
            self.notify("config_rejected", "WARNING", "config change rejected", "mode cannot change while running")
            return False
        self.config = new
        return True

    # --- end of day ------------------------------------------------------------------------

    def _end_of_day(self, day: date) -> ExitCode:
        from session.eod import EodOptions, run_eod

        assert self.state is not None
        self.state.update(phase=Phase.EOD)
        session_info = {
            "status": "completed",
            "engines": [s.to_json() for s in self.supervisor.snapshot()] if self.supervisor else [],
        }
        result = run_eod(self.config, day, EodOptions(
            mode=self.options.mode, analytics=not self.options.no_analytics,
            backtest=not self.options.no_backtest, session_info=session_info,
        ), hub=self.hub)
        for kind, path in result.report_paths.items():
            sys.stdout.write(f"report ({kind}): {path}\n")
        sys.stdout.flush()
        return ExitCode(result.exit_code)  # 0, or EOD_FAILED (the end of day's contract)


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None


