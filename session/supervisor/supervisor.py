"""Run the trader's engines, watch them, restart them, stop them cleanly at the close.

The state machine is supervisord's (STOPPED, STARTING, RUNNING, BACKOFF, STOPPING, EXITED,
FATAL); the rules are documented for engine authors in docs/ENGINE.md. Every change of state
is checked against the transition table in session/supervisor/states.py.

Threads, and who owns what:

* The *supervising thread* is whoever calls ``start``/``run_until``/``stop_all`` (``tradeday
  run``'s main thread). It alone changes engine states and delivers ``on_transition`` /
  ``on_event`` callbacks, outside the supervisor's lock.
* A dedicated *spawner thread* forks every engine. On Linux each engine gets
  ``PR_SET_PDEATHSIG``, which fires when the *thread* that forked it exits, so engines are
  forked from a thread that lives exactly as long as the Supervisor, whatever thread the
  caller uses.
* Per engine start: a *waiter thread* (``Popen.wait``; wakes the supervising thread at
  once, so a crash is seen within milliseconds) and two *reader threads* (stdout, stderr;
  session/streaming.py). ``on_line`` runs on reader threads.
* Stopping (close, hang, or cleaning up after an exit) runs on short-lived threads, so
  engines stop in parallel and the supervising thread never blocks on one of them.
"""
from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from types import TracebackType
from typing import Any, BinaryIO

from core import platform
from session.streaming import ConsoleWriter, EngineLog, PipeReader, TimestampFormatter
from session.supervisor.control import OperatorControl
from session.supervisor.runs import EngineRecord, EngineRun
from session.supervisor.spawn import Spawner, instance_token, spawn_engine
from session.supervisor.spec import POLICY_FIELDS, EngineSpec
from session.supervisor.states import FINISHED_STATES, EngineState, check_transition
from session.supervisor.status import EngineStatus, describe_exit, engine_status
from session.supervisor.stopping import stop_run
from session.supervisor.watchdog import heartbeat_mtime, hung_for

# The supervising loop re-checks the wall clock, the stop request and timers this often;
# exits wake it at once.
_LOOP_STEP_SECONDS = 0.05
_READER_JOIN_SECONDS = 2.0


OnTransition = Callable[[EngineStatus, EngineState, EngineState], None]
OnLine = Callable[[str, bytes], bool]
OnEvent = Callable[[str, str, dict[str, Any]], None]


