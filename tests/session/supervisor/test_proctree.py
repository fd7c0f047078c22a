"""session/proctree.py through real process trees (tests/engines/tree.py): what belongs to an
engine start, the grace period, SIGKILL, kill_now, signalling once, processes forked while stopping.

Every tree says when it is set up ("tree ready"), and tests wait for events (a line, a file,
a process gone), never for a fixed time.
"""
from __future__ import annotations

import os
import secrets
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from session import proctree
from session.proctree import TOKEN_VARIABLE, StopResult, collect_engine_processes, stop_engine_processes
from tests.conftest import ENGINES

PY = sys.executable
# Real-time signals are queued, not merged: each delivery can be counted.
STOP_SIGNAL = signal.SIGRTMIN + 1
MARK_SIGNAL = signal.SIGRTMIN + 2

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process trees of Linux")


@dataclass
class Tree:
    """A started tree: its leader (our child, reaped by a waiter thread) and members by label."""

    proc: subprocess.Popen[bytes]
    token: str
    counts: Path
    exited: threading.Event
    members: dict[str, int] = field(default_factory=dict)  # "child:stubborn" -> pid; "leader:polite" too

    @property
    def leader(self) -> int:
        return self.proc.pid

    def pids(self, *labels: str) -> set[int]:
        return {self.members[label] for label in labels}


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def start_tree(tmp_path: Path) -> Iterator[Callable[..., Tree]]:
    """Start trees; whatever a test leaves alive is SIGKILLed afterwards."""
    started: list[tuple[Tree, list[psutil.Process]]] = []

    def start(*members: str, leader: str = "polite") -> Tree:
        counts = tmp_path / f"counts-{len(started)}"
        counts.mkdir()
        token = f"test-{secrets.token_hex(4)}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
        env |= {TOKEN_VARIABLE: token, "TREE_COUNTS": str(counts), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [PY, str(ENGINES / "tree.py"), "--leader", leader, *members],
            stdout=subprocess.PIPE, env=env, start_new_session=True,
        )
        tree = Tree(proc, token, counts, threading.Event())
        # The leader is our child: reap it here, as the supervisor's waiter thread does.
        threading.Thread(target=lambda: (proc.wait(), tree.exited.set()), daemon=True).start()
        processes: list[psutil.Process] = []
        started.append((tree, processes))
        for line in _lines_until_ready(proc):
            label, pid = line.split()[1:]
            tree.members[label] = int(pid)
            processes.append(psutil.Process(int(pid)))
        assert len(tree.members) == len(members) + 1, tree.members
        return tree

    yield start
    for tree, processes in started:
        forked = tree.counts / "forked"
        if forked.exists():
            processes.append(psutil.Process(int(forked.read_text())))
        # Also what a failed start left before it said who is who (anonymous ones aside).
        processes += collect_engine_processes(tree.leader, tree.token)
        for proc in processes:
            try:
                proc.kill()  # psutil checks the creation time: never a recycled pid
            except psutil.NoSuchProcess:
                pass
        tree.proc.kill()
        tree.exited.wait(5)
        assert tree.proc.stdout is not None
        tree.proc.stdout.close()


