"""``TradingOrchestrator``: copilot_quant's daemon API over the day runner of ``tradeday run --forever``.

It is a façade, not a second implementation: ``start()`` builds the same :class:`DayRun` the
command builds (prechecks, the wait for the open, supervision, the end of day, the sleep until
the next session) and runs it in the calling thread. What it adds:

* ``stop()`` from any thread or from a signal handler. It only sends one byte over a socket
  pair (the self-pipe trick: safe in a signal handler, where taking a lock that the interrupted
  code holds would deadlock); a small thread reads it and sets the day runner's stop flag. A stop ends the day as
  SIGTERM does: no engine is started after it, running engines are stopped (their stop signal,
  ``stop_timeout``, then SIGKILL), the end of day is skipped, and ``start()`` returns 143 if
  the stop cut a session or a wait short.
* ``state`` (an :class:`OrchestratorState`) and ``status()`` (the day's state file, as
  ``tradeday status`` reads it), safe to read from any thread.
* ``on_state_change(callback)``. The day runner reports each phase by putting it on a queue,
  which never blocks; callbacks run on a thread of their own, so a slow or raising callback
  delays only later callbacks, never supervision.

Signal handlers can only be installed by the main thread: started there, ``start()`` installs
the CLI's (SIGTERM/SIGINT/SIGHUP stop the day, exit 128 + the signal) and restores the
previous ones when it returns; started in another thread it installs none, and ``stop()`` is
the way to end it.
"""
from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

from core.exitcodes import ExitCode
from session.state import Phase, StateFile, read_state, state_path

if TYPE_CHECKING:
    from session.config import TradedayConfig
    from session.day import DayRun
    from session.modes import Mode

log = logging.getLogger("tradeday.orchestrator")

__all__ = ["OrchestratorState", "StateCallback", "TradingOrchestrator"]


class OrchestratorState(str, Enum):
    """copilot_quant's orchestrator states, read from the day's phases."""

    PRE_MARKET = "PRE_MARKET"  # prechecks, waiting for the open
    TRADING = "TRADING"  # engines running
    POST_MARKET = "POST_MARKET"  # stopping the engines, the end of day, asleep until the next session
    STOPPED = "STOPPED"  # not started yet, or start() has returned
    ERROR = "ERROR"  # prechecks failed, or start() ended with an error


StateCallback = Callable[[OrchestratorState], Any]

_STATE_OF_PHASE: dict[str, OrchestratorState] = {
    Phase.PRE_MARKET.value: OrchestratorState.PRE_MARKET,
    Phase.WAITING.value: OrchestratorState.PRE_MARKET,
    Phase.TRADING.value: OrchestratorState.TRADING,
    Phase.STOPPING.value: OrchestratorState.POST_MARKET,
    Phase.EOD.value: OrchestratorState.POST_MARKET,
    Phase.DONE.value: OrchestratorState.POST_MARKET,
    Phase.ERROR.value: OrchestratorState.ERROR,
}
# Exit codes after which start() ends STOPPED rather than ERROR: a clean day, a stop.
_CLEAN_EXITS = frozenset({ExitCode.OK, ExitCode.SIGINT, ExitCode.SIGTERM, ExitCode.SIGHUP})
_STOP, _QUIT = b"s", b"q"  # bytes on the wake-up pipe
_CALLBACKS_DONE = object()


