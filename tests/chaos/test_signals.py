"""SIGTERM, SIGINT and SIGHUP in every phase of ``tradeday run`` (prechecks, waiting, engines
starting, trading, stopping, each end-of-day hook and report step, the final flush), and in
``tradeday eod`` and ``tradeday report --with-analytics``: what runs is stopped (a hook's whole
process group included), the state says where it stopped, the exit code is 128 + the signal."""
from __future__ import annotations

import signal
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.chaos.dayrun import (
    HOOK_WITH_CHILD,
    PY,
    config_text,
    finish,
    gone,
    kill_leftovers,
    log_of,
    market_today,
    pids_in,
    running,
    sample_engine,
    script_engine,
    state_of,
    text_of,
    wait_for,
    wait_for_line,
    wait_for_phase,
    write,
)
from tests.conftest import ENGINES
from tests.fakes.http_recorder import HttpRecorder, Reply
from tests.fakes.tws_server import FakeTWS

EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130, signal.SIGHUP: 129}


def hook_config(tmp_path: Path, pids: Path, *, which: str = "analytics", engines: str | None = None) -> Path:
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK_WITH_CHILD)
    eod = (f'eod: {{{which}: {{command: ["{PY}", "{hook}", "{pids}"], timeout: 120s}}}}')
    return write(tmp_path, config_text(engines or sample_engine(), eod=eod))


# --- prechecks -----------------------------------------------------------------------------------

def test_sigterm_during_a_slow_precheck_exits_143_without_starting_engines(tmp_path: Path, cli_home: Path) -> None:
    with FakeTWS(accounts=["DU123456"]) as tws:
        tws.mode = "stall"  # accepts and never answers: the ibkr check waits for its timeout
        extra = f"broker: {{kind: ibkr, ibkr: {{port: {tws.port}, timeout: 60s}}}}\n"
        cfg = write(tmp_path, config_text(sample_engine(), extra=extra).replace(
            "checks: {min_free_disk: 1MiB}", "checks: {min_free_disk: 1MiB, timeout: 90s}"))
        with running(["run", "-c", str(cfg), "--start-now", "--duration", "30s"], cwd=cli_home) as proc:
            wait_for_phase(tmp_path, "PRE_MARKET", proc=proc)
            assert wait_for(lambda: tws.connections, timeout=20), "the ibkr check never connected"
            proc.send_signal(signal.SIGTERM)
            out, err = finish(proc, timeout=20)
    assert proc.returncode == 143, err
    state = state_of(tmp_path)
    assert state["phase"] == "DONE" and state["exit_code"] == 143 and state["engines"] == []
    assert "PRE_MARKET" in state["message"] or "precheck" in state["message"]
    assert not (tmp_path / "artifacts" / "logs" / str(market_today()) / "demo.log").exists()
    assert "Traceback" not in err


# --- waiting -------------------------------------------------------------------------------------

def test_sighup_while_waiting_for_the_open_exits_129(tmp_path: Path, cli_home: Path) -> None:
    from tests.session.test_run import zone_with_hours_left

    tz = zone_with_hours_left(1, 20)
    now = datetime.now(tz)
    today = now.date()
    opens, closes = (now + timedelta(hours=2)).strftime("%H:%M"), (now + timedelta(hours=3)).strftime("%H:%M")
    special = f', timezone: {tz.key}, special_sessions: {{{today}: {{open: "{opens}", close: "{closes}", name: T}}}}'
    cfg = write(tmp_path, config_text(sample_engine(), market_extra=special))
    with running(["run", "-c", str(cfg)], cwd=cli_home) as proc:
        wait_for_phase(tmp_path, "WAITING", proc=proc, day=today)
        proc.send_signal(signal.SIGHUP)
        out, err = finish(proc, timeout=15)
    assert proc.returncode == 129, err
    state = state_of(tmp_path, today)
    assert state["exit_code"] == 129 and state["engines"] == [] and "WAITING" in [h["phase"] for h in state["history"]]


# --- engines starting, trading -------------------------------------------------------------------

