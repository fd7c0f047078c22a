"""Find and stop every process that belongs to one engine start.

An engine start is one process started by ``core.platform.start_process``: on POSIX it leads
a new session, so its pid is also its process-group id and session id; on Windows it is in a
Job Object of its own. What belongs to it:

* its descendants (``psutil.Process.children(recursive=True)``),
* every process still in its group (``core.platform.group_of(pid).member_pids()``: on POSIX its
  process group or session, so children whose parent already died and were re-parented to
  init, which are no longer descendants; on Windows the job's process list),
* every process whose environment carries the start's token (``TRADEDAY_ENGINE_INSTANCE``):
  this also catches a grandchild that called ``setsid()`` *and* was re-parented, which
  neither of the above can see.

Everything is collected *before* signalling, because a signal makes parents die and
children re-parent; and collected again before the hard-kill round (SIGKILL, or
TerminateJobObject on Windows: ``platform.KILL``), to catch processes forked while stopping.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field

import psutil

from core import platform

TOKEN_VARIABLE = "TRADEDAY_ENGINE_INSTANCE"
_POLL_SECONDS = 0.02
# After the hard kill, the kernel needs a moment to tear processes down.
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
    for pid in platform.group_of(leader_pid).member_pids():
        if pid not in found:
            try:
                add(psutil.Process(pid))
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
    if token is not None:
        for proc in psutil.process_iter():
            if proc.pid in found or proc.pid == own_pid:
                continue
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

    ``sig`` is the stop signal or ``platform.KILL``. With ``whole_group``, members of the
    engine's group get it through the group (``killpg``, which also reaches members forked
    after the collection; on Windows CTRL_BREAK_EVENT or TerminateJobObject) and the others
    one by one. The group is signalled only while a collected process is still in it: the
    kernel never hands out a pid that is some group's id, but once the group is empty the
    number may be reused.
    """
    group = platform.group_of(leader_pid)
    outside: list[psutil.Process] = []
    group_in_use = False
    for proc in procs:
        in_group = group.holds(proc.pid)
        if in_group is None:
            continue  # gone
        if in_group and whole_group:
            group_in_use = True
        else:
            outside.append(proc)
    if group_in_use:
        if sig == platform.KILL:
            group.kill()
        else:
            group.request_stop(sig)
    for proc in outside:
        if sig == platform.KILL:
            platform.kill_process(proc)
        else:
            platform.request_stop_process(proc, sig)


@dataclass
class StopResult:
    """What stopping one engine start took."""

    signalled: int = 0          # processes that got the stop signal
    killed: list[int] = field(default_factory=list)  # pids that needed the hard kill (SIGKILL)
    survivors: list[int] = field(default_factory=list)  # pids still alive at the end (should stay empty)
    seconds: float = 0.0


def stop_engine_processes(
    leader_pid: int,
    *,
    token: str | None,
    stop_signal: int = int(signal.SIGTERM),
    stop_timeout: float = 30.0,
    leader_exited: threading.Event | None = None,
    kill_now: threading.Event | None = None,
) -> StopResult:
    """Stop everything of one engine start: ``stop_signal`` to all, wait, then the hard kill.

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
    # Grace is over (or kill_now): kill the group, everything collected, and anything new.
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
            _log.error("processes of engine start %s survived %s: %s", leader_pid, platform.KILL_NAME,
                       result.survivors)
            break
        for p in targets:
            if p.pid not in result.killed:
                result.killed.append(p.pid)
        _signal_all(leader_pid, targets, platform.KILL)
        procs = targets
        time.sleep(_POLL_SECONDS)
    result.seconds = time.monotonic() - began
    return result