class _ReportingStateFile(StateFile):
    """The day's state file, telling the orchestrator each phase it records."""

    def __init__(self, *args: Any, observer: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._observer = observer

    def update(self, *, phase: Phase | None = None, engines: list[dict[str, Any]] | None = None,
               **fields: Any) -> None:
        super().update(phase=phase, engines=engines, **fields)
        if phase is not None:
            self._observer(phase.value)


class TradingOrchestrator:
    """Run the trading days of a config until ``stop()``: ``tradeday run --forever`` in-process.

    ``mode`` is ``"paper"`` or ``"live"`` (None: the config's). Live needs the config to say
    ``mode: live``, ``mode="live"`` here, and ``confirm_live=True`` (or TRADEDAY_CONFIRM_LIVE=yes):
    the CLI's live guard, checked here in the constructor. The keyword options are the
    ``tradeday run`` flags of the same names (``duration`` in seconds).
    The config is loaded at construction: a missing or invalid file raises there.
    """

    def __init__(
        self,
        config_path: str | os.PathLike[str] | None,
        *,
        mode: str | None = None,
        confirm_live: bool = False,
        start_now: bool = False,
        duration: float | None = None,
        no_eod: bool = False,
        no_analytics: bool = False,
        no_backtest: bool = False,
        quiet: bool = False,
        log_level: str = "INFO",
    ) -> None:
        from session.config import load_config
        from session.modes import resolve_mode

        if mode not in (None, "paper", "live"):
            raise ValueError(f"mode must be 'paper' or 'live', not {mode!r}")
        if duration is not None and duration <= 0:
            raise ValueError("duration must be more than 0 seconds")
        self.config: TradedayConfig = load_config(config_path)
        for warning in self.config.warnings:
            log.warning("%s", warning)
        self.mode: str = resolve_mode(self.config.mode, cast("Mode | None", mode), confirm_live=confirm_live,
                                      config_label=str(self.config.path))
        self._options: dict[str, Any] = {
            "start_now": start_now, "duration": duration, "no_eod": no_eod, "no_analytics": no_analytics,
            "no_backtest": no_backtest, "quiet": quiet, "log_level": log_level.upper(),
        }
        self._state = OrchestratorState.STOPPED
        self._callbacks: list[StateCallback] = []
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()  # put() never blocks
        self._run: DayRun | None = None
        self._running = threading.Lock()  # one start() at a time
        self._stop_asked = False
        self._wake_r, self._wake_w = socket.socketpair()  # a pipe that select() takes on Windows too
        self._wake_w.setblocking(False)  # stop() must never block: a full buffer already says "stop"
        self.exit_code: int | None = None
        self.error: BaseException | None = None

    # --- what other threads read -----------------------------------------------------------

    @property
    def state(self) -> OrchestratorState:
        return self._state

    @property
    def is_running(self) -> bool:
        return self._running.locked()

    def status(self) -> dict[str, Any] | None:
        """The day's state file (``{artifacts}/state/{date}.json``) as ``tradeday status``
        reads it: phase, engines, exit code, message, history, runs. None before any run."""
        run = self._run
        if run is not None and run.state is not None:
            return read_state(run.state.path)
        from session.calendar import MarketCalendar

        today = MarketCalendar.from_config(self.config).today()
        return read_state(state_path(self.config.artifacts_dir, today))

    def on_state_change(self, callback: StateCallback) -> None:
        """Call ``callback(new_state)`` on every change of ``state`` (on a thread of its own)."""
        self._callbacks.append(callback)

    register_state_change_callback = on_state_change  # copilot_quant's name

    # --- running ---------------------------------------------------------------------------

    def start(self) -> int:
        """Run the days until ``stop()`` (or a stop signal, in the main thread); returns the exit
        code ``tradeday run --forever`` would (143 after a ``stop()`` that cut a session or a wait
        short). An error that the CLI prints as one line (a held lock, an unusable folder) is
        raised after ``state`` is ERROR."""
        if not self._running.acquire(blocking=False):
            raise RuntimeError("this TradingOrchestrator is already running")
        self.error = self.exit_code = None
        self._drain_wake_ups()
        dispatcher = threading.Thread(target=self._deliver_callbacks, name="orchestrator-callbacks", daemon=True)
        dispatcher.start()
        previous_umask: int | None = None
        try:
            if self._stop_asked:  # stop() came first: start nothing
                self.exit_code = int(ExitCode.SIGTERM)
                return self.exit_code
            previous_umask = self._private_files()
            self._run = self._day_runner()
            waker = threading.Thread(target=self._wait_for_stop, args=(self._run,), name="orchestrator-stop",
                                     daemon=True)
            waker.start()
            try:
                self.exit_code = self._run.run()
            finally:
                self._wake(_QUIT)
                waker.join()
            return self.exit_code
        except BaseException as exc:
            self.error = exc
            self._set_state(OrchestratorState.ERROR)
            raise
        finally:
            if self.error is None:
                clean = self.exit_code in _CLEAN_EXITS and self._state is not OrchestratorState.ERROR
                self._set_state(OrchestratorState.STOPPED if clean else OrchestratorState.ERROR)
            if previous_umask is not None:
                os.umask(previous_umask)
            self._stop_asked = False
            self._events.put(_CALLBACKS_DONE)
            dispatcher.join(timeout=5.0)  # the last state's callbacks, unless one hangs
            self._running.release()

    def stop(self) -> None:
        """End the run as SIGTERM would. Safe from any thread and from a signal handler; returns at
        once (``start()`` returns when the engines are stopped). Before ``start()``: it starts nothing."""
        self._stop_asked = True
        self._wake(_STOP)

    def _wake(self, what: bytes) -> None:
        try:
            self._wake_w.send(what)
        except OSError:  # BlockingIOError: the buffer is full of wake-ups already
            pass

    def _drain_wake_ups(self) -> None:
        # Bytes left from an earlier run; whether a stop is pending is _stop_asked's to say.
        self._wake_r.setblocking(False)
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass
        finally:
            self._wake_r.setblocking(True)

    def _wait_for_stop(self, run: DayRun) -> None:
        while True:
            data = self._wake_r.recv(64)
            if _QUIT in data or not data:
                return
            if _STOP in data:
                run.stop_by_api = True
                run.stop_requested.set()

    def _day_runner(self) -> DayRun:
        from functools import partial

        from session.day import DayRun, RunOptions

        options = RunOptions(mode=self.mode, forever=True, **self._options)
        return DayRun(self.config, options, state_file=partial(_ReportingStateFile, observer=self._on_phase))

    def _private_files(self) -> int | None:
        """As the console script does: files 0600 and folders 0700, then ``paths.group``. Returns
        the umask to restore when ``start()`` returns (POSIX; None elsewhere)."""
        from core.fileperms import use_private_umask
        from session.file_policy import apply_file_policy

        previous = os.umask(0o077) if os.name == "posix" else None
        use_private_umask()
        for warning in apply_file_policy(self.config):
            log.warning("%s", warning)
        return previous

    # --- states ----------------------------------------------------------------------------

    def _on_phase(self, phase: str) -> None:
        """Called by the day runner (its supervision loop among others): no blocking here."""
        self._set_state(_STATE_OF_PHASE.get(phase, self._state))

    def _set_state(self, new: OrchestratorState) -> None:
        if new is self._state:
            return
        self._state = new
        self._events.put(new)

    def _deliver_callbacks(self) -> None:
        while True:
            new = self._events.get()
            if new is _CALLBACKS_DONE:
                return
            for callback in list(self._callbacks):
                try:
                    callback(new)
                except Exception:
                    log.exception("a state-change callback raised (ignored; the run goes on)")

    def __repr__(self) -> str:
        return f"TradingOrchestrator({str(self.config.path)!r}, mode={self.mode!r}, state={self._state.value})"