def test_sigterm_while_the_engine_is_starting(tmp_path: Path, cli_home: Path) -> None:
    cfg = write(tmp_path, config_text(sample_engine(start_secs="60s")))
    with running(["run", "-c", str(cfg), "--start-now", "--duration", "60s"], cwd=cli_home) as proc:
        state = wait_for_phase(tmp_path, "TRADING", proc=proc, with_engines=True)
        assert state["engines"][0]["state"] == "STARTING"
        pid = state["engines"][0]["pid"]
        proc.send_signal(signal.SIGTERM)
        out, err = finish(proc, timeout=20)
    assert proc.returncode == 143, err
    assert gone(pid)
    state = state_of(tmp_path)
    assert state["phase"] == "DONE" and state["exit_code"] == 143
    assert state["engines"][0]["state"] == "STOPPED"


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGINT])
def test_signal_while_trading_exits_128_plus_the_signal(tmp_path: Path, cli_home: Path, sig: int) -> None:
    cfg = write(tmp_path, config_text(sample_engine()))
    with running(["run", "-c", str(cfg), "--start-now", "--duration", "60s"], cwd=cli_home) as proc:
        wait_for_phase(tmp_path, "TRADING", proc=proc, with_engines=True)
        wait_for_line(log_of(tmp_path, "demo"), " tick 1 ", proc=proc)  # its stop handler is in place
        proc.send_signal(sig)
        out, err = finish(proc, timeout=20)
    assert proc.returncode == EXIT[sig], err
    state = state_of(tmp_path)
    assert state["exit_code"] == EXIT[sig] and state["engines"][0]["state"] == "STOPPED"
    assert "flat" in text_of(log_of(tmp_path, "demo"))  # the engine had its graceful stop


# --- stopping ------------------------------------------------------------------------------------

SLOW_STOPPER = '''
import os, signal, sys, time
def stop(*_):
    print("stopping slowly", flush=True)
    time.sleep(3)
    print("stopped", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
while True:
    time.sleep(0.1)
'''


def test_sigterm_while_stopping_lets_the_engine_finish_its_stop_and_skips_the_eod(tmp_path: Path,
                                                                                  cli_home: Path) -> None:
    script = tmp_path / "slow_stopper.py"
    script.write_text(SLOW_STOPPER)
    cfg = write(tmp_path, config_text(script_engine("slow", script, stop_timeout="30s"), eod="eod: {enabled: true}"))
    with running(["run", "-c", str(cfg), "--start-now", "--duration", "1s"], cwd=cli_home) as proc:
        wait_for_phase(tmp_path, "STOPPING", proc=proc, timeout=30)
        wait_for_line(log_of(tmp_path, "slow"), "stopping slowly", proc=proc)
        proc.send_signal(signal.SIGTERM)
        out, err = finish(proc, timeout=30)
    assert proc.returncode == 143, err
    assert "stopped" in text_of(log_of(tmp_path, "slow")).split("stopping slowly", 1)[1]
    state = state_of(tmp_path)
    assert state["exit_code"] == 143 and "EOD" not in [h["phase"] for h in state["history"]]
    assert not (tmp_path / "artifacts" / "reports" / "daily" / f"{market_today()}.json").exists()


def test_second_sigint_while_stopping_kills_at_once(tmp_path: Path, cli_home: Path) -> None:
    cfg = write(tmp_path, config_text(script_engine("stubborn", ENGINES / "unkillable.py", stop_timeout="300s")))
    with running(["run", "-c", str(cfg), "--start-now", "--duration", "60s"], cwd=cli_home) as proc:
        state = wait_for_phase(tmp_path, "TRADING", proc=proc, with_engines=True)
        pid = state["engines"][0]["pid"]
        wait_for_line(log_of(tmp_path, "stubborn"), "unkillable pid=", proc=proc)
        proc.send_signal(signal.SIGINT)
        wait_for_phase(tmp_path, "STOPPING", proc=proc)
        proc.send_signal(signal.SIGINT)
        out, err = finish(proc, timeout=20)  # not the 300 s stop_timeout
    assert proc.returncode == 130, err
    assert gone(pid)


# --- the end of day: hooks -----------------------------------------------------------------------

@pytest.mark.parametrize(("which", "sig"), [("analytics", signal.SIGTERM), ("backtest", signal.SIGHUP),
                                            ("analytics", signal.SIGINT)])
