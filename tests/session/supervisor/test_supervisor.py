"""Engine supervision through real processes: crashes, backoff, hangs, stops, signals.

Fixture engines live in tests/engines/ (stdlib scripts in the spirit of supervisord's
spew/unkillable). Timings are short (start_secs 0.2, backoff 0.1 s, stop_timeout <= 1 s).
"""
from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psutil
import pytest

from session.supervisor import (
    POLICY_FIELDS,
    TRANSITIONS,
    EngineSpec,
    EngineState,
    IllegalTransition,
    Supervisor,
    check_transition,
    engine_environment,
    install_stop_signals,
)
from tests.conftest import ENGINES, REPO

PY = sys.executable


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def make_spec(tmp: Path, name: str, argv: list[str], **overrides: Any) -> EngineSpec:
    fields: dict[str, Any] = dict(
        name=name,
        argv=argv,
        cwd=tmp,
        env=base_env(),
        log_file=tmp / "logs" / f"{name}.log",
        start_secs=0.2,
        backoff_initial=0.1,
        backoff_factor=2.0,
        backoff_max=1.0,
        backoff_jitter=0.0,
        hang_timeout=0.0,
        stop_timeout=1.0,
    )
    fields.update(overrides)
    return EngineSpec(**fields)


def engine(script: str, *args: str) -> list[str]:
    return [PY, str(ENGINES / script), *args]


class Recorder:
    """Collects events and transitions with the monotonic time they were delivered."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str, str, dict[str, Any]]] = []
        self.transitions: list[tuple[str, EngineState, EngineState]] = []

    def on_event(self, name: str, event: str, info: dict[str, Any]) -> None:
        self.events.append((time.monotonic(), name, event, info))

    def on_transition(self, status: Any, old: EngineState, new: EngineState) -> None:
        self.transitions.append((status.name, old, new))

    def named(self, event: str) -> list[tuple[float, str, str, dict[str, Any]]]:
        return [e for e in self.events if e[2] == event]


def supervise(specs: list[EngineSpec], rec: Recorder | None = None, **kwargs: Any) -> Supervisor:
    rec = rec or Recorder()
    kwargs.setdefault("console", io.BytesIO())
    return Supervisor(specs, on_event=rec.on_event, on_transition=rec.on_transition, **kwargs)


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if not gone(p)]
        time.sleep(0.02)
    return alive


def log_lines(path: Path) -> list[bytes]:
    """Engine lines of a log with timestamps stripped and tradeday's own notes left out."""
    out = []
    for raw in path.read_bytes().split(b"\n")[:-1]:
        stamp, _, rest = raw.partition(b" ")
        assert stamp[:4].isdigit() and b"T" in stamp, raw[:80]
        if not rest.startswith(b"### tradeday:"):
            out.append(rest)
    return out


