"""Find and stop every process that belongs to one engine start.

An engine start is one process spawned with ``start_new_session=True``, so its pid is also
its process-group id and session id. What belongs to it:

* its descendants (``psutil.Process.children(recursive=True)``),
* every process still in its process group or session (children whose parent already
  died and were re-parented to init are no longer descendants, but keep the group),
* every process whose environment carries the start's token (``TRADEDAY_ENGINE_INSTANCE``):
  this also catches a grandchild that called ``setsid()`` *and* was re-parented, which
  neither of the above can see.

Everything is collected *before* signalling, because a signal makes parents die and
children re-parent; and collected again before the SIGKILL round, to catch processes
forked while stopping.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field

import psutil

TOKEN_VARIABLE = "TRADEDAY_ENGINE_INSTANCE"
_POLL_SECONDS = 0.02
# After SIGKILL, the kernel needs a moment to tear processes down.
_KILL_WAIT_SECONDS = 2.0

_log = logging.getLogger("tradeday.proctree")


def _alive(proc: psutil.Process) -> bool:
    """Running and not a zombie: a killed orphan can stay a zombie where PID 1 does not reap."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def collect_engine_processes(leader_pid: int, token: str | None = None) -> list[psutil.Process]:
    """Live processes of one engine start (leader included if alive), by group, session, tree and token."""
    own_pid = os.getpid()
    found: dict[int, psutil.Process] = {}

    def add(proc: psutil.Process) -> None:
        if proc.pid != own_pid and proc.pid not in found and _alive(proc):
            found[proc.pid] = proc

    try:
        leader = psutil.Process(leader_pid)
        add(leader)
        for child in leader.children(recursive=True):
            add(child)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass
    for proc in psutil.process_iter():
        pid = proc.pid
        if pid in found or pid == own_pid:
            continue
        try:
            same_group = os.getpgid(pid) == leader_pid or os.getsid(pid) == leader_pid
        except OSError:
            continue
        if same_group:
            add(proc)
            continue
        if token is not None:
            try:
                if proc.environ().get(TOKEN_VARIABLE) == token:
                    add(proc)
            except (psutil.Error, OSError):
                # Other users' processes (AccessDenied) cannot be ours anyway.
                continue
    # Descendants of what the scan found (e.g. children of a setsid'd grandchild).
    for proc in list(found.values()):
        try:
            for child in proc.children(recursive=True):
                add(child)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return list(found.values())


def _signal_all(leader_pid: int, procs: list[psutil.Process], sig: int, *, whole_group: bool = True) -> None:
    """Signal each process exactly once: a second SIGTERM can land while an engine's
    runtime is already shutting down with default handlers back, and kill it mid-cleanup.

    With ``whole_group``, members of the engine's group get it through ``killpg`` (which
    also reaches members forked after the collection) and the others one by one. ``killpg``
    is used only while a collected process is still in the group: the kernel never hands
    out a pid that is some group's id, but once the group is empty the number may be reused.
    """
    outside: list[psutil.Process] = []
    group_in_use = False
    for proc in procs:
        try:
            in_group = os.getpgid(proc.pid) == leader_pid
        except OSError:
            continue
        if in_group and whole_group:
            group_in_use = True
        else:
            outside.append(proc)
    if group_in_use:
        try:
            os.killpg(leader_pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
    for proc in outside:
        try:
            # psutil refuses to signal a pid that was reused by another process.
            proc.send_signal(sig)
        except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
            pass


@dataclass
class StopResult:
    """What stopping one engine start took."""

    signalled: int = 0          # processes that got the stop signal
    killed: list[int] = field(default_factory=list)  # pids that needed SIGKILL
    survivors: list[int] = field(default_factory=list)  # pids still alive at the end (should stay empty)
    seconds: float = 0.0


def stop_engine_processes(
    leader_pid: int,
    *,
    token: str | None,
    stop_signal: int = signal.SIGTERM,
    stop_timeout: float = 30.0,
    leader_exited: threading.Event | None = None,
    kill_now: threading.Event | None = None,
) -> StopResult:
    """Stop everything of one engine start: ``stop_signal`` to all, wait, then SIGKILL.

    ``leader_exited`` is set by whoever reaps the leader (the supervisor's waiter thread),
    because the leader is our child: psutil must not ``waitpid`` it, or Popen would lose
    its exit code. ``kill_now`` skips the grace period (second Ctrl+C).
    """
    began = time.monotonic()
    result = StopResult()
    deadline = began + max(0.0, stop_timeout)
    procs = collect_engine_processes(leader_pid, token)
    leader_done = leader_exited.is_set() if leader_exited is not None else True
    if not procs and leader_done:
        result.seconds = time.monotonic() - began
        return result
    if kill_now is None or not kill_now.is_set():
        _signal_all(leader_pid, procs, stop_signal)
        result.signalled = len(procs)
        signalled_pids = {p.pid for p in procs}
        while time.monotonic() < deadline and not (kill_now is not None and kill_now.is_set()):
            leader_done = leader_exited.is_set() if leader_exited is not None else True
            if leader_done and not any(_alive(p) for p in procs):
                # Those are gone; anything forked meanwhile gets the same treatment.
                procs = collect_engine_processes(leader_pid, token)
                if not procs:
                    result.seconds = time.monotonic() - began
                    return result
                fresh = [p for p in procs if p.pid not in signalled_pids]
                if fresh:
                    _signal_all(leader_pid, fresh, stop_signal, whole_group=False)
                    signalled_pids.update(p.pid for p in fresh)
                    result.signalled += len(fresh)
            if kill_now is not None:
                kill_now.wait(_POLL_SECONDS)
            else:
                time.sleep(_POLL_SECONDS)
    # Grace is over (or kill_now): SIGKILL the group, everything collected, and anything new.
    kill_deadline = time.monotonic() + _KILL_WAIT_SECONDS
    while True:
        survivors = [p for p in procs if _alive(p)]
        survivor_pids = {p.pid for p in survivors}
        fresh = [p for p in collect_engine_processes(leader_pid, token) if p.pid not in survivor_pids]
        targets = survivors + fresh
        leader_done = leader_exited.is_set() if leader_exited is not None else True
        if not targets and leader_done:
            break
        if time.monotonic() > kill_deadline:
            result.survivors = [p.pid for p in targets]
            _log.error("processes of engine start %s survived SIGKILL: %s", leader_pid, result.survivors)
            break
        for p in targets:
            if p.pid not in result.killed:
                result.killed.append(p.pid)
        _signal_all(leader_pid, targets, signal.SIGKILL)
        procs = targets
        time.sleep(_POLL_SECONDS)
    result.seconds = time.monotonic() - began
    return result
