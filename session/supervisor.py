"""Run the trader's engines, watch them, restart them, stop them cleanly at the close.

The state machine is supervisord's (STOPPED, STARTING, RUNNING, BACKOFF, STOPPING, EXITED,
FATAL); the rules are documented for engine authors in docs/ENGINE.md.

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

import ctypes
import logging
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, tzinfo
from enum import Enum
from pathlib import Path
from queue import SimpleQueue
from types import FrameType, TracebackType
from typing import Any, BinaryIO, Literal

import psutil

from session.proctree import TOKEN_VARIABLE, StopResult, stop_engine_processes
from session.streaming import ConsoleWriter, EngineLog, OutputCounters, PipeReader, TimestampFormatter

RestartPolicy = Literal["never", "on-failure", "always"]
RESTART_POLICIES: tuple[str, ...] = ("never", "on-failure", "always")

# The supervising loop re-checks the wall clock, the stop request and timers this often;
# exits wake it at once.
_LOOP_STEP_SECONDS = 0.05
_READER_JOIN_SECONDS = 2.0
_LEADER_REAP_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1


class EngineState(str, Enum):
    """supervisord's process states."""

    STOPPED = "STOPPED"    # not started yet, or stopped on request (the close, Ctrl+C)
    STARTING = "STARTING"  # spawned, not yet alive for start_secs
    RUNNING = "RUNNING"
    BACKOFF = "BACKOFF"    # exited; waiting to be restarted
    STOPPING = "STOPPING"  # stop signal sent (close, or hang watchdog)
    EXITED = "EXITED"      # exited by itself and will not be restarted
    FATAL = "FATAL"        # will not be restarted: exit code 78, gave up, cannot be started

    def __str__(self) -> str:
        return self.value


FINISHED_STATES = frozenset({EngineState.STOPPED, EngineState.EXITED, EngineState.FATAL})

# Fields that a hot reload may change on a live engine (update_policy).
POLICY_FIELDS = frozenset(
    {
        "restart",
        "max_restarts",
        "backoff_initial",
        "backoff_factor",
        "backoff_max",
        "backoff_jitter",
        "no_restart_exit_codes",
        "start_secs",
        "hang_timeout",
        "stop_timeout",
    }
)


@dataclass
class EngineSpec:
    """One engine, fully resolved: placeholders substituted, paths absolute."""

    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]  # the child's full environment (see engine_environment)
    log_file: Path  # {artifacts}/logs/{date}/{engine}.log
    heartbeat_file: Path | None = None  # the engine touches it; its mtime counts as life
    restart: RestartPolicy = "on-failure"
    max_restarts: int = 5  # per session
    backoff_initial: float = 1.0
    backoff_factor: float = 2.0
    backoff_max: float = 60.0
    backoff_jitter: float = 0.1  # fraction, +/-; 0 gives exact delays
    no_restart_exit_codes: tuple[int, ...] = (78,)  # such an exit is FATAL at once
    start_secs: float = 10.0  # an exit sooner is a failed start
    hang_timeout: float = 300.0  # 0 = off
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 30.0
    parent_death_signal: int | None = signal.SIGTERM  # Linux only (PR_SET_PDEATHSIG)

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name.strip() != self.name:
            raise ValueError(f"engine name {self.name!r} must be non-empty, without '/' or surrounding spaces")
        if not self.argv or not all(isinstance(a, str) for a in self.argv):
            raise ValueError(f"engine {self.name}: argv must be a non-empty list of strings")
        self.argv = list(self.argv)
        self.cwd = Path(self.cwd)
        self.log_file = Path(self.log_file)
        if self.heartbeat_file is not None:
            self.heartbeat_file = Path(self.heartbeat_file)
        if self.restart not in RESTART_POLICIES:
            raise ValueError(f"engine {self.name}: restart must be one of {', '.join(RESTART_POLICIES)}")
        if self.max_restarts < 0:
            raise ValueError(f"engine {self.name}: max_restarts must not be negative")
        for name in ("backoff_initial", "backoff_max", "start_secs", "hang_timeout", "stop_timeout"):
            if getattr(self, name) < 0:
                raise ValueError(f"engine {self.name}: {name} must not be negative")
        if self.backoff_factor < 1:
            raise ValueError(f"engine {self.name}: backoff_factor must be at least 1")
        if not 0 <= self.backoff_jitter <= 1:
            raise ValueError(f"engine {self.name}: backoff_jitter must be a fraction between 0 and 1")
        self.no_restart_exit_codes = tuple(int(c) for c in self.no_restart_exit_codes)
        signal.Signals(self.stop_signal)  # ValueError for an unknown signal number
        if self.parent_death_signal is not None:
            signal.Signals(self.parent_death_signal)

    def backoff_delay(self, restarts_so_far: int, rng: random.Random | None = None) -> float:
        """Delay before restart number ``restarts_so_far + 1``: initial * factor^n, capped, +/- jitter."""
        base = self.backoff_initial * (self.backoff_factor ** min(restarts_so_far, 64))
        base = min(base, self.backoff_max)
        if self.backoff_jitter:
            base *= 1 + (rng or random).uniform(-self.backoff_jitter, self.backoff_jitter)
        return max(0.0, base)