def _lines_until_ready(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> list[str]:
    """The tree's lines before "tree ready". Raw reads: members keep the pipe open, so EOF
    cannot be waited for, and a buffered reader could hide lines from select()."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    received = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not selector.select(max(0.0, deadline - time.monotonic())):
                continue
            data = os.read(fd, 4096)
            assert data, f"tree ended before it was ready: {received!r}"
            received += data
            lines = received.decode().splitlines()
            if "tree ready" in lines:
                return lines[: lines.index("tree ready")]
    raise AssertionError(f"tree not ready within {timeout}s: {received!r}")


def stop(tree: Tree, *, stop_timeout: float, stop_signal: int = signal.SIGTERM,
         kill_now: threading.Event | None = None) -> StopResult:
    return stop_engine_processes(tree.leader, token=tree.token, stop_signal=stop_signal, stop_timeout=stop_timeout,
                                 leader_exited=tree.exited, kill_now=kill_now)


@pytest.fixture
def signalling_done(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once the real _signal_all has sent a first round of the stop signal (not SIGKILL)."""
    real = proctree._signal_all
    done = threading.Event()

    def recorded(leader_pid: int, procs: list[psutil.Process], sig: int, *, whole_group: bool = True) -> None:
        real(leader_pid, procs, sig, whole_group=whole_group)
        if sig != signal.SIGKILL:
            done.set()

    monkeypatch.setattr(proctree, "_signal_all", recorded)
    return done


# --------------------------------------------------------------------------- what belongs to a start


def test_collect_finds_descendants_group_orphans_and_token_escapees(start_tree: Callable[..., Tree]) -> None:
    tree = start_tree("child:stubborn", "orphan:stubborn", "escaped:stubborn", "anonymous:stubborn")
    leader, orphan, escaped = tree.leader, tree.members["orphan:stubborn"], tree.members["escaped:stubborn"]
    # The tree is what it says: the orphan left the tree but not the group; the escapee left both.
    assert psutil.Process(orphan).ppid() != leader and os.getpgid(orphan) == leader
    assert psutil.Process(escaped).ppid() != leader
    assert os.getsid(escaped) != leader and os.getpgid(escaped) != leader
    found = {p.pid for p in collect_engine_processes(leader, tree.token)}
    assert found == tree.pids("leader:polite", "child:stubborn", "orphan:stubborn", "escaped:stubborn")
    # Without the token the setsid'd, re-parented grandchild cannot be seen; nor, ever, one
    # that dropped the token from its environment.
    assert {p.pid for p in collect_engine_processes(leader, None)} == tree.pids(
        "leader:polite", "child:stubborn", "orphan:stubborn"
    )
    assert os.getpid() not in found


# --------------------------------------------------------------------------- stopping


def test_polite_tree_stops_within_the_grace_without_sigkill(start_tree: Callable[..., Tree]) -> None:
    tree = start_tree("child:polite", "orphan:polite", "escaped:polite")
    result = stop(tree, stop_timeout=30.0)
    assert result.signalled == 4 and result.killed == [] and result.survivors == []
    assert result.seconds < 10  # returned when the last one was gone, not after the grace
    assert tree.exited.is_set() and all(gone(pid) for pid in tree.members.values())


def test_grace_then_sigkill_for_what_ignores_sigterm(start_tree: Callable[..., Tree]) -> None:
    tree = start_tree("child:polite", "child:stubborn", "orphan:stubborn", "escaped:stubborn")
    result = stop(tree, stop_timeout=0.5)
    assert result.seconds >= 0.5  # the stubborn ones had their grace period
    assert sorted(result.killed) == sorted(tree.pids("child:stubborn", "orphan:stubborn", "escaped:stubborn"))
    assert result.signalled == 5 and result.survivors == []
    assert all(gone(pid) for pid in tree.members.values())


def test_kill_now_skips_the_grace(start_tree: Callable[..., Tree]) -> None:
    tree = start_tree("child:stubborn", "escaped:stubborn", leader="stubborn")
    kill_now = threading.Event()
    kill_now.set()  # the second Ctrl+C came first
    result = stop(tree, stop_timeout=30.0, kill_now=kill_now)
    assert result.signalled == 0 and result.seconds < 10
    assert sorted(result.killed) == sorted(tree.members.values())
    assert all(gone(pid) for pid in tree.members.values())


def test_kill_now_during_the_grace(start_tree: Callable[..., Tree]) -> None:
    tree = start_tree("child:counter", leader="counter")
    kill_now = threading.Event()
    results: list[StopResult] = []
    stopper = threading.Thread(target=lambda: results.append(stop(tree, stop_signal=STOP_SIGNAL, stop_timeout=60.0,
                                                                  kill_now=kill_now)))
    stopper.start()
    # Both got the stop signal and ignore it: now the second Ctrl+C.
    assert wait_for(lambda: all((tree.counts / str(pid)).exists() for pid in tree.members.values()))
    kill_now.set()
    stopper.join(20)
    assert not stopper.is_alive()
    [result] = results
    assert result.signalled == 2 and sorted(result.killed) == sorted(tree.members.values())
    assert result.seconds < 30


def test_each_process_gets_the_stop_signal_once(
    start_tree: Callable[..., Tree], signalling_done: threading.Event
) -> None:
    """By killpg for the group, one by one for the rest, never both (a second stop signal can
    land while an engine is already shutting down and kill it mid-cleanup)."""
    tree = start_tree("child:counter", "orphan:counter", "escaped:counter", leader="counter")
    kill_now = threading.Event()
    stopper = threading.Thread(target=lambda: stop(tree, stop_signal=STOP_SIGNAL, stop_timeout=60.0,
                                                   kill_now=kill_now))
    stopper.start()
    try:
        counts = {pid: tree.counts / str(pid) for pid in tree.members.values()}
        assert signalling_done.wait(20)
        # A marker once every stop signal was sent: queued real-time signals are delivered
        # lowest number first, so a duplicate stop signal would be counted before the marker.
        for pid in counts:
            os.kill(pid, MARK_SIGNAL)
        assert wait_for(lambda: all(path.exists() and str(int(MARK_SIGNAL)) in path.read_text().split()
                                    for path in counts.values()))
        for pid, path in counts.items():
            assert path.read_text().split() == [str(int(STOP_SIGNAL)), str(int(MARK_SIGNAL))], pid
    finally:
        kill_now.set()
        stopper.join(20)
    assert all(gone(pid) for pid in tree.members.values())


def test_a_process_forked_while_stopping_is_stopped_too(start_tree: Callable[..., Tree]) -> None:
    """The leader answers SIGTERM by forking a child that ignores it, then exits: collected
    again once the first ones are gone, signalled, then killed after the grace."""
    tree = start_tree("child:polite", leader="forker")
    result = stop(tree, stop_timeout=1.0)
    forked = int((tree.counts / "forked").read_text())
    assert result.killed == [forked] and result.signalled == 3 and result.survivors == []
    assert gone(forked) and all(gone(pid) for pid in tree.members.values())


def test_nothing_to_stop_returns_at_once(tmp_path: Path) -> None:
    proc = subprocess.Popen([PY, "-c", "pass"], start_new_session=True)
    proc.wait()
    exited = threading.Event()
    exited.set()
    result = stop_engine_processes(proc.pid, token=f"test-{secrets.token_hex(4)}", stop_timeout=30.0,
                                   leader_exited=exited)
    assert result == StopResult(signalled=0, killed=[], survivors=[], seconds=result.seconds)
    assert result.seconds < 5