@pytest.fixture
def cleanup_pids() -> Iterator[list[int]]:
    """Pids a test started outside the supervisor's reach; killed afterwards whatever happens."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --------------------------------------------------------------------------- restarts


def test_crash_loop_backs_off_then_gives_up(tmp_path: Path) -> None:
    rec = Recorder()
    spec = make_spec(tmp_path, "crashy", engine("crash.py", "3"), max_restarts=3)
    sup = supervise([spec], rec)
    began = time.monotonic()
    sup.start()
    assert sup.run_until(soon(10), threading.Event()) == "all_finished"
    elapsed = time.monotonic() - began
    sup.stop_all()

    [status] = sup.snapshot()
    assert status.state is EngineState.FATAL
    assert status.starts == 4 and status.restarts == 3
    assert status.exit_code == 3 and "gave up after 3 restarts" in (status.fatal_reason or "")
    assert sup.any_failed()
    # Backoff 0.1, 0.2, 0.4 (factor 2, no jitter): each restart follows the decision by that delay.
    exits = rec.named("exited")
    restarts = rec.named("restarted")
    assert [e[3]["restart_in_s"] for e in exits[:3]] == [0.1, 0.2, 0.4]
    # TRADEDAY_RESTARTS counts up across starts, and the log holds every start's line.
    lines = [line for line in log_lines(spec.log_file) if line.startswith(b"crash ")]
    assert [line.split()[1] for line in lines] == [b"restarts=0", b"restarts=1", b"restarts=2", b"restarts=3"]
    # The lower bound, exact whatever the load: each start prints its wall time (at=) just
    # before it exits, so before the decision; the next start prints after the delay passed.
    printed_at = [float(line.rsplit(b"at=", 1)[1]) for line in lines]
    for before, after, delay in zip(printed_at[:3], printed_at[1:], [0.1, 0.2, 0.4], strict=True):
        assert after - before >= delay
    # The upper bound, generous for a busy machine: a restart also waits for the cleanup of
    # the previous start, and for the spawn.
    for (t_exit, *_), (t_restart, *_), delay in zip(exits[:3], restarts, [0.1, 0.2, 0.4], strict=True):
        assert t_restart - t_exit < delay + 2.0
    assert [e[2] for e in rec.events[-3:]] == ["exited", "gave_up", "fatal"]
    assert elapsed < 30  # no restart loop beyond max_restarts (generous: a busy machine)


def test_exit_78_is_fatal_without_restart(tmp_path: Path) -> None:
    rec = Recorder()
    sup = supervise([make_spec(tmp_path, "misconfigured", engine("crash.py", "78"))], rec)
    sup.start()
    assert sup.run_until(soon(10), threading.Event()) == "all_finished"
    sup.stop_all()
    [status] = sup.snapshot()
    assert status.state is EngineState.FATAL and status.starts == 1 and status.exit_code == 78
    assert "do not restart" in (status.fatal_reason or "")
    assert rec.named("restarted") == [] and len(rec.named("fatal")) == 1
    assert sup.any_failed()


def test_on_failure_exit_0_is_finished(tmp_path: Path) -> None:
    rec = Recorder()
    sup = supervise([make_spec(tmp_path, "done", engine("crash.py", "0"), restart="on-failure")], rec)
    sup.start()
    began = time.monotonic()
    assert sup.run_until(soon(10), threading.Event()) == "all_finished"
    assert time.monotonic() - began < 2  # returns as soon as the engine ends
    sup.stop_all()
    [status] = sup.snapshot()
    assert status.state is EngineState.EXITED and status.starts == 1 and status.exit_code == 0
    assert not sup.any_failed()
    # Exited by itself from a live state, never through BACKOFF or FATAL. Within start_secs
    # that is STARTING -> EXITED; on a busy machine the interpreter can take longer than
    # start_secs to start, and the engine is RUNNING first. Both orderings are the contract's.
    path = [(old, new) for name, old, new in rec.transitions if name == "done"]
    assert path in (
        [(EngineState.STOPPED, EngineState.STARTING), (EngineState.STARTING, EngineState.EXITED)],
        [
            (EngineState.STOPPED, EngineState.STARTING),
            (EngineState.STARTING, EngineState.RUNNING),
            (EngineState.RUNNING, EngineState.EXITED),
        ],
    ), path


def test_always_restarts_after_exit_0(tmp_path: Path) -> None:
    rec = Recorder()
    spec = make_spec(tmp_path, "batch", engine("crash.py", "0"), restart="always", max_restarts=2, backoff_initial=0.05)
    sup = supervise([spec], rec)
    sup.start()
    assert sup.run_until(soon(10), threading.Event()) == "all_finished"
    sup.stop_all()
    [status] = sup.snapshot()
    assert status.starts == 3 and status.restarts == 2
    assert status.state is EngineState.EXITED  # clean exits: finished, not failed
    assert not sup.any_failed()
    assert len(rec.named("restarted")) == 2


def test_never_policy_nonzero_exit_counts_as_failed(tmp_path: Path) -> None:
    sup = supervise([make_spec(tmp_path, "once", engine("crash.py", "2"), restart="never")])
    sup.start()
    assert sup.run_until(soon(10), threading.Event()) == "all_finished"
    sup.stop_all()
    [status] = sup.snapshot()
    assert status.state is EngineState.EXITED and status.starts == 1 and status.exit_code == 2
    assert sup.any_failed() and "code 2" in (status.failure or "")


def test_missing_program_is_fatal_at_once(tmp_path: Path) -> None:
    sup = supervise([make_spec(tmp_path, "typo", [str(tmp_path / "no-such-engine")])])
    sup.start()
    assert sup.run_until(soon(5), threading.Event()) == "all_finished"
    sup.stop_all()
    [status] = sup.snapshot()
    assert status.state is EngineState.FATAL and "cannot start" in (status.fatal_reason or "")


def test_failed_start_vs_running(tmp_path: Path) -> None:
    """An exit within start_secs is a failed start; a later one is not."""
    rec = Recorder()
    # Margins for a busy machine: "quick" exits as soon as its interpreter is up, long before
    # 5 s; "late" runs 1 s, far beyond its 0.1 s.
    quick = make_spec(tmp_path, "quick", engine("crash.py", "1"), max_restarts=0, start_secs=5.0)
    late = make_spec(tmp_path, "late", engine("crash.py", "1", "--after", "1.0"), max_restarts=0, start_secs=0.1)
    sup = supervise([quick, late], rec)
    sup.start()
    assert sup.run_until(soon(10), threading.Event()) == "all_finished"
    sup.stop_all()
    by_name = {e[1]: e[3] for e in rec.named("exited")}
    assert by_name["quick"]["failed_start"] is True
    assert by_name["late"]["failed_start"] is False
    assert ("late", EngineState.STARTING, EngineState.RUNNING) in rec.transitions
    assert ("quick", EngineState.STARTING, EngineState.RUNNING) not in rec.transitions


# --------------------------------------------------------------------------- watchdog


def test_hung_engine_is_restarted_by_the_watchdog(tmp_path: Path) -> None:
    rec = Recorder()
    spec = make_spec(tmp_path, "stuck", engine("silent.py"), hang_timeout=0.5, max_restarts=1, stop_timeout=0.5)
    sup = supervise([spec], rec)
    sup.start()
    assert sup.run_until(soon(10), threading.Event()) == "all_finished"
    sup.stop_all()
    [status] = sup.snapshot()
    assert len(rec.named("hung")) == 2 and len(rec.named("restarted")) == 1
    assert status.state is EngineState.FATAL and status.starts == 2
    hung_exit = rec.named("exited")[0][3]
    assert hung_exit["hung"] is True and hung_exit["exit_code"] == -signal.SIGTERM
    assert b"### tradeday: hung" in spec.log_file.read_bytes()


def test_heartbeat_touches_keep_a_silent_engine_alive(tmp_path: Path) -> None:
    rec = Recorder()
    heartbeat = tmp_path / "hb" / "quiet.heartbeat"
    env = base_env() | {"TRADEDAY_HEARTBEAT": str(heartbeat)}
    spec = make_spec(
        tmp_path, "quiet", engine("silent.py", "--heartbeat-every", "0.1"), env=env, heartbeat_file=heartbeat, hang_timeout=0.5
    )
    sup = supervise([spec], rec)
    sup.start()
    assert sup.run_until(soon(1.5), threading.Event()) == "deadline"
    [status] = sup.snapshot()
    assert status.state is EngineState.RUNNING and status.starts == 1
    assert rec.named("hung") == []
    assert status.rss_bytes and status.rss_bytes > 1_000_000 and status.uptime_s >= 1.0
    sup.stop_all()
    assert not sup.any_failed()


# --------------------------------------------------------------------------- stopping


def test_engine_ignoring_sigterm_is_killed_after_stop_timeout(tmp_path: Path) -> None:
    rec = Recorder()
    spec = make_spec(tmp_path, "stubborn", engine("unkillable.py"), stop_timeout=0.5)
    sup = supervise([spec], rec)
    sup.start()
    assert sup.run_until(soon(0.5), threading.Event()) == "deadline"
    _wait_for_line(spec.log_file, b"unkillable pid=")  # its SIGTERM is ignored from here on
    [before] = sup.snapshot()
    began = time.monotonic()
    sup.stop_all()
    took = time.monotonic() - began
    assert 0.5 <= took < 10  # killed after stop_timeout (0.5 s), not left running
    [status] = sup.snapshot()
    assert status.state is EngineState.STOPPED and status.exit_code == -signal.SIGKILL
    assert gone(before.pid)
    assert len(rec.named("killed")) == 1 and sup.any_failed()
    assert "did not stop within 0.5s" in (status.failure or "")


def test_kill_now_skips_the_grace_period(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "stubborn", engine("unkillable.py"), stop_timeout=20)
    sup = supervise([spec])
    sup.start()
    sup.run_until(soon(0.4), threading.Event())
    _wait_for_line(spec.log_file, b"unkillable pid=")  # its SIGTERM is ignored from here on
    kill_now = threading.Event()
    threading.Timer(0.2, kill_now.set).start()  # the second Ctrl+C, while waiting
    began = time.monotonic()
    sup.stop_all(kill_now=kill_now)
    assert time.monotonic() - began < 2.0
    assert sup.snapshot()[0].exit_code == -signal.SIGKILL


def test_clean_stop_is_not_a_failure(tmp_path: Path) -> None:
    rec = Recorder()
    spec = make_spec(tmp_path, "polite", engine("sleeper.py"))
    sup = supervise([spec], rec)
    sup.start()
    sup.run_until(soon(0.4), threading.Event())
    _wait_for_line(spec.log_file, b"sleeper pid=")  # it exits 0 on SIGTERM from here on
    sup.stop_all()
    [status] = sup.snapshot()
    assert status.state is EngineState.STOPPED and status.exit_code == 0
    assert not sup.any_failed() and rec.named("killed") == []
    assert ("polite", EngineState.STOPPING, EngineState.STOPPED) in rec.transitions


def run_until_logged(sup: Supervisor, log: Path, needle: bytes, timeout: float = 10.0) -> str:
    """Supervise until ``needle`` is in ``log`` (an engine said it is ready): "stopped" then."""
    seen = threading.Event()

    def watch() -> None:
        try:
            _wait_for_line(log, needle, timeout)
        except AssertionError:
            return  # run_until then returns "deadline", and the caller's assertion says so
        seen.set()

    threading.Thread(target=watch, daemon=True).start()
    return sup.run_until(soon(timeout + 1), seen)


def _family_pids(log: Path) -> dict[str, int]:
    pids = {}
    for line in log_lines(log):
        parts = line.split()
        if len(parts) == 3 and parts[0] == b"family":
            pids[parts[1].decode()] = int(parts[2])
    return pids


def _wait_for_line(log: Path, needle: bytes, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and needle in log.read_bytes():
            return
        time.sleep(0.02)
    raise AssertionError(f"{needle!r} not in {log}")


def test_stop_all_leaves_no_process_behind(tmp_path: Path) -> None:
    """A stubborn child in the group and an escaped (setsid + re-parented) grandchild holding the pipe."""
    spec = make_spec(tmp_path, "family", engine("family.py", "--stubborn", "--escape"), stop_timeout=0.5)
    sup = supervise([spec])
    sup.start()
    stop = threading.Event()
    threading.Thread(target=lambda: (_wait_for_line(spec.log_file, b"family ready"), stop.set()), daemon=True).start()
    assert sup.run_until(soon(10), stop) == "stopped"
    pids = _family_pids(spec.log_file)
    assert set(pids) == {"engine", "stubborn", "escaped"}
    escaped = psutil.Process(pids["escaped"])
    assert escaped.ppid() != pids["engine"] and os.getsid(escaped.pid) != pids["engine"]  # truly escaped
    began = time.monotonic()
    sup.stop_all()
    assert time.monotonic() - began < 3.0
    assert wait_gone(list(pids.values()), 1.0) == []


def test_leftovers_of_an_exited_engine_are_stopped(tmp_path: Path) -> None:
    """The engine exits 0 by itself; what it left behind is stopped before tradeday moves on."""
    spec = make_spec(tmp_path, "leaver", engine("family.py", "--stubborn", "--escape", "--exit-after", "0.1"), stop_timeout=0.3)
    sup = supervise([spec])
    sup.start()
    began = time.monotonic()
    assert sup.run_until(soon(10), threading.Event()) == "all_finished"
    sup.stop_all()
    assert time.monotonic() - began < 4.0
    pids = _family_pids(spec.log_file)
    assert set(pids) == {"engine", "stubborn", "escaped"}
    assert wait_gone(list(pids.values()), 1.0) == []
    assert sup.snapshot()[0].state is EngineState.EXITED


def test_undiscoverable_grandchild_holding_the_pipe_does_not_block(tmp_path: Path, cleanup_pids: list[int]) -> None:
    """A grandchild with no token, own session, re-parented, keeps stdout open for 30 s:
    tradeday cannot find it, but must not wait for the pipe to close."""
    spec = make_spec(tmp_path, "sneaky", engine("family.py", "--anonymous", "--exit-after", "0.1"))
    sup = supervise([spec])
    sup.start()
    began = time.monotonic()
    assert sup.run_until(soon(10), threading.Event()) == "all_finished"
    sup.stop_all()
    assert time.monotonic() - began < 3.0
    pids = _family_pids(spec.log_file)
    cleanup_pids.append(pids["escaped"])
    assert not gone(pids["escaped"])  # it really was holding the pipe the whole time


# --------------------------------------------------------------------------- the supervising process


def _start_supervisor_process(
    tmp_path: Path, specs: list[EngineSpec], **options: Any
) -> tuple[subprocess.Popen[str], dict[str, int]]:
    payload = {
        "specs": [
            {
                "name": s.name,
                "argv": s.argv,
                "cwd": str(s.cwd),
                "env": s.env,
                "log_file": str(s.log_file),
                "start_secs": s.start_secs,
                "stop_timeout": s.stop_timeout,
                "hang_timeout": s.hang_timeout,
                "parent_death_signal": s.parent_death_signal,
            }
            for s in specs
        ],
        "console": os.devnull,
        **options,
    }
    proc = subprocess.Popen(
        [PY, str(ENGINES / "supervise.py"), json.dumps(payload)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("ready "), line
    return proc, json.loads(line[len("ready ") :])


@pytest.mark.parametrize("death_signal", [signal.SIGTERM, None], ids=["pdeathsig", "control-without"])
def test_sigkill_of_the_supervising_process_takes_the_engine_down(
    tmp_path: Path, cleanup_pids: list[int], death_signal: int | None
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux-only")
    spec = make_spec(tmp_path, "orphan", engine("sleeper.py"), parent_death_signal=death_signal)
    proc, pids = _start_supervisor_process(tmp_path, [spec])
    engine_pid = pids["orphan"]
    cleanup_pids.append(engine_pid)
    assert psutil.Process(engine_pid).ppid() == proc.pid
    # The sleeper prints once, then stays silent: it cannot die of a broken pipe later.
    _wait_for_line(spec.log_file, b"sleeper pid=")
    proc.kill()
    proc.wait()
    if death_signal is None:
        # The control: without PR_SET_PDEATHSIG the orphan lives on, so the check above means something.
        assert wait_gone([engine_pid], 0.5) == [engine_pid]
    else:
        assert wait_gone([engine_pid], 5.0) == [], "engine outlived a SIGKILLed tradeday"


def test_sigterm_to_the_supervising_process_stops_engines_and_exits_143(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "polite", engine("sleeper.py"))
    proc, pids = _start_supervisor_process(tmp_path, [spec])
    _wait_for_line(spec.log_file, b"sleeper pid=")  # the engine is up, with its SIGTERM handler
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 143
    result = json.loads(out.split("result ", 1)[1])
    assert result["reason"] == "stopped" and result["signal_exit_code"] == 143
    assert result["statuses"][0]["state"] == "STOPPED"
    assert gone(pids["polite"])


# --------------------------------------------------------------------------- protocol, environment, policy


def test_on_line_consumes_protocol_lines(tmp_path: Path) -> None:
    seen: list[tuple[str, bytes]] = []

    def on_line(name: str, line: bytes) -> bool:
        seen.append((name, line))
        return line.startswith(b"@tradeday ")

    for prefix in (b"@tradeday ", None):
        seen.clear()
        console = io.BytesIO()
        spec = make_spec(tmp_path / str(prefix is None), "proto", engine("protocol.py"))
        sup = Supervisor([spec], console=console, on_line=on_line, on_line_prefix=prefix)
        sup.start()
        assert sup.run_until(soon(10), threading.Event()) == "all_finished"
        sup.stop_all()
        protocol = [line for _, line in seen if line.startswith(b"@tradeday ")]
        assert len(protocol) == 2 and json.loads(protocol[0][len(b"@tradeday ") :])["event"] == "fill"
        if prefix is not None:
            assert len(seen) == 2  # with a prefix, other lines never reach the callback
        assert log_lines(spec.log_file) == [b"hello from protocol", b"in between", b"goodbye"]
        assert b"@tradeday" not in console.getvalue()
        assert console.getvalue().splitlines() == [b"[proto] hello from protocol", b"[proto] in between", b"[proto] goodbye"]
        assert sup.snapshot()[0].lines_total == 5


def test_quiet_keeps_engine_lines_off_the_console(tmp_path: Path) -> None:
    console = io.BytesIO()
    spec = make_spec(tmp_path, "proto", engine("protocol.py"))
    sup = Supervisor([spec], console=console, quiet=True)
    sup.start()
    sup.run_until(soon(10), threading.Event())
    sup.stop_all()
    assert console.getvalue() == b""
    assert b"hello from protocol" in spec.log_file.read_bytes()


def test_engine_environment_contract(tmp_path: Path) -> None:
    tz = timezone(timedelta(hours=5, minutes=30))
    env = engine_environment(
        {"PATH": "/usr/bin", "TRADEDAY_HEARTBEAT": "stale"},
        mode="paper",
        config_path="configs/x.yaml",
        day=date(2026, 11, 20),
        open=datetime(2026, 11, 20, 9, 15, tzinfo=tz),
        close=datetime(2026, 11, 20, 15, 30, tzinfo=tz),
        engine="momentum",
        journal=tmp_path / "journal" / "2026-11-20.csv",
        heartbeat=None,
    )
    assert env["TRADEDAY_MODE"] == "paper" and env["PATH"] == "/usr/bin"
    assert os.path.isabs(env["TRADEDAY_CONFIG"]) and env["TRADEDAY_CONFIG"].endswith("configs/x.yaml")
    assert env["TRADEDAY_SESSION_DATE"] == "2026-11-20"
    assert env["TRADEDAY_SESSION_OPEN"] == "2026-11-20T09:15:00+05:30"
    assert env["TRADEDAY_SESSION_CLOSE"] == "2026-11-20T15:30:00+05:30"
    assert env["TRADEDAY_ENGINE"] == "momentum" and env["PYTHONUNBUFFERED"] == "1"
    assert "TRADEDAY_HEARTBEAT" not in env


def test_engine_environment_without_a_close(tmp_path: Path) -> None:
    """A --start-now session on a day without one, and no --duration: no close to pass on."""
    env = engine_environment(
        {"PATH": "/usr/bin", "TRADEDAY_SESSION_CLOSE": "stale"},
        mode="paper",
        config_path="configs/x.yaml",
        day=date(2026, 11, 21),
        open=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        close=None,
        engine="momentum",
        journal=tmp_path / "journal.csv",
        heartbeat=None,
    )
    assert env["TRADEDAY_SESSION_OPEN"] == "2026-11-21T10:00:00+00:00"
    assert "TRADEDAY_SESSION_CLOSE" not in env


def test_update_policy_applies_to_the_next_decision(tmp_path: Path) -> None:
    rec = Recorder()
    spec = make_spec(tmp_path, "crashy", engine("crash.py", "1", "--after", "0.3"), max_restarts=5)
    sup = supervise([spec], rec)
    sup.start()
    with pytest.raises(ValueError, match="argv"):
        sup.update_policy("crashy", argv=["other"])
    with pytest.raises(ValueError, match="backoff_factor"):
        sup.update_policy("crashy", backoff_factor=0.5)
    sup.update_policy("crashy", restart="never")  # hot reload before the crash
    assert sup.run_until(soon(10), threading.Event()) == "all_finished"
    sup.stop_all()
    [status] = sup.snapshot()
    assert status.starts == 1 and status.state is EngineState.EXITED and rec.named("restarted") == []


def test_one_list_of_reloadable_fields_maps_the_config(tmp_path: Path) -> None:
    """The policy a hot reload applies is the one the session started with: same fields, same mapping."""
    from session.config import EngineConfig
    from session.engines import engine_policy

    assert POLICY_FIELDS <= {f.name for f in dataclass_fields(EngineSpec)}
    entry = EngineConfig(name="e", command=["x"], restart="always", max_restarts=7,
                         backoff={"initial": "2s", "factor": 3, "max": "1m", "jitter": 0.2},
                         no_restart_exit_codes=[78, 3], start_secs="4s", hang_timeout="9s", stop_timeout="6s",
                         console="errors")
    policy = engine_policy(entry)
    assert set(policy.changes()) == POLICY_FIELDS
    assert policy.changes() == {
        "restart": "always", "max_restarts": 7, "backoff_initial": 2.0, "backoff_factor": 3.0, "backoff_max": 60.0,
        "backoff_jitter": 0.2, "no_restart_exit_codes": (78, 3), "start_secs": 4.0, "hang_timeout": 9.0,
        "stop_timeout": 6.0, "console": "errors",
    }
    spec = make_spec(tmp_path, "e", ["x"], **policy.changes())
    sup = Supervisor([spec], console=io.BytesIO())
    sup.update_policy("e", **policy.changes())  # every policy field is accepted by a hot reload


def test_transitions_are_checked_against_the_table() -> None:
    assert set(TRANSITIONS) == set(EngineState)
    # Within a session EXITED and FATAL are final but for an operator's start (tradeday engine
    # start); STOPPED is left only by a start.
    assert TRANSITIONS[EngineState.EXITED] == TRANSITIONS[EngineState.FATAL] == {EngineState.STARTING}
    assert TRANSITIONS[EngineState.STOPPED] == {EngineState.STARTING, EngineState.BACKOFF, EngineState.FATAL}
    check_transition("x", EngineState.STARTING, EngineState.RUNNING)
    check_transition("x", EngineState.RUNNING, EngineState.RUNNING)  # no change is always fine
    with pytest.raises(IllegalTransition, match="engine x: RUNNING -> STARTING"):
        check_transition("x", EngineState.RUNNING, EngineState.STARTING)
    with pytest.raises(IllegalTransition):
        check_transition("x", EngineState.EXITED, EngineState.RUNNING)


def test_spec_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="restart must be one of"):
        make_spec(tmp_path, "x", ["true"], restart="sometimes")
    with pytest.raises(ValueError, match="non-empty list"):
        make_spec(tmp_path, "x", [])
    with pytest.raises(ValueError, match="unique"):
        Supervisor([make_spec(tmp_path, "x", ["true"]), make_spec(tmp_path, "x", ["true"])])
    spec = make_spec(tmp_path, "x", ["true"], backoff_initial=1, backoff_factor=2, backoff_max=5, backoff_jitter=0)
    assert [spec.backoff_delay(n) for n in range(5)] == [1, 2, 4, 5, 5]
    jittery = make_spec(tmp_path, "y", ["true"], backoff_initial=10, backoff_jitter=0.1, backoff_max=60)
    assert all(9 <= jittery.backoff_delay(0) <= 11 for _ in range(50))


def test_run_until_deadline_and_stop_request(tmp_path: Path) -> None:
    sup = supervise([make_spec(tmp_path, "polite", engine("sleeper.py"))])
    sup.start()
    began = time.monotonic()
    assert sup.run_until(soon(0.3), threading.Event()) == "deadline"
    assert 0.25 <= time.monotonic() - began < 0.8
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    assert sup.run_until(None, stop) == "stopped"
    with pytest.raises(ValueError, match="timezone-aware"):
        sup.run_until(datetime.now(), stop)
    sup.stop_all()
    sup.stop_all()  # a second stop is harmless


def test_install_stop_signals_records_and_escalates() -> None:
    stop, kill = threading.Event(), threading.Event()
    received: list[int] = []
    before = signal.getsignal(signal.SIGINT)
    restore = install_stop_signals(stop, kill, received)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(1.0) and not kill.is_set()
        assert restore.signal_number == signal.SIGTERM and restore.exit_code == 143
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C while stopping: kill now
        assert kill.wait(1.0)
        assert received == [signal.SIGTERM, signal.SIGINT]
    finally:
        restore()
    assert signal.getsignal(signal.SIGINT) is before  # restored to what it was


# --------------------------------------------------------------------------- the sample engine


def test_sample_engine_journals_and_flattens_on_sigterm(tmp_path: Path) -> None:
    journal = tmp_path / "journal" / "2026-11-20.csv"
    heartbeat = tmp_path / "state" / "demo.heartbeat"
    config = tmp_path / "tradeday.yaml"
    config.write_text("strategy:\n  symbols: [AAPL, MSFT]\nrisk:\n  max_position: 4\n")
    env = base_env() | {
        "TRADEDAY_CONFIG": str(config),
        "TRADEDAY_MODE": "paper",
        "TRADEDAY_ENGINE": "demo",
        "TRADEDAY_JOURNAL": str(journal),
        "TRADEDAY_HEARTBEAT": str(heartbeat),
    }
    argv = [PY, str(REPO / "examples" / "sample_engine.py"), "--seed", "7", "--tick", "0.02", "--duration", "0.6"]
    notes: list[dict[str, Any]] = []

    def on_line(name: str, line: bytes) -> bool:
        notes.append(json.loads(line[len(b"@tradeday ") :]))
        return True

    # First start runs its --duration and exits 0; `always` restarts it once, then it is stopped.
    spec = make_spec(tmp_path, "demo", argv, env=env, heartbeat_file=heartbeat, restart="always", max_restarts=1, stop_timeout=5)
    sup = Supervisor([spec], console=io.BytesIO(), on_line=on_line, on_line_prefix=b"@tradeday ")
    sup.start()
    # The second start prints its "starting" line once its SIGTERM handler is installed: stop
    # it only after that, or SIGTERM could kill it before it can flatten.
    assert run_until_logged(sup, spec.log_file, b"sample engine demo starting: mode=paper restarts=1 ") == "stopped"
    sup.run_until(soon(0.3), threading.Event())
    sup.stop_all()
    [status] = sup.snapshot()
    assert status.starts == 2 and status.state in (EngineState.STOPPED, EngineState.EXITED)
    assert status.exit_code == 0 and not sup.any_failed()
    assert heartbeat.exists()

    with journal.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert journal.read_text().splitlines()[0] == "time,strategy,symbol,side,quantity,price,fees,order_id,trade_id"
    assert len(rows) >= 4
    positions: dict[tuple[str, str], int] = {}
    for row in rows:
        stamp = datetime.fromisoformat(row["time"])
        assert stamp.utcoffset() is not None
        assert row["side"] in ("BUY", "SELL") and int(row["quantity"]) > 0
        assert float(row["fees"]) >= 0 and row["price"] == f"{float(row['price']):.2f}"
        assert row["strategy"] in ("momentum", "mean_reversion")
        assert row["symbol"] in ("AAPL", "MSFT") and int(row["quantity"]) <= 4  # the config's own sections
        key = (row["strategy"], row["symbol"])
        positions[key] = positions.get(key, 0) + (1 if row["side"] == "BUY" else -1) * int(row["quantity"])
    assert len({row["trade_id"] for row in rows}) == len(rows)  # unique across both starts
    from reports.journal import read_journal

    read_journal(journal)  # the end-of-day reader accepts it as is
    assert all(qty == 0 for qty in positions.values()), positions  # flattened at each exit
    assert all(n["event"] in ("fill", "message") for n in notes)


def test_sample_engine_config_error_exits_78_and_is_not_restarted(tmp_path: Path) -> None:
    config = tmp_path / "tradeday.yaml"
    config.write_text("risk:\n  max_position: 0\n")
    argv = [PY, str(REPO / "examples" / "sample_engine.py"), "--config", str(config), "--tick", "0.02"]
    sup = supervise([make_spec(tmp_path, "demo", argv)])
    sup.start()
    assert sup.run_until(soon(10), threading.Event()) == "all_finished"
    sup.stop_all()
    [status] = sup.snapshot()
    assert status.state is EngineState.FATAL and status.exit_code == 78 and status.starts == 1