class Supervisor(OperatorControl):
    """Supervise a fixed set of engines for one session. Start once; stop once.

    ``on_line(engine, line)`` runs on reader threads for each output line (without newline)
    — or, with ``on_line_prefix``, only for lines starting with it, which keeps floods
    cheap; returning True consumes the line (not shown, not logged). ``on_transition`` and
    ``on_event`` run on the supervising thread, outside the lock; keep them quick (queue
    slow work such as notifications) and do not call run_until/stop_all from them.
    """

    def __init__(
        self,
        specs: list[EngineSpec],
        *,
        console: BinaryIO | None = None,
        quiet: bool = False,
        on_transition: OnTransition | None = None,
        on_line: OnLine | None = None,
        on_event: OnEvent | None = None,
        logger: logging.Logger | None = None,
        on_line_prefix: bytes | None = None,
        timezone: tzinfo | None = None,  # noqa: A002 - log timestamps and status datetimes; None = local
    ) -> None:
        names = [s.name for s in specs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"engine names must be unique: {', '.join(duplicates)}")
        self._specs = list(specs)
        self._quiet = quiet
        self._console_stream = None if quiet else (console if console is not None else sys.stdout.buffer)
        self._console = ConsoleWriter(self._console_stream)
        self._on_transition = on_transition
        self._on_line = on_line
        self._on_line_prefix = on_line_prefix
        self._on_event = on_event
        self._logger = logger or logging.getLogger("tradeday.supervisor")
        self._tz = timezone
        self._timestamps = TimestampFormatter(timezone)
        self._lock = threading.RLock()
        self._callback_lock = threading.Lock()
        self._outbox: list[tuple[str, tuple[Any, ...]]] = []
        self._wakeup = threading.Event()
        self._kill_now = threading.Event()
        self._engines: dict[str, EngineRecord] = {}
        self._spawner: Spawner | None = None
        self._started = False
        self._stopping = False
        self._closed = False
        self._rng = random.Random()
        self._init_control()  # operator requests (session/supervisor/control.py)

    # ------------------------------------------------------------------ public API

    def start(self) -> None:
        """Open the logs and start every engine (from the spawner thread)."""
        with self._lock:
            if self._started:
                raise RuntimeError("Supervisor.start() may be called once")
            self._started = True
            self._spawner = Spawner()
            self._spawner.start()
            for spec in self._specs:
                if spec.heartbeat_file is not None:
                    try:
                        spec.heartbeat_file.parent.mkdir(parents=True, exist_ok=True)
                    except OSError as exc:  # the engine's touch will fail too; trading need not
                        self._logger.error("engine %s: cannot create the heartbeat folder %s: %s",
                                           spec.name, spec.heartbeat_file.parent, exc.strerror or exc)
                log = EngineLog(spec.log_file, self._timestamps, max_bytes=spec.log_max_bytes,
                                backups=spec.log_backups, name=spec.name)
                self._engines[spec.name] = EngineRecord(spec, log)
            for engine in self._engines.values():
                self._spawn(engine)
        self._deliver_callbacks()

    def run_until(self, deadline: datetime | None, stop_requested: threading.Event) -> str:
        """Supervise until the wall-clock ``deadline``, ``stop_requested``, or every engine finished.

        Returns "deadline", "stopped" or "all_finished". Engines keep running on return;
        call stop_all(). The deadline is compared with the wall clock every step, so an NTP
        step or a suspend is acted on within a step.
        """
        if deadline is not None and (deadline.tzinfo is None or deadline.utcoffset() is None):
            raise ValueError("deadline must be a timezone-aware datetime")
        if not self._started:
            raise RuntimeError("call start() before run_until()")
        while True:
            self._wakeup.clear()
            wait = self._tick()
            self._deliver_callbacks()
            if stop_requested.is_set():
                return "stopped"
            if deadline is not None and datetime.now(UTC) >= deadline:
                return "deadline"
            if self._all_finished():
                return "all_finished"
            if deadline is not None:
                wait = min(wait, max(0.0, (deadline - datetime.now(UTC)).total_seconds()))
            # An engine exit sets _wakeup; stop_requested is polled every step.
            self._wakeup.wait(max(0.001, wait))

    def stop_all(self, *, kill_now: threading.Event | None = None, reason: str | None = None) -> None:
        """Stop every engine in parallel: stop_signal to its group and tree, stop_timeout, SIGKILL.

        ``kill_now`` set (now or while waiting) skips the grace period. Returns when every
        engine's processes are gone and its output is read; then the Supervisor is closed.
        ``reason`` ("loss limit", the close) is recorded on each engine it stops.
        """
        with self._lock:
            if self._closed:
                return
            self._stopping = True
            self._fail_pending_controls("the session is stopping")
            if kill_now is not None and kill_now.is_set():
                self._kill_now.set()
            if self._started:
                self._tick()  # act on exits that already happened, as exits
            for engine in self._engines.values():
                if reason is not None and engine.state not in FINISHED_STATES:
                    engine.reason = reason
                self._begin_stop(engine)
        self._deliver_callbacks()
        pending = self._runs_to_finish()
        while pending:
            if kill_now is not None and kill_now.is_set():
                self._kill_now.set()
            for run in list(pending):
                if run.cleanup_done.wait(0.02):
                    pending.remove(run)
        with self._lock:
            for engine in self._engines.values():
                self._finish_stop(engine)
        self._deliver_callbacks()
        self._close()

    def snapshot(self) -> list[EngineStatus]:
        """Status of every engine, with memory and CPU of running process trees."""
        with self._lock:
            return [engine_status(engine, measure=True) for engine in self._engines.values()]

    def mark_heartbeat(self) -> None:
        """Reset lines_since_heartbeat (tradeday logs its heartbeat line)."""
        with self._lock:
            for engine in self._engines.values():
                engine.counters.mark_heartbeat()

    def update_policy(self, name: str, **changes: Any) -> None:
        """Hot reload of the safe fields (POLICY_FIELDS) of a live engine; validated like EngineSpec."""
        unknown = set(changes) - POLICY_FIELDS
        if unknown:
            raise ValueError(
                f"cannot change {', '.join(sorted(unknown))} of a running engine; "
                f"only {', '.join(sorted(POLICY_FIELDS))} (others need a restart of tradeday run)"
            )
        with self._lock:
            engine = self._engines.get(name)
            if engine is None:
                spec = next((s for s in self._specs if s.name == name), None)
                if spec is None:
                    raise ValueError(f"no engine named {name!r}")
                index = self._specs.index(spec)
                self._specs[index] = replace(spec, **changes)
                return
            engine.spec = replace(engine.spec, **changes)
            self._specs = [engine.spec if s.name == name else s for s in self._specs]
            for reader in engine.run.readers if engine.run is not None else ():
                reader.console_mode = engine.spec.console  # takes effect with the next chunk
        self._wakeup.set()

    def any_failed(self) -> bool:
        """Any engine FATAL, exited non-zero with no restart left, or not stopping cleanly."""
        with self._lock:
            return any(engine.failure for engine in self._engines.values())

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    # ------------------------------------------------------------------ supervision

    def _tick(self) -> float:
        """Act on exits, start timers, the hang watchdog and due restarts. Returns seconds to sleep."""
        wait = _LOOP_STEP_SECONDS
        with self._lock:
            self._apply_controls()
            now = time.monotonic()
            for engine in self._engines.values():
                run = engine.run
                if run is not None and run.exited.is_set() and not run.exit_handled and run.stop_reason != "stop":
                    self._handle_exit(engine, run)
                state = engine.state
                if state is EngineState.STARTING and run is not None:
                    remaining = run.started_monotonic + engine.spec.start_secs - now
                    if remaining <= 0:
                        self._set_state(engine, EngineState.RUNNING)
                        self._logger.info("engine %s is running (pid %s)", engine.spec.name, run.pid)
                    else:
                        wait = min(wait, remaining)
                if engine.state in (EngineState.STARTING, EngineState.RUNNING) and run is not None:
                    self._watch_for_hang(engine, run, now)
                if engine.state is EngineState.BACKOFF and not self._stopping:
                    previous_clean = engine.run is None or engine.run.cleanup_done.is_set()
                    remaining = engine.next_start_monotonic - now
                    if remaining <= 0 and previous_clean:
                        self._spawn(engine)
                    elif remaining > 0:
                        wait = min(wait, remaining)
        return wait

    def _all_finished(self) -> bool:
        with self._lock:
            # An engine the operator stopped may be started again: the session goes on.
            return all(engine.state in FINISHED_STATES and engine.held is None for engine in self._engines.values())

    def _spawn(self, engine: EngineRecord, *, operator: bool = False) -> None:
        """Start the engine (state STOPPED/BACKOFF -> STARTING, or FATAL if it cannot start).

        ``operator``: an operator's start (tradeday engine start|restart), which does not count
        as a restart against max_restarts."""
        spec = engine.spec
        is_restart = engine.starts > 0 and not operator
        number = engine.starts + 1
        restarts = engine.restarts + 1 if is_restart else engine.restarts
        token = instance_token(spec.name, number)
        assert self._spawner is not None
        try:
            proc = spawn_engine(self._spawner, spec, restarts=restarts, token=token)
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            # A wrong command or cwd does not fix itself: no retries.
            reason = f"cannot start {spec.argv[0]!r}: {exc.strerror or exc}"
            engine.log.note(reason)
            self._make_fatal(engine, reason)
            return
        except (OSError, subprocess.SubprocessError) as exc:
            # e.g. EAGAIN (too many processes): counts as a failed start.
            engine.log.note(f"start failed: {exc}")
            self._logger.error("engine %s: start failed: %s", spec.name, exc)
            engine.starts += 1
            if is_restart:
                engine.restarts = restarts
            self._after_failure(engine, time.monotonic(), exit_code=None, clean=False, what=f"start failed: {exc}")
            return

        engine.starts = number
        engine.restarts = restarts
        engine.exit_code = None
        started = time.monotonic()
        run = EngineRun(
            proc=proc,
            number=number,
            token=token,
            started_monotonic=started,
            started_wall=datetime.now(self._tz).astimezone(self._tz),
            heartbeat_mtime_ns=heartbeat_mtime(spec),  # touches before this start do not count
        )
        engine.run = run
        engine.counters.touch(started)
        engine.log.note(
            f"started pid {proc.pid}: {' '.join(spec.argv)}"
            + (f" (restart {restarts}/{spec.max_restarts})" if is_restart else "")
        )
        self._watch_run(engine, run)
        self._set_state(engine, EngineState.STARTING)
        self._logger.info("engine %s started (pid %s)%s", spec.name, proc.pid, f", restart {restarts}" if is_restart else "")
        if is_restart:
            self._event(engine, "restarted", {"pid": proc.pid, "restarts": restarts, "start": number})
        if spec.start_secs <= 0:
            self._set_state(engine, EngineState.RUNNING)

    def _watch_run(self, engine: EngineRecord, run: EngineRun) -> None:
        """Start the run's two reader threads (stdout, stderr) and its waiter thread."""
        proc = run.proc
        assert proc.stdout is not None and proc.stderr is not None
        for pipe in (proc.stdout, proc.stderr):
            # The reader owns the descriptor from here (it closes it); detach the file object.
            fd = os.dup(pipe.fileno())
            pipe.close()
            reader = PipeReader(
                fd,
                engine=engine.spec.name,
                log=engine.log,
                console=self._console if not self._quiet else None,
                counters=engine.counters,
                on_line=self._on_line,
                on_line_prefix=self._on_line_prefix,
                console_mode=engine.spec.console,
            )
            run.readers.append(reader)
            reader.start()
        threading.Thread(
            target=self._wait_for_exit, args=(engine, run), name=f"tradeday-wait-{engine.spec.name}", daemon=True
        ).start()

    def _wait_for_exit(self, engine: EngineRecord, run: EngineRun) -> None:
        """Waiter thread: reap the engine, wake the supervisor, clean up what it left behind."""
        returncode = run.proc.wait()
        with run.lock:
            run.returncode = returncode
            run.exit_monotonic = time.monotonic()
            run.exit_wall = datetime.now(self._tz).astimezone(self._tz)
            run.exited.set()
            claim = not run.cleanup_claimed
            run.cleanup_claimed = True
        self._wakeup.set()
        if claim:
            # Exited by itself: whatever it left in its group/session/tree goes too, before
            # any restart (a leftover child of a crashed engine could still be trading).
            self._stop_processes(engine, run)

    def _stop_processes(self, engine: EngineRecord, run: EngineRun) -> None:
        try:
            stop_run(engine, run, kill_now=self._kill_now, logger=self._logger)
        finally:
            self._wakeup.set()

    def _claim_and_stop(self, engine: EngineRecord, run: EngineRun, reason: str) -> None:
        """Start stopping a live run on a thread (stop_reason: "hung" or "stop")."""
        with run.lock:
            run.stop_reason = reason
            claim = not run.cleanup_claimed
            run.cleanup_claimed = True
        if claim:
            threading.Thread(
                target=self._stop_processes, args=(engine, run), name=f"tradeday-stop-{engine.spec.name}", daemon=True
            ).start()

    def _watch_for_hang(self, engine: EngineRecord, run: EngineRun, now: float) -> None:
        spec = engine.spec
        silent_for = hung_for(spec, run, engine.counters.last_output_monotonic, now)
        if silent_for is None:
            return
        self._logger.warning(
            "engine %s hung: no output and no heartbeat for %.1fs; stopping it (pid %s)", spec.name, silent_for, run.pid
        )
        engine.log.note(f"hung: no output and no heartbeat for {silent_for:.1f}s; stopping pid {run.pid}")
        self._event(engine, "hung", {"pid": run.pid, "silent_s": round(silent_for, 3)})
        self._set_state(engine, EngineState.STOPPING)
        self._claim_and_stop(engine, run, "hung")

    def _handle_exit(self, engine: EngineRecord, run: EngineRun) -> None:
        """The engine's main process exited (by itself or after the hang watchdog): decide."""
        run.exit_handled = True
        spec = engine.spec
        code = run.returncode
        now = time.monotonic()
        runtime = (run.exit_monotonic or now) - run.started_monotonic
        engine.runtime_done += runtime
        engine.last_exit_code = code
        engine.stopped_at = run.exit_wall
        failed_start = engine.state is EngineState.STARTING
        hung = run.stop_reason == "hung"
        clean = code == 0 and not hung
        description = describe_exit(code)
        engine.log.note(
            f"pid {run.pid} {description} after {runtime:.2f}s"
            + (" (hung)" if hung else "")
            + (" (failed start)" if failed_start else "")
        )
        self._logger.log(
            logging.INFO if clean else logging.WARNING,
            "engine %s (pid %s) %s after %.2fs%s",
            spec.name,
            run.pid,
            description,
            runtime,
            " during startup" if failed_start else "",
        )
        info: dict[str, Any] = {
            "pid": run.pid,
            "exit_code": code,
            "runtime_s": round(runtime, 3),
            "failed_start": failed_start,
            "hung": hung,
        }
        if code in spec.no_restart_exit_codes:
            self._event(engine, "exited", info | {"action": "fatal"})
            engine.exit_code = code
            self._make_fatal(engine, f"exit code {code} means do not restart (configuration error in the engine)")
            return
        wants_restart = spec.restart == "always" or (spec.restart == "on-failure" and not clean)
        if not wants_restart:
            self._event(engine, "exited", info | {"action": "none"})
            engine.exit_code = code
            if not clean:
                engine.failure = f"{description}" + (" (hung)" if hung else "")
            self._set_state(engine, EngineState.EXITED)
            engine.last_decision_monotonic = time.monotonic()
            return
        self._after_failure(engine, now, exit_code=code, clean=clean, what=description, info=info)

    def _after_failure(
        self,
        engine: EngineRecord,
        now: float,
        *,
        exit_code: int | None,
        clean: bool,
        what: str,
        info: dict[str, Any] | None = None,
    ) -> None:
        """A restart is wanted: schedule it with backoff, or give up after max_restarts."""
        spec = engine.spec
        if self._stopping:
            # Exited just as the session is being stopped: no restart to announce.
            if info is not None:
                self._event(engine, "exited", info | {"action": "none"})
            engine.exit_code = exit_code
            if not clean:
                engine.failure = what
            engine.last_decision_monotonic = time.monotonic()
            self._set_state(engine, EngineState.EXITED)
            return
        if engine.restarts >= spec.max_restarts:
            if info is not None:
                self._event(engine, "exited", info | {"action": "gave_up"})
            engine.exit_code = exit_code
            engine.last_decision_monotonic = time.monotonic()
            self._event(engine, "gave_up", {"restarts": engine.restarts, "exit_code": exit_code})
            if clean:
                # `restart: always` and a clean exit: finished, just not restarted again.
                engine.log.note(f"not restarted: max_restarts ({spec.max_restarts}) reached")
                self._set_state(engine, EngineState.EXITED)
                return
            self._make_fatal(engine, f"gave up after {engine.restarts} restarts (last: {what})")
            return
        delay = spec.backoff_delay(engine.restarts, self._rng)
        engine.next_start_monotonic = now + delay
        engine.last_decision_monotonic = time.monotonic()
        self._set_state(engine, EngineState.BACKOFF)
        engine.log.note(f"restarting in {delay:.2f}s (restart {engine.restarts + 1}/{spec.max_restarts})")
        self._logger.info(
            "engine %s: restart %d/%d in %.2fs", spec.name, engine.restarts + 1, spec.max_restarts, delay
        )
        if info is not None:
            self._event(engine, "exited", info | {"action": "restart", "restart_in_s": round(delay, 3)})

    def _make_fatal(self, engine: EngineRecord, reason: str) -> None:
        engine.fatal_reason = reason
        engine.failure = reason
        engine.last_decision_monotonic = time.monotonic()
        engine.log.note(f"FATAL: {reason}")
        self._logger.error("engine %s FATAL: %s", engine.spec.name, reason)
        self._set_state(engine, EngineState.FATAL)
        self._event(engine, "fatal", {"reason": reason, "exit_code": engine.last_exit_code})

    # ------------------------------------------------------------------ stopping

    def _begin_stop(self, engine: EngineRecord) -> None:
        run = engine.run
        state = engine.state
        if state in (EngineState.STOPPED, EngineState.BACKOFF):
            self._set_state(engine, EngineState.STOPPED)
            return
        if state in (EngineState.STARTING, EngineState.RUNNING, EngineState.STOPPING) and run is not None:
            self._logger.info("stopping engine %s (pid %s)", engine.spec.name, run.pid)
            engine.log.note(
                f"stopping: stop file, {signal.Signals(engine.spec.stop_signal).name} to pid {run.pid} and its "
                f"processes, {platform.KILL_NAME} after {engine.spec.stop_timeout:g}s"
            )
            self._set_state(engine, EngineState.STOPPING)
            self._claim_and_stop(engine, run, "stop")

    def _runs_to_finish(self) -> list[EngineRun]:
        with self._lock:
            return [e.run for e in self._engines.values() if e.run is not None and not e.run.cleanup_done.is_set()]

    def _finish_stop(self, engine: EngineRecord) -> None:
        run = engine.run
        if engine.state is not EngineState.STOPPING or run is None:
            return
        spec = engine.spec
        run.exit_handled = True
        code = run.returncode
        runtime = (run.exit_monotonic or time.monotonic()) - run.started_monotonic
        engine.runtime_done += runtime
        engine.last_exit_code = code
        engine.exit_code = code
        engine.stopped_at = run.exit_wall
        killed = bool(run.stop_result and run.stop_result.killed)
        clean_codes = platform.clean_stop_codes(spec.stop_signal)
        if killed:
            engine.failure = f"did not stop within {spec.stop_timeout:g}s of {signal.Signals(spec.stop_signal).name}; killed"
            self._event(engine, "killed", {"pid": run.pid, "pids": run.stop_result.killed if run.stop_result else []})
        elif code not in clean_codes:
            engine.failure = f"{describe_exit(code)} when asked to stop"
        engine.log.note(f"stopped: pid {run.pid} {describe_exit(code)}" + (" (killed)" if killed else ""))
        self._logger.info("engine %s stopped (%s)", spec.name, describe_exit(code))
        self._set_state(engine, EngineState.STOPPED)

    def _close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            runs = [e.run for e in self._engines.values() if e.run is not None]
        for run in runs:
            for reader in run.readers:
                reader.stop_reading.set()
                reader.join(_READER_JOIN_SECONDS)
        for engine in self._engines.values():
            left = engine.log.close()
            if left is not None:
                # The end of the day records what its log could not: here, in tradeday's log.
                self._logger.warning(
                    "engine %s: %d bytes / %d lines of engine output dropped %s could not be noted in %s",
                    engine.spec.name, left.bytes, left.lines, left.fault.while_text(), engine.log.path)
        if self._spawner is not None:
            self._spawner.close()

    # ------------------------------------------------------------------ status and callbacks

    def _set_state(self, engine: EngineRecord, new: EngineState) -> None:
        old = engine.state
        if old is new:
            return
        check_transition(engine.spec.name, old, new)
        engine.state = new
        if self._on_transition is not None:
            self._outbox.append(("transition", (engine_status(engine), old, new)))

    def _event(self, engine: EngineRecord, event: str, info: dict[str, Any]) -> None:
        if self._on_event is not None:
            self._outbox.append(("event", (engine.spec.name, event, info)))

    def _deliver_callbacks(self) -> None:
        with self._callback_lock:
            with self._lock:
                pending, self._outbox = self._outbox, []
            for kind, args in pending:
                callback = self._on_transition if kind == "transition" else self._on_event
                try:
                    callback(*args)  # type: ignore[misc]
                except Exception:
                    self._logger.exception("%s callback failed", kind)
