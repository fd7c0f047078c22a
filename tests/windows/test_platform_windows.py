"""core/platform/windows.py with real processes, files and handles: the job holds the whole
tree from the first instruction, TerminateJobObject and closing the job end it, the lock probe,
replace retries, the console close routine, and streaming's pipe source there."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.windows.winlane import ON_WINDOWS, SKIP_REASON, real_windows, wait_for

if not ON_WINDOWS:
    pytest.skip(SKIP_REASON, allow_module_level=True)

import psutil  # noqa: E402

from core import platform  # noqa: E402
from core.platform import windows  # noqa: E402

# The leader starts a child that starts a grandchild and exits at once: the grandchild is
# then nobody's descendant (Windows does not re-parent), but it is still in the job.
TREE = r"""
import subprocess, sys, time
code = ("import subprocess, sys; g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], "
        "stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(g.pid, flush=True)")
middle = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
print("grandchild", middle.stdout.strip(), flush=True)
time.sleep(120)
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).is_running()
    except psutil.NoSuchProcess:
        return False


def _start_tree() -> tuple[subprocess.Popen[bytes], int]:
    proc = platform.start_process([sys.executable, "-c", TREE], cwd=None, env=_env(), stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().split()
    assert line[0] == "grandchild", line
    return proc, int(line[1])


def test_the_job_holds_an_orphaned_grandchild_and_terminate_ends_the_tree() -> None:
    proc, grandchild = _start_tree()
    try:
        group = platform.group_of(proc.pid)
        assert grandchild not in {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        members = group.member_pids()
        assert {proc.pid, grandchild} <= members, members
        assert group.holds(grandchild) is True and group.holds(os.getpid()) is False

        from session.proctree import collect_engine_processes

        assert {proc.pid, grandchild} <= {p.pid for p in collect_engine_processes(proc.pid)}
        group.kill()
        assert proc.wait(30) == windows.KILLED_EXIT_CODE
        assert wait_for(lambda: not _alive(grandchild), 30)
    finally:
        proc.kill()
        platform.release_group(proc.pid)


def test_closing_the_job_kills_what_is_left_in_it() -> None:
    """Kill-on-close: what happens to the engines when tradeday's handle goes away."""
    proc, grandchild = _start_tree()
    platform.release_group(proc.pid)
    assert proc.wait(30) is not None
    assert wait_for(lambda: not _alive(grandchild), 30)
    assert platform.group_of(proc.pid).member_pids() == set()  # forgotten


def test_stop_engine_processes_kills_a_deaf_tree_after_its_grace() -> None:
    from session.proctree import stop_engine_processes

    proc, grandchild = _start_tree()
    exited = threading.Event()
    threading.Thread(target=lambda: (proc.wait(), exited.set()), daemon=True).start()
    try:
        result = stop_engine_processes(proc.pid, token=None, stop_timeout=0.5, leader_exited=exited)
        assert {proc.pid, grandchild} <= set(result.killed) and not result.survivors, result
        assert exited.wait(30) and not _alive(grandchild)
    finally:
        platform.release_group(proc.pid)


def test_lock_probe_sees_a_holder_without_taking_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "day.lock"
    assert platform.lock_is_held(path) is None
    holder = subprocess.Popen(
        [sys.executable, "-c", "import filelock, sys, time; lock = filelock.FileLock(sys.argv[1]); lock.acquire(); "
         "print('locked', flush=True); time.sleep(120)", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert platform.lock_is_held(path) is True
        assert platform.lock_is_held(path) is True  # the probe did not take it
    finally:
        holder.kill()
        holder.wait()
    assert wait_for(lambda: platform.lock_is_held(path) in (False, None), 30)


def test_replace_waits_out_a_reader_holding_the_target(tmp_path: Path) -> None:
    target, source = tmp_path / "state.json", tmp_path / "state.json.tmp"
    target.write_text("old")
    source.write_text("new")
    reader = open(target, encoding="utf-8")  # CRT opens without FILE_SHARE_DELETE
    try:
        try:
            os.replace(source, target)
        except PermissionError:
            pass
        else:
            pytest.skip("this system lets a file open elsewhere be replaced: nothing to retry")
        threading.Timer(0.3, reader.close).start()
        platform.replace_file(source, target)
    finally:
        reader.close()
    assert target.read_text() == "new" and not source.exists()


def test_console_close_stops_like_sigterm_and_holds_windows_off_until_the_stop() -> None:
    from session.supervisor.signals import install_stop_signals

    stop, kill_now = threading.Event(), threading.Event()
    handlers = install_stop_signals(stop, kill_now)
    try:
        assert windows._handler_ref, "SetConsoleCtrlHandler did not register (no console?)"
        routine = windows._handler_ref[-1]
        assert routine(0) == 0  # CTRL_C_EVENT: Python's own handler (SIGINT) takes it
        answer: list[int] = []
        caller = threading.Thread(target=lambda: answer.append(routine(2)))  # CTRL_CLOSE_EVENT
        caller.start()
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)  # the SIGTERM handler runs here, in the main thread
        assert stop.is_set() and handlers.received == [int(signal.SIGTERM)] and handlers.exit_code == 143
        assert caller.is_alive()  # Windows is held off while the engines stop
    finally:
        handlers()
    caller.join(30)
    assert answer == [1] and not kill_now.is_set()


def test_pipe_source_reads_as_it_comes_and_sees_the_end() -> None:
    """session/streaming.py's source on Windows (a reader thread: pipes cannot be polled)."""
    proc = subprocess.Popen([sys.executable, "-c", "import sys, time; print('one', flush=True); "
                             "time.sleep(float(sys.argv[1])); print('two', flush=True)", "0.5"],
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    from session.streaming import pipe_source

    source = pipe_source(os.dup(proc.stdout.fileno()))
    proc.stdout.close()
    got = b""
    nothing = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        data = source.read(2, 0.05)
        if data is None:
            nothing += 1
            continue
        if not data:
            break
        assert len(data) <= 2
        got += data
    source.close()
    proc.wait(30)
    assert got.replace(b"\r\n", b"\n") == b"one\ntwo\n" and nothing > 0


@real_windows
def test_ctrl_break_reaches_the_engine_group() -> None:
    """Real Windows only: CTRL_BREAK_EVENT to the engine's console process group (SIGBREAK)."""
    code = ("import signal, sys, time; signal.signal(signal.SIGBREAK, lambda *a: (print('SIGBREAK', flush=True), "
            "sys.exit(0))); print('ready', flush=True); time.sleep(60)")
    proc = platform.start_process([sys.executable, "-c", code], cwd=None, env=_env(), stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        platform.group_of(proc.pid).request_stop(int(signal.SIGTERM))
        assert proc.stdout.readline().strip() == b"SIGBREAK"
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        platform.release_group(proc.pid)


def test_secrets_files_permissions_are_said_to_be_unchecked(tmp_path: Path) -> None:
    """Mode bits do not say who can read a file on Windows: the secrets check says it did not
    look (secrets.I003) instead of passing it silently."""
    from session.checks import run_precheck
    from session.config import load_config

    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "kite.env").write_text("KITE_API_KEY=abc123\n")
    (secrets / "kite_tokens.env").write_text("ACCESS_TOKEN=def456\n")
    cfg = tmp_path / "tradeday.yaml"
    cfg.write_text(f"mode: paper\nmarket: {{calendar: XNSE}}\nengines: [{{name: e, command: ['{sys.executable}', "
                   "'-c', 'pass']}]\nbroker:\n  kind: kite\n", encoding="utf-8")
    report = run_precheck(load_config(cfg), "paper", only=["secrets"])
    found = {r.id: r for r in report.results}
    assert "secrets.I003" in found and "not checked on Windows" in found["secrets.I003"].message, found
    assert "secrets.W001" not in found and "abc123" not in found["secrets.I003"].message