@dataclass
class EngineStatus:
    """A snapshot of one engine, for the state file, the heartbeat line and the report."""

    name: str
    state: EngineState
    pid: int | None  # of the current start, None when not running
    starts: int
    restarts: int
    exit_code: int | None  # the final exit once EXITED/FATAL/STOPPED; negative = killed by that signal
    last_exit_code: int | None  # the most recent exit of any start
    started_at: datetime | None  # the current (or last) start
    stopped_at: datetime | None  # the last exit
    uptime_s: float  # of the current start, 0 when not running
    rss_bytes: int | None  # whole process tree; None unless measured (snapshot())
    cpu_percent: float | None
    lines_total: int
    lines_since_heartbeat: int
    runtime_s: float  # all starts of the session together
    fatal_reason: str | None  # why FATAL
    failure: str | None = None  # why this engine makes the run fail (exit 4); None if it does not

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat(timespec="milliseconds")
            elif isinstance(value, EngineState):
                value = value.value
            elif isinstance(value, float):
                value = round(value, 3)
            out[f.name] = value
        return out


def engine_environment(
    base_env: Mapping[str, str],
    *,
    mode: str,
    config_path: str | os.PathLike[str],
    day: date,
    open: datetime,  # noqa: A002 - the contract's word (TRADEDAY_SESSION_OPEN)
    close: datetime,
    engine: str,
    journal: str | os.PathLike[str],
    heartbeat: str | os.PathLike[str] | None,
) -> dict[str, str]:
    """The engine's environment: ``base_env`` plus the TRADEDAY_* contract (docs/ENGINE.md).

    TRADEDAY_RESTARTS and TRADEDAY_ENGINE_INSTANCE are added by the Supervisor at each start.
    PYTHONUNBUFFERED=1 is set unless ``base_env`` says otherwise: a Python engine's stdout
    is block-buffered on a pipe, which would delay its lines (and fool the hang watchdog).
    """
    env = {str(k): str(v) for k, v in base_env.items()}
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(
        {
            "TRADEDAY_MODE": str(mode),
            "TRADEDAY_CONFIG": os.path.abspath(os.fspath(config_path)),
            "TRADEDAY_SESSION_DATE": day.isoformat(),
            "TRADEDAY_SESSION_OPEN": open.isoformat(),
            "TRADEDAY_SESSION_CLOSE": close.isoformat(),
            "TRADEDAY_ENGINE": engine,
            "TRADEDAY_JOURNAL": os.path.abspath(os.fspath(journal)),
        }
    )
    if heartbeat is not None:
        env["TRADEDAY_HEARTBEAT"] = os.path.abspath(os.fspath(heartbeat))
    else:
        env.pop("TRADEDAY_HEARTBEAT", None)
    return env


# --------------------------------------------------------------------------- signals


