"""Run the trader's engines, watch them, restart them, stop them cleanly at the close.

The package, by idea (supervisord keeps its states apart from its process handling too):

* ``states``   -- EngineState and the transition table the supervisor checks every change against
* ``spec``     -- EngineSpec (one engine, resolved), EnginePolicy (what a hot reload may change),
  engine_environment (the TRADEDAY_* contract)
* ``signals``  -- install_stop_signals: SIGTERM/SIGINT/SIGHUP set the stop flag
* ``spawn``    -- forking an engine in its own session from the spawner thread (PR_SET_PDEATHSIG)
* ``runs``     -- the supervisor's record of an engine and of one start of it
* ``status``   -- EngineStatus snapshots
* ``watchdog`` -- the hang rule; ``stopping`` -- stopping one start and cleaning up after it
* ``supervisor`` -- the Supervisor: the loop, exits, restarts with backoff, stopping at the close
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

# Names load on first use (core/lazy.py): ``tradeday report`` and ``eod`` need only
# ``signals`` (Interrupted, the stop signals), not the supervisor, psutil and the spawner
# (~35 ms of their start).
_EXPORTS: dict[str, str] = {
    "StopSignals": "session.supervisor.signals",
    "install_stop_signals": "session.supervisor.signals",
    "POLICY_FIELDS": "session.supervisor.spec",
    "RESTART_POLICIES": "session.supervisor.spec",
    "EnginePolicy": "session.supervisor.spec",
    "EngineSpec": "session.supervisor.spec",
    "RestartPolicy": "session.supervisor.spec",
    "engine_environment": "session.supervisor.spec",
    "FINISHED_STATES": "session.supervisor.states",
    "TRANSITIONS": "session.supervisor.states",
    "EngineState": "session.supervisor.states",
    "IllegalTransition": "session.supervisor.states",
    "check_transition": "session.supervisor.states",
    "EngineStatus": "session.supervisor.status",
    "OnEvent": "session.supervisor.supervisor",
    "OnLine": "session.supervisor.supervisor",
    "OnTransition": "session.supervisor.supervisor",
    "Supervisor": "session.supervisor.supervisor",
}

__all__ = [
    "FINISHED_STATES",
    "POLICY_FIELDS",
    "RESTART_POLICIES",
    "TRANSITIONS",
    "EnginePolicy",
    "EngineSpec",
    "EngineState",
    "EngineStatus",
    "IllegalTransition",
    "OnEvent",
    "OnLine",
    "OnTransition",
    "RestartPolicy",
    "StopSignals",
    "Supervisor",
    "check_transition",
    "engine_environment",
    "install_stop_signals",
]

lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from session.supervisor.signals import StopSignals, install_stop_signals
    from session.supervisor.spec import (
        POLICY_FIELDS,
        RESTART_POLICIES,
        EnginePolicy,
        EngineSpec,
        RestartPolicy,
        engine_environment,
    )
    from session.supervisor.states import (
        FINISHED_STATES,
        TRANSITIONS,
        EngineState,
        IllegalTransition,
        check_transition,
    )
    from session.supervisor.status import EngineStatus
    from session.supervisor.supervisor import OnEvent, OnLine, OnTransition, Supervisor
