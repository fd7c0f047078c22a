"""An engine's process states and which state may follow which.

The states are supervisord's (STOPPED, STARTING, RUNNING, BACKOFF, STOPPING, EXITED,
FATAL); the rules are documented for engine authors in docs/ENGINE.md. Unlike supervisord,
a Supervisor lives for one session, so EXITED and FATAL are final for the supervisor itself:
only an operator's ``tradeday engine start|restart`` (session/supervisor/control.py) starts
such an engine again within the session.
"""
from __future__ import annotations

from enum import Enum


class EngineState(str, Enum):
    """supervisord's process states."""

    STOPPED = "STOPPED"    # not started yet, or stopped on request (the close, Ctrl+C, the operator, the loss limit)
    STARTING = "STARTING"  # spawned, not yet alive for start_secs
    RUNNING = "RUNNING"
    BACKOFF = "BACKOFF"    # exited; waiting to be restarted
    STOPPING = "STOPPING"  # stop signal sent (close, or hang watchdog)
    EXITED = "EXITED"      # exited by itself and will not be restarted
    FATAL = "FATAL"        # will not be restarted: exit code 78, gave up, cannot be started

    def __str__(self) -> str:
        return self.value


FINISHED_STATES = frozenset({EngineState.STOPPED, EngineState.EXITED, EngineState.FATAL})

_S = EngineState

# Every change of state the supervisor may make (staying in a state is not a change).
TRANSITIONS: dict[EngineState, frozenset[EngineState]] = {
    # The first start: spawned, or it cannot start (FATAL: wrong command or cwd; BACKOFF:
    # a transient error such as EAGAIN, retried like a crash).
    _S.STOPPED: frozenset({_S.STARTING, _S.BACKOFF, _S.FATAL}),
    # Alive for start_secs; or stopped (close, hang); or exited by itself, then decided:
    # restart later, finished, or never again.
    _S.STARTING: frozenset({_S.RUNNING, _S.STOPPING, _S.BACKOFF, _S.EXITED, _S.FATAL}),
    _S.RUNNING: frozenset({_S.STOPPING, _S.BACKOFF, _S.EXITED, _S.FATAL}),
    # The delay is over (started again, or it cannot start), or the session (or the operator)
    # stops it meanwhile.
    _S.BACKOFF: frozenset({_S.STARTING, _S.STOPPED, _S.FATAL}),
    # Stopped on request; or stopped by the hang watchdog, then decided like any exit.
    _S.STOPPING: frozenset({_S.STOPPED, _S.BACKOFF, _S.EXITED, _S.FATAL}),
    # Final within the session, unless the operator starts the engine again.
    _S.EXITED: frozenset({_S.STARTING}),
    _S.FATAL: frozenset({_S.STARTING}),
}


class IllegalTransition(AssertionError):
    """The supervisor tried a change of state that TRANSITIONS does not allow: a bug in tradeday."""


def allowed(old: EngineState, new: EngineState) -> bool:
    """May an engine in state ``old`` go to ``new``? (Staying in a state always may.)"""
    return old is new or new in TRANSITIONS[old]


def check_transition(name: str, old: EngineState, new: EngineState) -> None:
    """Raise IllegalTransition unless ``old -> new`` is in the table."""
    if not allowed(old, new):
        raise IllegalTransition(f"engine {name}: {old} -> {new} is not a valid change of state")