class StopSignals:
    """Installed stop handlers. Call it to restore the previous handlers.

    ``received`` lists the signals in arrival order; ``exit_code`` is 128 + the first one
    (130 for SIGINT, 143 for SIGTERM), None if none arrived.
    """

    SIGNALS: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

    def __init__(
        self, stop_requested: threading.Event, kill_now: threading.Event, received: list[int] | None = None
    ) -> None:
        self.stop_requested = stop_requested
        self.kill_now = kill_now
        self.received: list[int] = received if received is not None else []
        self._previous: dict[int, Any] = {}

    @property
    def signal_number(self) -> int | None:
        return self.received[0] if self.received else None

    @property
    def exit_code(self) -> int | None:
        return 128 + self.received[0] if self.received else None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        already_stopping = bool(self.received)
        self.received.append(signum)
        # A second Ctrl+C means "now": SIGKILL instead of waiting out stop_timeout. Only a
        # signal counts, so one Ctrl+C during the scheduled close does not kill engines
        # that are flattening their positions.
        if already_stopping and signum == signal.SIGINT:
            self.kill_now.set()
        self.stop_requested.set()

    def install(self) -> None:
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def __call__(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()


def install_stop_signals(
    stop_requested: threading.Event, kill_now: threading.Event, received: list[int] | None = None
) -> StopSignals:
    """SIGTERM/SIGINT/SIGHUP set ``stop_requested``; a second SIGINT also sets ``kill_now``.

    Must be called from the main thread (Python delivers signals there). Returns a callable
    that restores the previous handlers and records which signal arrived (``.received``,
    ``.exit_code``); signal numbers are also appended to ``received`` if given.
    """
    handlers = StopSignals(stop_requested, kill_now, received)
    handlers.install()
    return handlers


# --------------------------------------------------------------------------- spawning


def _linux_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_PRCTL = _linux_prctl()


def _child_setup(stop_signal: int, parent_death_signal: int | None) -> Callable[[], None]:
    """The preexec function: runs in the forked child, before exec. Keep it minimal.

    * Default dispositions for the stop and death signals: ignored signals stay ignored
      across exec (a tradeday started with `cmd &` from a script ignores SIGINT), and the
      engine must die or handle them itself.
    * PR_SET_PDEATHSIG, then getppid(): if tradeday died between fork and prctl, the
      signal will never come, so deliver it ourselves.
    """
    parent_pid = os.getpid()
    signals = {stop_signal} | ({parent_death_signal} if parent_death_signal else set())
    prctl = _PRCTL if parent_death_signal else None

    def setup() -> None:
        for sig in signals:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
        if prctl is not None and parent_death_signal:
            if prctl(_PR_SET_PDEATHSIG, parent_death_signal, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), parent_death_signal)
                os._exit(128 + parent_death_signal)

    return setup


class _Spawner(threading.Thread):
    """The one thread that forks engines (see the module docstring: PR_SET_PDEATHSIG)."""

    def __init__(self) -> None:
        super().__init__(name="tradeday-spawner", daemon=True)
        self._queue: SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = SimpleQueue()

    def run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            work, future = item
            try:
                future.set_result(work())
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)

    def call(self, work: Callable[[], Any]) -> Any:
        future: Future[Any] = Future()
        self._queue.put((work, future))
        return future.result()

    def close(self) -> None:
        self._queue.put(None)


# --------------------------------------------------------------------------- engines


@dataclass(eq=False)
class _Run:
    """One start of an engine."""

    proc: subprocess.Popen[bytes]
    number: int  # 1 for the first start
    token: str
    started_monotonic: float
    started_wall: datetime
    readers: list[PipeReader] = field(default_factory=list)
    exited: threading.Event = field(default_factory=threading.Event)
    returncode: int | None = None
    exit_monotonic: float | None = None
    exit_wall: datetime | None = None
    stop_reason: str | None = None  # "hung" | "stop" once tradeday decided to stop it
    cleanup_claimed: bool = False  # by the waiter (exited by itself) or a stopper
    cleanup_done: threading.Event = field(default_factory=threading.Event)
    stop_result: StopResult | None = None
    exit_handled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    psutil_cache: dict[int, psutil.Process] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid


