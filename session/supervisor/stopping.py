"""Stopping one start of an engine and cleaning up after it (on a waiter or stopper thread)."""
from __future__ import annotations

import logging
import threading

from session.proctree import stop_engine_processes
from session.supervisor.runs import EngineRecord, EngineRun

_LEADER_REAP_SECONDS = 5.0


def stop_run(engine: EngineRecord, run: EngineRun, *, kill_now: threading.Event, logger: logging.Logger) -> None:
    """Stop every process of ``run`` (stop_signal, stop_timeout, SIGKILL), wait for the leader
    to be reaped, tell the readers to finish, then set ``run.cleanup_done``."""
    spec = engine.spec
    try:
        result = stop_engine_processes(
            run.pid,
            token=run.token,
            stop_signal=spec.stop_signal,
            stop_timeout=spec.stop_timeout,
            leader_exited=run.exited,
            kill_now=kill_now,
        )
        run.stop_result = result
        if result.killed:
            engine.log.note(f"killed with SIGKILL after {spec.stop_timeout:g}s: pids {result.killed}")
    except Exception:
        logger.exception("stopping engine %s failed", spec.name)
    finally:
        # The leader is our child: the waiter thread reaps it right after SIGKILL. Only a
        # process stuck in the kernel (D state) could outlast this; do not hang on it.
        if not run.exited.wait(_LEADER_REAP_SECONDS):
            logger.error("engine %s: pid %s did not exit even after SIGKILL", spec.name, run.pid)
        for reader in run.readers:
            reader.stop_reading.set()
        run.cleanup_done.set()