def test_signal_during_an_eod_hook_stops_its_whole_group(tmp_path: Path, cli_home: Path, which: str,
                                                         sig: int) -> None:
    pids = tmp_path / "hook.pids"
    cfg = hook_config(tmp_path, pids, which=which)
    with running(["run", "-c", str(cfg), "--start-now", "--duration", "1s"], cwd=cli_home) as proc:
        try:
            wait_for_phase(tmp_path, "EOD", proc=proc, timeout=30)
            assert wait_for(pids.exists, timeout=20), "the hook never started"
            hook_pids = pids_in(pids)
            proc.send_signal(sig)
            out, err = finish(proc, timeout=30)  # the hook's grace (5 s) and SIGKILL, not its 120 s timeout
        finally:
            kill_leftovers(pids_in(pids))
    assert proc.returncode == EXIT[sig], err
    assert wait_for(lambda: all(gone(p) for p in hook_pids), timeout=5), "the hook's group outlived tradeday"
    state = state_of(tmp_path)
    assert state["phase"] == "DONE" and state["exit_code"] == EXIT[sig]
    assert [h["phase"] for h in state["history"]][-2:] == ["EOD", "DONE"]
    assert which in state["message"] and "tradeday eod" in state["message"]
    assert "Traceback" not in err


# --- the end of day: a report step ---------------------------------------------------------------

SLOW_TEMPLATE = "{% for i in range(2000000000) %}{% endfor %}never\n"


def test_sigterm_during_the_report_step(tmp_path: Path, cli_home: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "daily_report.md.j2").write_text(SLOW_TEMPLATE)
    cfg = write(tmp_path, config_text(sample_engine(), eod="eod: {enabled: true}",
                                      extra=f"reports: {{templates_dir: {templates}, chart: false}}\n"))
    with running(["run", "-c", str(cfg), "--start-now", "--duration", "1s"], cwd=cli_home) as proc:
        wait_for_line(log_of(tmp_path), "reconcile: skipped", proc=proc, timeout=40)  # the report step is next
        proc.send_signal(signal.SIGTERM)
        out, err = finish(proc, timeout=20)
    assert proc.returncode == 143, err
    state = state_of(tmp_path)
    assert state["exit_code"] == 143 and "report" in state["message"]
    assert not (tmp_path / "artifacts" / "reports" / "daily" / f"{market_today()}.md").exists()


# --- done: the final notification flush ----------------------------------------------------------

def test_sigterm_during_the_final_flush_exits_143_and_keeps_the_messages(tmp_path: Path, cli_home: Path) -> None:
    with HttpRecorder(default=Reply.hanging(120)) as hook:
        extra = f"""\
            notifications:
              enabled: true
              flush_timeout: 120s
              timeout: 100s
              channels:
                - {{type: webhook, url: "{hook.url}/hook"}}
            """
        cfg = write(tmp_path, config_text(sample_engine(), extra=extra))
        with running(["run", "-c", str(cfg), "--start-now", "--duration", "1s"], cwd=cli_home) as proc:
            wait_for_phase(tmp_path, "DONE", proc=proc, timeout=30)
            proc.send_signal(signal.SIGTERM)
            out, err = finish(proc, timeout=20)  # not the 120 s flush_timeout
    assert proc.returncode == 143, err
    outbox = tmp_path / "artifacts" / "notifications" / "outbox.jsonl"
    assert "session_closed" in text_of(outbox)  # undelivered, kept for the next run
    assert state_of(tmp_path)["exit_code"] == 143


# --- tradeday eod, tradeday report --with-analytics ----------------------------------------------

@pytest.mark.parametrize(("command", "sig"), [(["eod"], signal.SIGTERM), (["eod"], signal.SIGINT),
                                              (["report", "--with-analytics"], signal.SIGTERM)])
def test_signal_during_a_hook_of_eod_by_hand(tmp_path: Path, cli_home: Path, command: list[str], sig: int) -> None:
    pids = tmp_path / "hook.pids"
    cfg = hook_config(tmp_path, pids)
    day = market_today()
    journal = tmp_path / "artifacts" / "journal" / f"{day}.csv"
    journal.parent.mkdir(parents=True)
    journal.write_text("time,strategy,symbol,side,quantity,price,fees,order_id,trade_id\n"
                       f"{day}T10:00:00-05:00,s,AAPL,BUY,1,100,0,o1,t1\n")
    args = [*command, "-c", str(cfg)] + (["--date", str(day)] if command == ["eod"] else [str(day)])
    with running(args, cwd=cli_home) as proc:
        try:
            assert wait_for(lambda: pids.exists() or proc.poll() is not None, timeout=30), "the hook never started"
            assert proc.poll() is None, proc.communicate()
            hook_pids = pids_in(pids)
            proc.send_signal(sig)
            out, err = finish(proc, timeout=30)
        finally:
            kill_leftovers(pids_in(pids))
    assert proc.returncode == EXIT[sig], err
    assert wait_for(lambda: all(gone(p) for p in hook_pids), timeout=5), "the hook's group outlived tradeday"
    assert "analytics" in err and "Traceback" not in err