class _Engine:
    def __init__(self, spec: EngineSpec, log: EngineLog) -> None:
        self.spec = spec
        self.log = log
        self.state = EngineState.STOPPED
        self.run: _Run | None = None
        self.starts = 0
        self.restarts = 0
        self.counters = OutputCounters()
        self.next_start_monotonic = 0.0
        self.exit_code: int | None = None
        self.last_exit_code: int | None = None
        self.stopped_at: datetime | None = None
        self.runtime_done = 0.0
        self.fatal_reason: str | None = None
        self.failure: str | None = None
        self.last_decision_monotonic: float | None = None  # when the last exit was acted on


OnTransition = Callable[[EngineStatus, EngineState, EngineState], None]
OnLine = Callable[[str, bytes], bool]
OnEvent = Callable[[str, str, dict[str, Any]], None]


class Supervisor:
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
        if os.name != "posix":
            raise RuntimeError("engine supervision needs a POSIX system (Linux or macOS); on Windows use WSL")
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
        self._engines: dict[str, _Engine] = {}
        self._spawner: _Spawner | None = None
        self._started = False
        self._stopping = False
        self._closed = False
        self._rng = random.Random()

    # ------------------------------------------------------------------ public API

    def start(self) -> None:
        """Open the logs and start every engine (from the spawner thread)."""
        with self._lock:
            if self._started:
                raise RuntimeError("Supervisor.start() may be called once")
            self._started = True
            self._spawner = _Spawner()
            self._spawner.start()
            for spec in self._specs:
                if spec.heartbeat_file is not None:
                    spec.heartbeat_file.parent.mkdir(parents=True, exist_ok=True)
                self._engines[spec.name] = _Engine(spec, EngineLog(spec.log_file, self._timestamps))
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

    def stop_all(self, *, kill_now: threading.Event | None = None) -> None:
        """Stop every engine in parallel: stop_signal to its group and tree, stop_timeout, SIGKILL.

        ``kill_now`` set (now or while waiting) skips the grace period. Returns when every
        engine's processes are gone and its output is read; then the Supervisor is closed.
        """
        with self._lock:
            if self._closed:
                return
            self._stopping = True
            if kill_now is not None and kill_now.is_set():
                self._kill_now.set()
            if self._started:
                self._tick()  # act on exits that already happened, as exits
            for engine in self._engines.values():
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
            return [self._status(engine, measure=True) for engine in self._engines.values()]

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
            return all(engine.state in FINISHED_STATES for engine in self._engines.values())

    def _spawn(self, engine: _Engine) -> None:
        """Start the engine (state STOPPED/BACKOFF -> STARTING, or FATAL if it cannot start)."""
        spec = engine.spec
        is_restart = engine.starts > 0
        number = engine.starts + 1
        restarts = engine.restarts + 1 if is_restart else 0
        token = f"{spec.name}-{os.getpid()}-{number}-{secrets.token_hex(4)}"
        env = dict(spec.env)
        env["TRADEDAY_RESTARTS"] = str(restarts)
        env[TOKEN_VARIABLE] = token
        preexec = _child_setup(spec.stop_signal, spec.parent_death_signal)

        def popen() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                spec.argv,
                cwd=spec.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
                preexec_fn=preexec,
            )

        assert self._spawner is not None
        try:
            proc: subprocess.Popen[bytes] = self._spawner.call(popen)
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
        run = _Run(
            proc=proc,
            number=number,
            token=token,
            started_monotonic=started,
            started_wall=datetime.now(self._tz).astimezone(self._tz),
        )
        engine.run = run
        engine.counters.touch(started)
        engine.log.note(
            f"started pid {proc.pid}: {' '.join(spec.argv)}"
            + (f" (restart {restarts}/{spec.max_restarts})" if is_restart else "")
        )
        assert proc.stdout is not None and proc.stderr is not None
        for pipe in (proc.stdout, proc.stderr):
            # The reader owns the descriptor from here (it closes it); detach the file object.
            fd = os.dup(pipe.fileno())
            pipe.close()
            reader = PipeReader(
                fd,
                engine=spec.name,
                log=engine.log,
                console=self._console if not self._quiet else None,
                counters=engine.counters,
                on_line=self._on_line,
                on_line_prefix=self._on_line_prefix,
            )
            run.readers.append(reader)
            reader.start()
        threading.Thread(target=self._wait_for_exit, args=(engine, run), name=f"tradeday-wait-{spec.name}", daemon=True).start()
        self._set_state(engine, EngineState.STARTING)
        self._logger.info("engine %s started (pid %s)%s", spec.name, proc.pid, f", restart {restarts}" if is_restart else "")
        if is_restart:
            self._event(engine, "restarted", {"pid": proc.pid, "restarts": restarts, "start": number})
        if spec.start_secs <= 0:
            self._set_state(engine, EngineState.RUNNING)

    def _wait_for_exit(self, engine: _Engine, run: _Run) -> None:
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

    def _stop_processes(self, engine: _Engine, run: _Run) -> None:
        spec = engine.spec
        try:
            result = stop_engine_processes(
                run.pid,
                token=run.token,
                stop_signal=spec.stop_signal,
                stop_timeout=spec.stop_timeout,
                leader_exited=run.exited,
                kill_now=self._kill_now,
            )
            run.stop_result = result
            if result.killed:
                engine.log.note(f"killed with SIGKILL after {spec.stop_timeout:g}s: pids {result.killed}")
        except Exception:
            self._logger.exception("stopping engine %s failed", spec.name)
        finally:
            # The leader is our child: the waiter thread reaps it right after SIGKILL. Only a
            # process stuck in the kernel (D state) could outlast this; do not hang on it.
            if not run.exited.wait(_LEADER_REAP_SECONDS):
                self._logger.error("engine %s: pid %s did not exit even after SIGKILL", spec.name, run.pid)
            for reader in run.readers:
                reader.stop_reading.set()
            run.cleanup_done.set()
            self._wakeup.set()

    def _claim_and_stop(self, engine: _Engine, run: _Run, reason: str) -> None:
        """Start stopping a live run on a thread (stop_reason: "hung" or "stop")."""
        with run.lock:
            run.stop_reason = reason
            claim = not run.cleanup_claimed
            run.cleanup_claimed = True
        if claim:
            threading.Thread(
                target=self._stop_processes, args=(engine, run), name=f"tradeday-stop-{engine.spec.name}", daemon=True
            ).start()

    def _watch_for_hang(self, engine: _Engine, run: _Run, now: float) -> None:
        spec = engine.spec
        if spec.hang_timeout <= 0:
            return
        silent_for = now - engine.counters.last_output_monotonic
        if silent_for < spec.hang_timeout:
            return
        if spec.heartbeat_file is not None:
            try:
                mtime = spec.heartbeat_file.stat().st_mtime
            except OSError:
                mtime = None
            # A touch from before this start does not count.
            if mtime is not None and mtime >= run.started_wall.timestamp() - 0.001:
                silent_for = min(silent_for, time.time() - mtime)
                if silent_for < spec.hang_timeout:
                    return
        self._logger.warning(
            "engine %s hung: no output and no heartbeat for %.1fs; stopping it (pid %s)", spec.name, silent_for, run.pid
        )
        engine.log.note(f"hung: no output and no heartbeat for {silent_for:.1f}s; stopping pid {run.pid}")
        self._event(engine, "hung", {"pid": run.pid, "silent_s": round(silent_for, 3)})
        self._set_state(engine, EngineState.STOPPING)
        self._claim_and_stop(engine, run, "hung")

    def _handle_exit(self, engine: _Engine, run: _Run) -> None:
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
        description = _describe_exit(code)
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
        engine: _Engine,
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

    def _make_fatal(self, engine: _Engine, reason: str) -> None:
        engine.fatal_reason = reason
        engine.failure = reason
        engine.last_decision_monotonic = time.monotonic()
        engine.log.note(f"FATAL: {reason}")
        self._logger.error("engine %s FATAL: %s", engine.spec.name, reason)
        self._set_state(engine, EngineState.FATAL)
        self._event(engine, "fatal", {"reason": reason, "exit_code": engine.last_exit_code})

    # ------------------------------------------------------------------ stopping

    def _begin_stop(self, engine: _Engine) -> None:
        run = engine.run
        state = engine.state
        if state in (EngineState.STOPPED, EngineState.BACKOFF):
            self._set_state(engine, EngineState.STOPPED)
            return
        if state in (EngineState.STARTING, EngineState.RUNNING, EngineState.STOPPING) and run is not None:
            self._logger.info("stopping engine %s (pid %s)", engine.spec.name, run.pid)
            engine.log.note(
                f"stopping: {signal.Signals(engine.spec.stop_signal).name} to pid {run.pid} and its processes, "
                f"SIGKILL after {engine.spec.stop_timeout:g}s"
            )
            self._set_state(engine, EngineState.STOPPING)
            self._claim_and_stop(engine, run, "stop")

    def _runs_to_finish(self) -> list[_Run]:
        with self._lock:
            return [e.run for e in self._engines.values() if e.run is not None and not e.run.cleanup_done.is_set()]

    def _finish_stop(self, engine: _Engine) -> None:
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
        clean_codes = {0, -spec.stop_signal, 128 + spec.stop_signal}
        if killed:
            engine.failure = f"did not stop within {spec.stop_timeout:g}s of {signal.Signals(spec.stop_signal).name}; killed"
            self._event(engine, "killed", {"pid": run.pid, "pids": run.stop_result.killed if run.stop_result else []})
        elif code not in clean_codes:
            engine.failure = f"{_describe_exit(code)} when asked to stop"
        engine.log.note(f"stopped: pid {run.pid} {_describe_exit(code)}" + (" (killed)" if killed else ""))
        self._logger.info("engine %s stopped (%s)", spec.name, _describe_exit(code))
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
            engine.log.close()
        if self._spawner is not None:
            self._spawner.close()

    # ------------------------------------------------------------------ status and callbacks

    def _status(self, engine: _Engine, *, measure: bool = False) -> EngineStatus:
        run = engine.run
        alive = run is not None and not run.exited.is_set() and engine.state not in FINISHED_STATES
        now = time.monotonic()
        uptime = now - run.started_monotonic if alive and run is not None else 0.0
        rss: int | None = None
        cpu: float | None = None
        if measure and alive and run is not None:
            rss, cpu = _measure_tree(run)
        return EngineStatus(
            name=engine.spec.name,
            state=engine.state,
            pid=run.pid if alive and run is not None else None,
            starts=engine.starts,
            restarts=engine.restarts,
            exit_code=engine.exit_code if engine.state in FINISHED_STATES else None,
            last_exit_code=engine.last_exit_code,
            started_at=run.started_wall if run is not None else None,
            stopped_at=engine.stopped_at,
            uptime_s=uptime,
            rss_bytes=rss,
            cpu_percent=cpu,
            lines_total=engine.counters.lines_total,
            lines_since_heartbeat=engine.counters.lines_since_heartbeat,
            runtime_s=engine.runtime_done + uptime,
            fatal_reason=engine.fatal_reason,
            failure=engine.failure,
        )

    def _set_state(self, engine: _Engine, new: EngineState) -> None:
        old = engine.state
        if old is new:
            return
        engine.state = new
        if self._on_transition is not None:
            self._outbox.append(("transition", (self._status(engine), old, new)))

    def _event(self, engine: _Engine, event: str, info: dict[str, Any]) -> None:
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


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not start"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _measure_tree(run: _Run) -> tuple[int | None, float | None]:
    """RSS and CPU% of the run's process tree; CPU needs two samples, so objects are cached per pid."""
    try:
        leader = run.psutil_cache.get(run.pid) or psutil.Process(run.pid)
        run.psutil_cache[run.pid] = leader
        procs = [leader] + leader.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None, None
    rss = 0
    cpu = 0.0
    # Keep only current processes: over a day, short-lived children come and go.
    previous, run.psutil_cache = run.psutil_cache, {}
    for proc in procs:
        cached = previous.get(proc.pid)
        if cached is None or cached != proc:  # psutil compares pid and creation time: no reused pids
            cached = proc
        run.psutil_cache[proc.pid] = cached
        try:
            with cached.oneshot():
                rss += cached.memory_info().rss
                cpu += cached.cpu_percent(None)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return rss, cpu
