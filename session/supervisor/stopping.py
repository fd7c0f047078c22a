"""Stopping one start of an engine and cleaning up after it (on a waiter or stopper thread)."""
from __future__ import annotations

import logging
import threading

from core import platform
from session.proctree import stop_engine_processes
from session.supervisor.runs import EngineRecord, EngineRun
from session.supervisor.spawn import clear_stop_file, request_stop_file

_LEADER_REAP_SECONDS = 5.0


def stop_run(engine: EngineRecord, run: EngineRun, *, kill_now: threading.Event, logger: logging.Logger) -> None:
    """Stop every process of ``run``: create its stop file (TRADEDAY_STOP_FILE), send
    stop_signal (Windows: CTRL_BREAK_EVENT, best effort), wait stop_timeout, then the hard
    kill (SIGKILL / TerminateJobObject); wait for the leader to be reaped, release its group
    (Windows: close its job), tell the readers to finish, then set ``run.cleanup_done``."""
    spec = engine.spec
    stop_file = spec.stop_path
    try:
        # Also when the leader exited by itself: what it left behind inherited the variable.
        if not request_stop_file(stop_file):
            logger.warning("engine %s: cannot create its stop file %s; stopping it by signal", spec.name, stop_file)
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
            engine.log.note(f"killed with {platform.KILL_NAME} after {spec.stop_timeout:g}s: pids {result.killed}")
    except Exception:
        logger.exception("stopping engine %s failed", spec.name)
    finally:
        # The leader is our child: the waiter thread reaps it right after the hard kill. Only
        # a process stuck in the kernel (D state) could outlast this; do not hang on it.
        if not run.exited.wait(_LEADER_REAP_SECONDS):
            logger.error("engine %s: pid %s did not exit even after %s", spec.name, run.pid, platform.KILL_NAME)
        platform.release_group(run.pid)
        try:
            clear_stop_file(stop_file)
        except OSError:
            pass  # the next start tries again, and fails its start if it still cannot
        for reader in run.readers:
            reader.stop_reading.set()
        run.cleanup_done.set()
