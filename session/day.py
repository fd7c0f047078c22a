"""``tradeday run``: one trading day from cron's start to the end of day.

Order matters and is the product's promise: live guard before anything, the single-instance
lock, prechecks, wait for the open, supervise the engines until the close, stop them, the
end of day, the final state. Signals at any point stop what runs and exit 128 + the signal
(session/supervisor/signals.py): the supervision loop and the wait for the open poll the stop
flag; the prechecks and the end of day (hooks, report steps) are interrupted where they are.

Clocks: the market's open and close are wall-clock moments (session/wallclock.py logs a jump);
``--duration`` runs on the monotonic clock. Hot reload loads a changed config on a thread of its
own (session/reload.py); the loop only applies a finished, validated result.
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
from core.logsetup import clock
from session.run_summary import DayRecorder, RunObserver
from session.state import Phase, StateFile, earlier_runs, state_path
from session.supervisor.signals import Interrupted, signal_name
from session.wallclock import StopOrTime, WatchedClock
from session.window import SessionWindow, late_start_text, plan_window

__all__ = ["DayRun", "RunOptions", "SessionWindow", "engine_specs", "plan_window"]

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from session.calendar import MarketCalendar, SessionDay
    from session.config import TradedayConfig
    from session.reload import ConfigWatcher
    from session.supervisor import EngineSpec, Supervisor
    from session.supervisor.signals import StopSignals

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
    console: RunObserver | None = None  # what a person watching sees (cli/run_console.py); None: the log only


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


@dataclass
class DayRun:
    """One ``tradeday run`` invocation (possibly several days with ``--forever``)."""

    config: TradedayConfig
    options: RunOptions
    stop_requested: threading.Event = field(default_factory=threading.Event)
    kill_now: threading.Event = field(default_factory=threading.Event)
    signal_received: list[int] = field(default_factory=list)
    state_file: Any = StateFile  # the Python API's TradingOrchestrator passes one that reports phases
    stop_by_api: bool = False  # TradingOrchestrator.stop(): ends the day as a stop signal does

    def __post_init__(self) -> None:
        self.last_day: SessionDay | None = None
        self.hub: Any = None
        self.supervisor: Supervisor | None = None
        self.state: StateFile | None = None
        self.signals: StopSignals | None = None
        self.clock = WatchedClock()
        self.watcher: ConfigWatcher | None = None
        self._config_stamp = self._stamp()
        self.recorder = DayRecorder(self.options.console)  # .summary: the day's summary (the last day's)

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
        from core.diskfaults import DISK_FAULTS
        from session.calendar import MarketCalendar
        from session.supervisor import install_stop_signals

        restore = self.signals = install_stop_signals(self.stop_requested, self.kill_now, self.signal_received)
        unsubscribe = DISK_FAULTS.subscribe(self._on_disk_full)  # any thread: notify only queues
        try:
            self._open_hub()
            if self.hub is not None:
                self.hub.ping("start")
            code = ExitCode.OK
            while True:
                cal = MarketCalendar.from_config(self.config)
                code = self.run_one_day(cal)
                if not self.options.forever or self.stop_requested.is_set() or code in (
                        ExitCode.PRECHECK_FAILED, ExitCode.LOCKED) or self.options.dry_run:
                    break
                if not self._sleep_until_next_session(cal):
                    code = self._signal_exit_code() if self.stop_requested.is_set() else code
                    break
                # --start-now is for the session it started; later ones follow the calendar.
                self.options.start_now = False
            seen = len(self.signal_received)  # the day's work is done: a signal from now on is "DONE"
            if self.hub is not None:
                self.hub.ping("success" if code == ExitCode.OK else "fail")
            return int(self._flush_notifications(code, seen))
        finally:
            if self.watcher is not None:
                self.watcher.stop()
            if self.hub is not None:
                self.hub.close(self.config.notifications.flush_timeout)
            unsubscribe()
            restore()

    def _signal_exit_code(self) -> ExitCode:
        """128 + the first stop signal: 143 SIGTERM, 130 SIGINT, 129 SIGHUP."""
        return ExitCode(128 + self.signal_received[0]) if self.signal_received else ExitCode.SIGTERM

    def _raising(self) -> AbstractContextManager[None]:
        """Signals raise Interrupted inside the block (prechecks, the end of day)."""
        from contextlib import nullcontext

        return self.signals.raising() if self.signals is not None else nullcontext()

    def _flush_notifications(self, code: ExitCode, seen: int) -> ExitCode:
        """DONE: send what is queued, for at most flush_timeout; a stop signal that arrives now
        cuts the flush short (the rest goes to the outbox) and is the exit code."""
        from session.finish import flush_notifications

        hub, self.hub = self.hub, None
        signum = flush_notifications(hub, self.config.notifications.flush_timeout, self.signal_received, seen)
        if signum is None:
            return code
        if code not in (ExitCode.SIGINT, ExitCode.SIGTERM, ExitCode.SIGHUP):
            code = ExitCode(128 + signum)
        log.warning("%s while sending the last notifications: the unsent ones are kept in %s for the next run",
                    signal_name(signum), self.config.outbox_path)
        if self.state is not None:
            self.state.update(exit_code=int(code), message=f"stopped by {signal_name(signum)} while sending the "
                                                           "last notifications (kept in the outbox)")
        return code

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
        log.info("--forever: next session opens %s; sleeping until %s", clock(next_open, date=True), clock(wake, date=True))
        if self.state is not None:
            self.state.update(message=f"--forever: sleeping until {clock(wake, date=True)}")
        if wake > now and not sleep_until(wake, self.stop_requested, step=1.0, now=self.clock.now):
            log.info("--forever: stopped while sleeping")
            return False
        # A new day is a new run: every key of the file applies, not only the reloadable ones.
        self._config_stamp = self._stamp()
        self._reload_config()
        return True

    # --- one day ---------------------------------------------------------------------------

    def run_one_day(self, cal: MarketCalendar) -> ExitCode:
        from session.lock import acquire_day_lock

        now = datetime.now(UTC)
        today = cal.session(cal.today(now))
        self.last_day = today
        from session.checks.filesystem import require_usable_folders

        require_usable_folders(self.config)  # the lock and the log are written there: exit 1 if it cannot
        with acquire_day_lock(self.config.artifacts_dir, today.date):
            self.recorder.begin(today, cal, self.options.mode, self.config.path, dry_run=self.options.dry_run)
            return self.recorder.finish(self._run_locked(cal, today), self.state)  # the summary: the console's

    def _run_locked(self, cal: MarketCalendar, today: SessionDay) -> ExitCode:
        from core.logsetup import setup_logging

        opts = self.options
        day = today.date
        setup_logging(opts.log_level, self.config.logs_dir / day.isoformat() / "tradeday.log",
                      max_bytes=self.config.session.log_max_size, backups=self.config.session.log_backups, tz=cal.tz)
        self._open_state(cal, day)
        assert self.state is not None
        self.state.update(phase=Phase.PRE_MARKET, session={"open": _iso(today.open), "close": _iso(today.close)})
        log.info("tradeday run %s: %s, mode %s, config %s (sha256 %s)", day, cal.name, opts.mode,
                 self.config.path, self.config.sha256[:12])
        try:
            with self._raising():
                precheck_code = self._precheck(cal, day)
        except Interrupted as exc:
            return self._interrupted(exc.signum, "during the prechecks (PRE_MARKET)", "no engine was started")
        if precheck_code is not None:
            return precheck_code

        now = self.clock.now()
        if opts.start_now:
            # Asked for on the command line: with --quiet (cron) it is no news worth a mail.
            log.log(logging.INFO if opts.quiet else logging.WARNING,
                    "--start-now: not waiting for the calendar; the session starts now%s",
                    f" for {opts.duration:g}s" if opts.duration else "")
        window = plan_window(today, now, start_before_open=self.config.session.start_before_open,
                             stop_after_close=self.config.session.stop_after_close, start_now=opts.start_now,
                             duration=opts.duration)
        if window is None:
            return self._nothing_to_run(cal, today)
        if self.stop_requested.is_set() or (window.start_at > now and not self._wait_for_start(window, cal)):
            code = self._signal_exit_code()
            log.warning("interrupted while waiting for the open; no engine was started")
            self.notify("interrupted", "WARNING", "tradeday interrupted", "stopped while waiting for the open")
            self.state.update(phase=Phase.DONE, exit_code=code, message="interrupted while waiting")
            return code
        self._warn_if_late(today, cal)

        engines_code = self._trade(day, window, cal.tz)
        if self.stop_requested.is_set() and (self.signal_received or self.stop_by_api):
            log.warning("interrupted: end of day skipped; run `tradeday eod` to produce the report")
            self.notify("interrupted", "WARNING", "tradeday interrupted",
                        "engines stopped after a signal; end of day skipped")
            code = self._signal_exit_code()
        else:
            eod_code = ExitCode.OK
            if not opts.no_eod and self.config.eod.enabled:
                try:
                    with self._raising():
                        eod_code = self._end_of_day(day)
                except Interrupted as exc:
                    step = exc.step or "setup"
                    return self._interrupted(exc.signum, f"during the end of day ({step} step)",
                                             f"no report written; run `tradeday eod --date {day}` to finish it")
            code = engines_code or eod_code
        self.state.update(phase=Phase.DONE, exit_code=int(code))
        log.info("tradeday run %s done: exit %d", day, int(code))
        return code

    def _open_state(self, cal: MarketCalendar, day: date) -> None:
        """A new run in the day's record: earlier runs kept, a damaged file moved aside."""
        path = state_path(self.config.artifacts_dir, day)
        previous, aside = earlier_runs(path)
        self.state = self.state_file(path, day=day, mode=self.options.mode, config_path=str(self.config.path),
                                     calendar=cal.name, previous_runs=previous)
        if aside is not None:
            log.warning("the state file %s was damaged; moved it to %s and started a new record of the day",
                        path, aside)
        elif previous:
            log.info("run %d of %s (earlier runs are kept in %s)", len(previous) + 1, day, path)

    def _precheck(self, cal: MarketCalendar, day: date) -> ExitCode | None:
        """Run the prechecks; an exit code to stop with (dry run, failure), or None to go on."""
        from session.checks import run_precheck

        opts = self.options
        assert self.state is not None
        report = run_precheck(self.config, opts.mode, calendar=cal, start_now=opts.start_now, own_lock=True)
        from session.guard import enforce_paper_live_guard  # an invariant: no checks.* setting turns it off

        report = enforce_paper_live_guard(self.config, opts.mode, report)
        if opts.dry_run:
            from session.checks.render import render_report

            render_report(report, as_json=opts.as_json)
            self.state.update(phase=Phase.DONE, exit_code=0 if report.ok else 1, message="dry run")
            return ExitCode.OK if report.ok else ExitCode.PRECHECK_FAILED
        failures = report.failures()
        self.recorder.prechecks(report)
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
        return None

    def _nothing_to_run(self, cal: MarketCalendar, today: SessionDay) -> ExitCode:
        assert self.state is not None
        day = today.date
        if not today.is_trading_day:
            why = f"holiday: {today.holiday}" if today.holiday else (
                "weekend" if day.weekday() >= 5 else "exchange closed")
            msg = f"no session today ({day}, {why})"
            self.notify("no_session", "INFO", msg, msg)
        else:
            msg = f"today's session is over (closed {clock(today.close, cal.tz)}, {cal.timezone}); nothing to do"
        log.info(msg)
        self.state.update(phase=Phase.DONE, exit_code=0, message=msg)
        return ExitCode.OK

    def _wait_for_start(self, window: SessionWindow, cal: MarketCalendar) -> bool:
        """WAITING until the start, on the wall clock; False if a stop signal came first."""
        from session.waiting import sleep_until

        assert self.state is not None
        self.state.update(phase=Phase.WAITING,
                          session={"start_at": _iso(window.start_at), "stop_at": _iso(window.stop_at)})
        log.info("waiting until %s (open %s)", clock(window.start_at, cal.tz, date=True),
                 clock(window.open, cal.tz, date=True))
        with self.recorder.waiting(window.start_at, window.open):  # a console counts down
            return sleep_until(window.start_at, self.stop_requested, step=1.0, now=self.clock.now)

    def _warn_if_late(self, today: SessionDay, cal: MarketCalendar) -> None:
        """Loud when the engines start well after ``open - start_before_open`` (issue 12): cron
        firing in the wrong timezone looks exactly like this, day after day."""
        if self.options.start_now:
            return
        now = self.clock.now()
        late = late_start_text(today, now, self.config.session.start_before_open, cal.tz)
        if late is None:
            return
        title, text, fields = late
        log.warning("%s", text)
        self.notify("late_start", "WARNING", title, text, fields=fields)

    def _interrupted(self, signum: int, where: str, consequence: str) -> ExitCode:
        """A stop signal ended the run {where}: say so, record it, exit 128 + the signal."""
        assert self.state is not None
        code = ExitCode(128 + signum)
        message = f"interrupted by {signal_name(signum)} {where}; {consequence}"
        log.warning("%s", message)
        self.notify("interrupted", "WARNING", "tradeday interrupted", message)
        self.state.update(phase=Phase.DONE, exit_code=int(code), message=message)
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
        if self.config.path is not None:
            from session.reload import ConfigWatcher

            self.watcher = ConfigWatcher(self.config.path, self.config.config_history_dir,
                                         baseline=self._config_stamp).start()
        from session.live import LiveSession  # the loss limit and engine control, beside the loop

        self.live = LiveSession(self, day).start()
        try:
            return self._supervise(day, window, specs)
        finally:
            self.live.close()
            # Whatever happened above (a bug, an exception from a callback), no engine may be
            # left running unsupervised. stop_all() is idempotent.
            self.supervisor.stop_all(kill_now=self.kill_now)
            if self.watcher is not None:
                self.watcher.stop()
                self.watcher = None

    def _supervise(self, day: date, window: SessionWindow, specs: list[EngineSpec]) -> ExitCode:
        assert self.supervisor is not None and self.state is not None
        self.live.start_engines()  # none when the day is already past its loss limit
        names = ", ".join(s.name for s in specs)
        stop_text = clock(window.stop_at, date=True) if window.stop_at else "the engines finish"
        log.info("session started: %s; stopping at %s", names, stop_text)
        self.notify("session_started", "INFO", f"session started {day}", f"engines: {names}; stop at {stop_text}")
        self.recorder.engines_started([s.name for s in specs], window.stop_at)

        market_stop = window.market_stop  # the close (+ stop_after_close): the wall clock's
        began = monotonic_time.monotonic()
        duration_end = began + window.duration if window.duration else None  # --duration: monotonic
        heartbeat_every = self.config.session.heartbeat_interval
        next_heartbeat = began + heartbeat_every
        reason = ""
        while True:
            # Wake at least every 2 s to pick up a hot reload or write a heartbeat.
            now = monotonic_time.monotonic()
            chunk_end = now + min(2.0, max(heartbeat_every, 0.5))
            if duration_end is not None:
                chunk_end = min(chunk_end, duration_end)
            self.clock.now()  # a wall-clock jump is logged (the close moved with it)
            if self.live.loss_limit_hit.is_set():
                outcome, reason = "deadline", "loss limit"
                break
            outcome = self.supervisor.run_until(market_stop, StopOrTime(self.stop_requested, chunk_end))
            if self.stop_requested.is_set():
                outcome = "stopped"
                break
            if outcome == "all_finished":
                break
            if market_stop is not None and self.clock.now() >= market_stop:
                outcome, reason = "deadline", "scheduled stop (market close)"
                break
            if duration_end is not None and monotonic_time.monotonic() >= duration_end:
                outcome, reason = "deadline", f"scheduled stop (--duration {window.duration:g}s)"
                break
            if monotonic_time.monotonic() >= next_heartbeat:
                self._heartbeat()
                heartbeat_every = self.config.session.heartbeat_interval
                next_heartbeat = monotonic_time.monotonic() + heartbeat_every
            market_stop = self._apply_reload(window) or market_stop

        if outcome != "deadline":
            reason = {"stopped": "signal" if self.signal_received else "stop requested",
                      "all_finished": "every engine finished"}[outcome]
        self.state.update(phase=Phase.STOPPING, message=f"stopping: {reason}")
        log.info("stopping engines: %s", reason)
        self.recorder.engines_stopping(reason)
        self.supervisor.stop_all(kill_now=self.kill_now, reason=reason)
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
        # The engine's name once, as on its output lines (the title carries it for notifications).
        log.info("[%s] %s: %s", engine, msg.level.name, msg.title.removeprefix(f"{engine}: "))
        if self.hub is not None:
            self.hub.emit_message(msg)
        return True

    def _on_disk_full(self, fault: Any) -> None:
        """core.diskfaults: the first write of an episode failed (a full, failing or read-only disk)."""
        self.notify("disk_full", "CRITICAL", f"disk {'full' if fault.full else 'failing'}: cannot write {fault.what}",
                    f"{fault.path}: {fault.error}. Trading continues; engine output and log lines are dropped "
                    "(counted) and the state file keeps its last good content until space returns.",
                    fields={"path": fault.path, "error": fault.error}, key="disk_full")

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
        parts = [s.heartbeat_text() for s in self.supervisor.snapshot()]
        log.info("heartbeat phase=%s %s", self.state.data["phase"], "; ".join(parts))
        self.supervisor.mark_heartbeat()
        self._write_engines_state()

    # --- hot reload ------------------------------------------------------------------------

    def _stamp(self) -> Any:
        from session.reload import file_stamp

        return file_stamp(self.config.path)

    def _apply_reload(self, window: SessionWindow) -> datetime | None:
        """Apply what the reload thread finished, if anything: the reloadable keys now, a
        ``config_rejected`` event for the others. Returns a new market stop if it moved."""
        change = self.watcher.take() if self.watcher is not None else None
        if change is None:
            return None
        if change.config is None:
            log.error("config change rejected, keeping the running config: %s", change.error)
            self.notify("config_rejected", "WARNING", "config change rejected", str(change.error))
            return None
        from session.engines import engine_policy
        from session.reload import describe_rejected, plan_reload

        plan = plan_reload(self.config, change.config)
        if plan.rejected:
            text = describe_rejected(plan.rejected)
            log.warning("config change not applied: %s", text)
            self.notify("config_rejected", "WARNING", "config change not applied", text,
                        fields={"keys": ", ".join(plan.rejected)})
        if not plan.applied:
            return None
        self.config = plan.merged
        assert self.supervisor is not None
        for entry in plan.merged.engines:
            if entry.name in plan.engines:
                self.supervisor.update_policy(entry.name, **engine_policy(entry).changes())
        if "notifications" in plan.applied and self.hub is not None:
            # Swap hubs and let the old one flush in the background: closing it here would
            # hold up supervision for its flush timeout.
            previous = self.hub
            self._open_hub()
            threading.Thread(target=previous.close, args=(2.0,), name="notify-close", daemon=True).start()
        new_stop = None
        if "session.stop_after_close" in plan.applied and window.market_stop is not None and window.close:
            new_stop = window.close + timedelta(seconds=plan.merged.session.stop_after_close)
        log.info("config reloaded (sha256 %s): applied %s", change.config.sha256[:12], ", ".join(plan.applied))
        self.notify("config_reloaded", "INFO", "config reloaded", "applied: " + ", ".join(plan.applied))
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
            "runs": self.state.data.get("runs") or [],  # every run of the date, this one last
        }
        result = run_eod(self.config, day, EodOptions(
            mode=self.options.mode, analytics=not self.options.no_analytics,
            backtest=not self.options.no_backtest, session_info=session_info, **self.recorder.eod_callbacks(day),
        ), hub=self.hub)
        self.recorder.eod_done(result, quiet=self.options.quiet)  # the report paths: printed or logged
        return ExitCode(result.exit_code)  # 0, or EOD_FAILED (the end of day's contract)


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None

