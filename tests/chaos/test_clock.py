"""A wall clock that jumps while ``tradeday run`` trades (an NTP step, a suspend, a manual change):
``--duration`` is measured on the monotonic clock, and the jump is logged as a WARNING with its
size. libfaketime steps tradeday's wall clock; engines get the real clock (LD_PRELOAD cleared)."""
from __future__ import annotations

import signal
from pathlib import Path

from tests.chaos.dayrun import (
    config_text,
    faketime_env,
    finish,
    log_of,
    market_today,
    needs_faketime,
    running,
    sample_engine,
    state_of,
    wait_for_line,
    wait_for_phase,
    write,
)

pytestmark = needs_faketime


def holiday_config(tmp_path: Path) -> Path:
    """No session today: only --duration ends the session, whatever the wall clock says."""
    holiday = f", extra_holidays: {{{market_today()}: Clock test day}}"
    return write(tmp_path, config_text(sample_engine(env='{LD_PRELOAD: ""}'), market_extra=holiday))


def test_wall_clock_stepping_back_does_not_stretch_the_duration(tmp_path: Path, cli_home: Path) -> None:
    clock = tmp_path / "faketime"
    clock.write_text("+0\n")
    cfg = holiday_config(tmp_path)
    with running(["run", "-c", str(cfg), "--start-now", "--duration", "3s"], cwd=cli_home, env=faketime_env(clock)) as proc:
        wait_for_phase(tmp_path, "TRADING", proc=proc, with_engines=True)
        clock.write_text("-3600\n")  # one hour back: the wall-clock stop would be an hour away
        out, err = finish(proc, timeout=60)
    assert proc.returncode == 0, err
    assert "wall clock jumped back by 3600" in err
    state = state_of(tmp_path)
    assert state["exit_code"] == 0 and "scheduled stop" in state["message"]


def test_wall_clock_stepping_forward_does_not_cut_the_session_short(tmp_path: Path, cli_home: Path) -> None:
    clock = tmp_path / "faketime"
    clock.write_text("+0\n")
    cfg = holiday_config(tmp_path)
    with running(["run", "-c", str(cfg), "--start-now", "--duration", "60s"], cwd=cli_home, env=faketime_env(clock)) as proc:
        wait_for_phase(tmp_path, "TRADING", proc=proc, with_engines=True)
        clock.write_text("+3600\n")
        wait_for_line(log_of(tmp_path), "wall clock jumped forward by 3600", proc=proc)
        # Seen after the jump: the session goes on (the duration is 60 s of real time).
        state = state_of(tmp_path)
        assert state["phase"] == "TRADING" and proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        out, err = finish(proc, timeout=30)
    assert proc.returncode == 143, err
