"""TradingOrchestrator: copilot_quant's documented start()/stop() from threads, over the day
runner of `tradeday run --forever` (real engine processes, the real state file)."""
from __future__ import annotations

import threading
from pathlib import Path

import psutil
import pytest

from core.errors import UsageError
from tests.conftest import write_config
from tests.session.test_run import config_text, sample_engine, wait_for
from tradeday import OrchestratorState, TradingOrchestrator


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_start_in_a_thread_stop_from_another_callbacks_cannot_hold_up_the_day(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, config_text(sample_engine()))
    orchestrator = TradingOrchestrator(cfg, start_now=True, quiet=True)
    assert orchestrator.state is OrchestratorState.STOPPED and orchestrator.status() is None

    seen: list[OrchestratorState] = []
    release = threading.Event()

    def raising(state: OrchestratorState) -> None:
        raise RuntimeError("a broken callback")

    def stuck(state: OrchestratorState) -> None:
        release.wait(60)  # holds the callback thread until the test lets go

    orchestrator.on_state_change(raising)
    orchestrator.register_state_change_callback(stuck)  # copilot_quant's name
    orchestrator.on_state_change(seen.append)

    worker = threading.Thread(target=orchestrator.start, name="test-orchestrator")
    worker.start()
    try:
        # The engines start and are supervised while every callback is still stuck on the first state.
        def trading_with_engine() -> bool:
            status = orchestrator.status()
            return bool(status and status["phase"] == "TRADING" and any(e.get("pid") for e in status["engines"]))

        assert wait_for(trading_with_engine, timeout=30)
        assert orchestrator.state is OrchestratorState.TRADING and orchestrator.is_running
        assert seen == []
        status = orchestrator.status()
        pid = next(e["pid"] for e in status["engines"] if e.get("pid"))
        engine_log = tmp_path / "artifacts" / "logs" / status["date"] / "demo.log"
        assert wait_for(lambda: "sample engine demo starting" in engine_log.read_text(), timeout=30)  # handles SIGTERM now
        release.set()
        assert wait_for(lambda: OrchestratorState.TRADING in seen, timeout=10)
    finally:
        release.set()
        orchestrator.stop()
        worker.join(timeout=60)
    assert not worker.is_alive()

    assert orchestrator.exit_code == 143  # as `tradeday run` after SIGTERM
    assert orchestrator.state is OrchestratorState.STOPPED and not orchestrator.is_running
    assert seen == [OrchestratorState.PRE_MARKET, OrchestratorState.TRADING, OrchestratorState.POST_MARKET,
                    OrchestratorState.STOPPED]
    assert _gone(pid)
    status = orchestrator.status()
    assert status is not None and status["phase"] == "DONE" and status["exit_code"] == 143
    assert [h["phase"] for h in status["history"]][-3:] == ["TRADING", "STOPPING", "DONE"]
    day_logs = tmp_path / "artifacts" / "logs" / status["date"]
    run_log = (day_logs / "tradeday.log").read_text()
    assert "stopping engines: stop requested" in run_log and "end of day skipped" in run_log
    assert "a state-change callback raised" in run_log or "a broken callback" in run_log
    assert "flat" in (day_logs / "demo.log").read_text()  # the engine got its stop signal and flattened


def test_stop_before_start_starts_nothing_and_the_live_guard_holds(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, config_text(sample_engine()))
    orchestrator = TradingOrchestrator(cfg)
    orchestrator.stop()
    assert orchestrator.start() == 143
    assert orchestrator.state is OrchestratorState.STOPPED
    assert not (tmp_path / "artifacts" / "state").exists()

    live = write_config(tmp_path, config_text(sample_engine()).replace("mode: paper", "mode: live"), name="live.yaml")
    with pytest.raises(UsageError, match="says mode: live"):
        TradingOrchestrator(live)
    with pytest.raises(UsageError, match="needs confirmation"):
        TradingOrchestrator(live, mode="live")
    with pytest.raises(UsageError, match="paper config never goes live"):
        TradingOrchestrator(cfg, mode="live", confirm_live=True)
