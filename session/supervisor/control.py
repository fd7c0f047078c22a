"""An operator's ``tradeday engine stop|start|restart NAME`` inside the Supervisor.

Requests come from another thread (the control server, session/control/server.py): they are
queued (:meth:`OperatorControl.submit_control`, which never waits on the supervision loop) and
applied by the supervising thread at its next tick, like every other change of state. The
requester waits on the request's ``done`` event for the reply, outside the loop.

* ``stop``: the engine's process group is stopped gracefully (``stop_signal``, ``stop_timeout``,
  then SIGKILL, as at the close) and the engine is *held*: STOPPED, reason "stopped by operator",
  never restarted and not counted as finished (the session goes on to the close even if every
  other engine is done), until ``start``.
* ``start``: a held, EXITED or FATAL engine is started again; an operator's start does not count
  against ``max_restarts`` and clears the engine's earlier failure (the operator took it over).
* ``restart``: ``stop`` then ``start``; a restart that does not count against ``max_restarts``.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from session.supervisor.states import EngineState

if TYPE_CHECKING:
    import logging

    from session.supervisor.runs import EngineRecord

ACTIONS = ("stop", "start", "restart")
OPERATOR_STOP = "stopped by operator"
# How long a requester waits for a start (spawned or failed) beyond the engine's stop_timeout.
REPLY_MARGIN_SECONDS = 15.0


@dataclass
class ControlReply:
    """What happened to a request: ``ok`` False when it was refused or the engine cannot start."""

    ok: bool
    action: str
    engine: str
    message: str
    state: str | None = None
    pid: int | None = None
    restarts: int | None = None
    done: bool = True  # False: still in progress when the requester stopped waiting
    refused: str | None = None  # why it was not applied: "unknown_engine", "stopping", ...

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "action": self.action, "engine": self.engine, "message": self.message,
                "state": self.state, "pid": self.pid, "restarts": self.restarts, "done": self.done,
                "refused": self.refused}


@dataclass(eq=False)
class ControlRequest:
    action: str
    engine: str
    timeout: float  # how long the requester should wait for ``done``
    done: threading.Event = field(default_factory=threading.Event)
    reply: ControlReply | None = None


class OperatorControl:
    """Mixed into Supervisor: the queue of operator requests and how the loop applies them."""

    if TYPE_CHECKING:
        _lock: threading.RLock
        _engines: dict[str, EngineRecord]
        _wakeup: threading.Event
        _stopping: bool
        _closed: bool
        _started: bool
        _logger: logging.Logger

        def _spawn(self, engine: EngineRecord, *, operator: bool = False) -> None: ...
        def _begin_stop(self, engine: EngineRecord) -> None: ...
        def _finish_stop(self, engine: EngineRecord) -> None: ...
        def _set_state(self, engine: EngineRecord, new: EngineState) -> None: ...

    _controls: deque[ControlRequest]
    _control_waiting: list[ControlRequest]

    def _init_control(self) -> None:
        self._controls = deque()
        self._control_waiting = []

    def submit_control(self, action: str, name: str) -> ControlRequest:
        """Queue ``action`` for engine ``name`` (any thread); wait on the result's ``done``."""
        with self._lock:
            engine = self._engines.get(name)
            timeout = (engine.spec.stop_timeout if engine is not None else 0.0) + REPLY_MARGIN_SECONDS
            request = ControlRequest(action=action, engine=name, timeout=timeout)
            refusal = self._refusal(action, name, engine)
            if refusal is not None:
                request.reply = refusal
                request.done.set()
                return request
            self._controls.append(request)
        self._wakeup.set()
        return request

    def _refusal(self, action: str, name: str, engine: EngineRecord | None) -> ControlReply | None:
        if action not in ACTIONS:
            return ControlReply(False, action, name, f"unknown action {action!r}; use stop, start or restart",
                                refused="usage")
        if engine is None:
            known = ", ".join(sorted(self._engines)) or "none"
            return ControlReply(False, action, name, f"no engine named {name!r} in this run (engines: {known})",
                                refused="unknown_engine")
        if self._stopping or self._closed or not self._started:
            return ControlReply(False, action, name, "the session is stopping; engines are not taking requests",
                                state=str(engine.state), refused="stopping")
        return None

    # ------------------------------------------------------------------ on the supervising thread

    def _apply_controls(self) -> None:
        """Called by _tick under the lock: apply queued requests, then finish what they started."""
        while self._controls:
            request = self._controls.popleft()
            engine = self._engines[request.engine]
            refusal = self._refusal(request.action, request.engine, engine)
            if refusal is not None:
                self._reply(request, refusal)
                continue
            self._logger.info("engine %s: %s requested by the operator (state %s)", request.engine,
                              request.action, engine.state)
            engine.log.note(f"{request.action} requested by the operator (state {engine.state})")
            if request.action in ("stop", "restart"):
                self._operator_stop(engine)
            if request.action in ("start", "restart"):
                engine.start_requested = True
            self._control_waiting.append(request)
        for engine in self._engines.values():
            self._advance_operator(engine)
        still = []
        for request in self._control_waiting:
            reply = self._completed(request)
            if reply is None:
                still.append(request)
            else:
                self._reply(request, reply)
        self._control_waiting = still

    def _operator_stop(self, engine: EngineRecord) -> None:
        engine.start_requested = False
        state = engine.state
        if state in (EngineState.EXITED, EngineState.FATAL):
            return  # not running: nothing to stop, and it is not restarted anyway
        engine.held = OPERATOR_STOP
        engine.reason = OPERATOR_STOP
        self._begin_stop(engine)  # BACKOFF -> STOPPED at once; a live run -> STOPPING

    def _advance_operator(self, engine: EngineRecord) -> None:
        """A held engine's stop that finished -> STOPPED; a requested start whose stop is done -> spawn."""
        run = engine.run
        if engine.held and engine.state is EngineState.STOPPING and run is not None and run.cleanup_done.is_set():
            self._finish_stop(engine)
            engine.reason = engine.held
        if not engine.start_requested:
            return
        if self._stopping:
            engine.start_requested = False  # the session is stopping: nothing starts any more
            return
        if engine.state not in (EngineState.STOPPED, EngineState.EXITED, EngineState.FATAL, EngineState.BACKOFF):
            if engine.state in (EngineState.STARTING, EngineState.RUNNING):
                engine.start_requested = False  # already running: nothing to start
            return
        if run is not None and not run.cleanup_done.is_set():
            return  # what the last start left behind is still being stopped
        engine.start_requested = False
        engine.held = None
        engine.reason = None
        engine.fatal_reason = None
        engine.failure = None  # the operator took it over: an earlier failure no longer fails the run
        self._spawn(engine, operator=True)

    def _completed(self, request: ControlRequest) -> ControlReply | None:
        engine = self._engines[request.engine]
        state = engine.state
        pid = engine.run.pid if engine.run is not None and state in (EngineState.STARTING, EngineState.RUNNING,
                                                                    EngineState.STOPPING) else None
        if request.action == "stop":
            if state is EngineState.STOPPING:
                return None
            what = "stopped" if engine.held else f"not running ({state})"
            return ControlReply(True, request.action, request.engine, f"engine {request.engine} {what}",
                                state=str(state), pid=None, restarts=engine.restarts)
        if engine.start_requested:
            return None  # waiting for its stop to finish
        if state is EngineState.FATAL:
            return ControlReply(False, request.action, request.engine,
                                f"engine {request.engine} cannot start: {engine.fatal_reason}",
                                state=str(state), restarts=engine.restarts, refused="cannot_start")
        verb = "restarted" if request.action == "restart" else "started"
        return ControlReply(True, request.action, request.engine,
                            f"engine {request.engine} {verb} (pid {pid})" if pid else
                            f"engine {request.engine} is {state}",
                            state=str(state), pid=pid, restarts=engine.restarts)

    def _reply(self, request: ControlRequest, reply: ControlReply) -> None:
        request.reply = reply
        request.done.set()

    def _fail_pending_controls(self, message: str) -> None:
        """The session is stopping: every request not answered yet is answered with ``message``."""
        pending = list(self._controls) + self._control_waiting
        self._controls.clear()
        self._control_waiting = []
        for request in pending:
            engine = self._engines.get(request.engine)
            self._reply(request, ControlReply(False, request.action, request.engine, message,
                                              state=str(engine.state) if engine else None, refused="stopping"))

    def wait_reply(self, request: ControlRequest) -> ControlReply:
        """For the requester (not the supervising thread): the reply, or "still in progress"."""
        request.done.wait(request.timeout)
        if request.reply is not None:
            return request.reply
        with self._lock:
            engine = self._engines.get(request.engine)
            state = str(engine.state) if engine is not None else None
        return ControlReply(True, request.action, request.engine,
                            f"engine {request.engine} is still {state} after {request.timeout:g}s; "
                            "`tradeday status` shows when it is done", state=state, done=False)
