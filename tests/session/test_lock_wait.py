"""The day lock (real processes, SIGKILL) and wall-clock waiting."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from core.errors import LockHeldError
from core.exitcodes import ExitCode
from session.lock import acquire_day_lock, lock_holder, lock_path
from session.waiting import sleep_until
from tests.conftest import ENGINES

DAY = date(2026, 11, 20)


def _hold_in_subprocess(artifacts: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(ENGINES / "hold_lock.py"), str(artifacts), DAY.isoformat()], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_run_gets_lock_held_error_naming_the_holder(tmp_path: Path) -> None:
    holder = _hold_in_subprocess(tmp_path)
    try:
        assert lock_holder(tmp_path, DAY) == holder.pid
        with pytest.raises(LockHeldError) as caught:
            acquire_day_lock(tmp_path, DAY)
        assert caught.value.exit_code == ExitCode.LOCKED == 6
        assert f"another tradeday run holds the lock for 2026-11-20 (pid {holder.pid})" in str(caught.value)
        # Probing did not take the lock from the holder.
        assert lock_holder(tmp_path, DAY) == holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_does_not_outlive_a_sigkilled_holder(tmp_path: Path) -> None:
    holder = _hold_in_subprocess(tmp_path)
    holder.kill()  # SIGKILL: no cleanup runs, the stale pid file stays
    holder.wait()
    assert lock_path(tmp_path, DAY).exists()
    assert lock_holder(tmp_path, DAY) is None
    with acquire_day_lock(tmp_path, DAY) as lock:
        assert lock.held and lock_holder(tmp_path, DAY) == lock.pid
    assert lock_holder(tmp_path, DAY) is None
    assert not lock_path(tmp_path, DAY).with_name("2026-11-20.lock.pid").exists()


def test_same_process_second_acquire_fails_and_other_days_are_independent(tmp_path: Path) -> None:
    with acquire_day_lock(tmp_path, DAY):
        with pytest.raises(LockHeldError):
            acquire_day_lock(tmp_path, DAY)
        with acquire_day_lock(tmp_path, DAY + timedelta(days=1)):
            pass
    assert lock_holder(tmp_path, date(2026, 1, 1)) is None  # never created


def test_a_child_of_the_holder_does_not_keep_the_lock(tmp_path: Path) -> None:
    """Engines are children of the run: if they inherited the lock's descriptor, a
    SIGKILLed run would stay locked for as long as its engines live."""
    holder = subprocess.Popen(
        [sys.executable, str(ENGINES / "hold_lock.py"), str(tmp_path), DAY.isoformat(), "--child"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    child_pid = int(holder.stdout.readline().split()[1])
    assert holder.stdout.readline().strip() == "locked"
    try:
        holder.kill()
        holder.wait()
        assert psutil.pid_exists(child_pid)
        # The kernel drops the dead holder's flock as it tears the process down; allow it a
        # moment on a loaded machine. A child that inherited the lock would hold it for 30 s.
        deadline = time.monotonic() + 5.0
        while lock_holder(tmp_path, DAY) is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lock_holder(tmp_path, DAY) is None
        assert psutil.pid_exists(child_pid)
    finally:
        os.kill(child_pid, signal.SIGKILL)


def test_sleep_until_reaches_the_deadline() -> None:
    began = time.monotonic()
    assert sleep_until(datetime.now(UTC) + timedelta(seconds=0.3), threading.Event(), step=0.05)
    assert 0.25 <= time.monotonic() - began < 1.0


def test_sleep_until_is_interrupted_by_the_stop_event() -> None:
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    began = time.monotonic()
    assert sleep_until(datetime.now(UTC) + timedelta(hours=1), stop, step=5.0) is False
    assert time.monotonic() - began < 1.0


def test_sleep_until_follows_a_wall_clock_step() -> None:
    """An NTP step (or a resume from suspend) moves the wall clock: the next step notices."""
    real_start = datetime.now(UTC)
    jump = timedelta(hours=2)

    def clock() -> datetime:  # the wall clock jumps 2 h forward after 0.2 s
        elapsed = datetime.now(UTC) - real_start
        return real_start + elapsed + (jump if elapsed > timedelta(seconds=0.2) else timedelta(0))

    began = time.monotonic()
    assert sleep_until(real_start + timedelta(hours=1), threading.Event(), step=0.1, now=clock)
    assert time.monotonic() - began < 1.0


def test_sleep_until_validates() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sleep_until(datetime.now() + timedelta(seconds=1), threading.Event())
    with pytest.raises(ValueError, match="step"):
        sleep_until(datetime.now(UTC), threading.Event(), step=0)
    stop = threading.Event()
    stop.set()
    assert sleep_until(datetime.now(UTC) - timedelta(seconds=1), stop) is False
