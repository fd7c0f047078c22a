"""The paper/live guard is an invariant: no `checks.silence` / `checks.disable` lets a paper run
trade a live IBKR account, or a live run a paper one.

Through the real path: the console script, a fake TWS on loopback reporting the accounts, a
loopback webhook for the CRITICAL notification, and an engine that leaves a marker file if
it ever starts.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from core.errors import ConfigError
from session.checks.results import PrecheckReport, error
from session.config import load_config
from tests.conftest import run_tradeday, write_config
from tests.fakes.http_recorder import HttpRecorder
from tests.fakes.tws_server import FakeTWS

PY = sys.executable
# The public contract (docs/BROKERS.md, README "Security"): ids that can never be silenced,
# and the harmless account-kind ids that can.
GUARD_IDS = ["ibkr.E004", "ibkr.E006", "ibkr.E009"]
SILENCEABLE_IDS = ["ibkr.E007", "ibkr.E008"]
LIVE_ACCOUNT, PAPER_ACCOUNT = "U7654321", "DU1234567"

MARKER_ENGINE = """
import sys, time
open(sys.argv[1], "w").write("an engine ran")
time.sleep(0.2)
"""


def guard_config(tmp_path: Path, port: int, hook_url: str, *, mode: str = "paper", silence: Sequence[str] = (),
                 disable: Sequence[str] = (), timeout: str = "20s") -> tuple[Path, Path]:
    """A config whose only engine writes ``marker`` when it starts; (config, marker)."""
    script = tmp_path / "marker_engine.py"
    script.write_text(MARKER_ENGINE)
    marker = tmp_path / "engine-ran"
    cfg = write_config(tmp_path, f"""
        mode: {mode}
        market: {{calendar: XNYS}}
        session: {{allowed_window: "00:00-23:59"}}
        engines: [{{name: marker, command: ["{PY}", "{script}", "{marker}"], start_secs: 0.1s}}]
        broker:
          kind: ibkr
          ibkr: {{host: 127.0.0.1, port: {port}, client_id: 7, probe_client_id: 99, timeout: {timeout}}}
        checks: {{min_free_disk: 1MiB, silence: {json.dumps(list(silence))}, disable: {json.dumps(list(disable))}}}
        eod: {{enabled: false}}
        notifications:
          enabled: true
          dedup_window: 0s
          channels:
            - {{type: webhook, url: "{hook_url}/hook"}}
        """)
    return cfg, marker


def run_args(cfg: Path, mode: str) -> list[str]:
    live = ["--mode", "live", "--confirm-live"] if mode == "live" else []
    return ["run", "-c", str(cfg), "--start-now", "--duration", "5s", *live]


# Every silence (each id, alone) with and without `disable: [ibkr]`, in both directions.
MATRIX = [(mode, silence, disable)
          for mode in ("paper", "live")
          for silence in [[], *([i] for i in GUARD_IDS + SILENCEABLE_IDS), SILENCEABLE_IDS]
          for disable in ([], ["ibkr"])]


@pytest.mark.parametrize("mode,silence,disable", MATRIX,
                         ids=[f"{m}-silence={','.join(s) or 'none'}-disable={','.join(d) or 'none'}"
                              for m, s, d in MATRIX])
def test_no_silence_or_disable_lets_a_run_trade_the_wrong_kind_of_account(
        tmp_path: Path, cli_home: Path, mode: str, silence: list[str], disable: list[str]) -> None:
    # paper config + live account (U...), or live config + paper account (DU...)
    account, violated = (LIVE_ACCOUNT, "ibkr.E004") if mode == "paper" else (PAPER_ACCOUNT, "ibkr.E006")
    with FakeTWS(accounts=[account]) as tws, HttpRecorder() as hook:
        cfg, marker = guard_config(tmp_path, tws.port, hook.url, mode=mode, silence=silence, disable=disable)
        r = run_tradeday(run_args(cfg, mode), cwd=cli_home)
        assert not marker.exists(), f"an engine started against a {account} account: {r.stderr}"
        assert "Traceback" not in r.stderr
        if set(silence) & set(GUARD_IDS):
            # Naming a guard id is a config error that says why.
            assert r.returncode == 3, r.stderr
            assert "checks.silence[0]" in r.stderr and "paper/live guard" in r.stderr
            assert "cannot be silenced" in r.stderr
            return
        assert r.returncode == 1, r.stderr
        assert violated in r.stderr and account in r.stderr
        body = next(b for b in (q.json() for q in hook.wait_for(1, timeout=10)) if b["event"] == "precheck_failed")
        assert body["level"] == "critical"
        assert violated in body["message"] and account in body["message"]
        if "ibkr" in disable:
            # the check was disabled, the guard still probed the accounts
            assert len(tws.connections) == 1 and tws.connections[0].client_id == 99


@pytest.mark.parametrize("entry", ["ibkr.E004", "guard", "ibkr.E006"])
def test_disabling_the_guard_is_a_config_error(tmp_path: Path, cli_home: Path, entry: str) -> None:
    with FakeTWS(accounts=[LIVE_ACCOUNT]) as tws, HttpRecorder() as hook:
        cfg, marker = guard_config(tmp_path, tws.port, hook.url, disable=[entry])
        r = run_tradeday(run_args(cfg, "paper"), cwd=cli_home)
    assert r.returncode == 3, r.stderr
    assert "checks.disable[0]" in r.stderr and "paper/live guard" in r.stderr and "cannot be disabled" in r.stderr
    assert f"{cfg}:" in r.stderr  # names the file (and line)
    assert not marker.exists() and "Traceback" not in r.stderr


def fixed_port_tws(port: int, accounts: list[str]) -> FakeTWS:
    try:
        return FakeTWS(accounts=accounts, port=port).start()
    except OSError:
        pytest.skip(f"port {port} is taken on this machine")


def test_the_right_kind_of_account_runs_and_harmless_ids_can_be_silenced(tmp_path: Path, cli_home: Path) -> None:
    # Positive controls: the marker engine does run when the guard has nothing to refuse.
    with FakeTWS(accounts=[PAPER_ACCOUNT]) as tws, HttpRecorder() as hook:
        cfg, marker = guard_config(tmp_path, tws.port, hook.url, disable=["ibkr"])
        r = run_tradeday(run_args(cfg, "paper"), cwd=cli_home)
        assert r.returncode == 0, r.stderr
        assert marker.exists()
    marker.unlink()
    # A paper account behind the TWS *live* default port: the accounts prove paper, so the
    # port mismatch (ibkr.E008) is harmless and may be silenced.
    tws = fixed_port_tws(7496, [PAPER_ACCOUNT])
    try:
        with HttpRecorder() as hook:
            cfg, marker = guard_config(tmp_path, 7496, hook.url)
            r = run_tradeday(run_args(cfg, "paper"), cwd=cli_home)
            assert r.returncode == 1 and "ibkr.E008" in r.stderr and not marker.exists()
            cfg, marker = guard_config(tmp_path, 7496, hook.url, silence=["ibkr.E008"])
            r = run_tradeday(run_args(cfg, "paper"), cwd=cli_home)
            assert r.returncode == 0, r.stderr
            assert marker.exists()
            marker.unlink()
            # ...but the same silence with a live account behind that port changes nothing.
            tws.accounts = [LIVE_ACCOUNT]
            r = run_tradeday(run_args(cfg, "paper"), cwd=cli_home)
            assert r.returncode == 1 and "ibkr.E004" in r.stderr and not marker.exists()
    finally:
        tws.stop()


@pytest.mark.parametrize(("mode", "finding"), [("live", "guard.E001"), ("paper", "guard.W001")])
def test_guard_with_the_check_disabled_and_a_stalled_gateway(tmp_path: Path, cli_home: Path, mode: str,
                                                             finding: str) -> None:
    # ibkr disabled, TWS (logged in to a live account) not answering: the guard probed (with
    # broker.ibkr.timeout) and could not read the accounts. Unverified is refused in both modes:
    # a "paper" engine would otherwise trade that live account. Silenceable (guard.E001/W001).
    with FakeTWS(accounts=[LIVE_ACCOUNT], mode="stall") as tws, HttpRecorder() as hook:
        cfg, marker = guard_config(tmp_path, tws.port, hook.url, mode=mode, disable=["ibkr"], timeout="1s")
        r = run_tradeday(run_args(cfg, mode), cwd=cli_home)
        assert r.returncode == 1, r.stderr
        assert finding in r.stderr and "no API handshake" in r.stderr
        assert f"silence {finding} to accept" in " ".join(r.stderr.split())  # the way out is named
        assert not marker.exists() and len(tws.connections) == 1
        if mode == "paper":  # silenced, the user accepts an unverified paper day
            cfg, marker = guard_config(tmp_path, tws.port, hook.url, mode=mode, disable=["ibkr"], timeout="1s",
                                       silence=[finding])
            r = run_tradeday(run_args(cfg, mode), cwd=cli_home)
            assert r.returncode == 0, r.stderr
            assert marker.exists()


# --- in process: the config rule and the guard function -------------------------------------------

def test_config_rule_names_the_line_and_says_why(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, """
        broker: {kind: ibkr}
        checks:
          silence: [calendar.W001, ibkr.E006]
        """)
    with pytest.raises(ConfigError) as caught:
        load_config(cfg, record=False)
    text = str(caught.value)
    assert f"{cfg}:3" in text and "checks.silence[1]" in text
    assert "live config talking to a paper" in text and "cannot be silenced" in text
    assert caught.value.exit_code == 3
    ok = write_config(tmp_path, "checks: {silence: [ibkr.E007, ibkr.E008], disable: [ibkr]}\n", name="ok.yaml")
    assert load_config(ok, record=False).checks.disable == ["ibkr"]


def test_guard_ids_in_a_report_cannot_be_marked_silenced(tmp_path: Path) -> None:
    from session.guard import enforce_paper_live_guard

    cfg = load_config(write_config(tmp_path, "broker: {kind: none}\n"), record=False)
    violation = error("ibkr.E004", "mode is paper but U1 is a live account")
    violation.silenced = True  # however it got there
    report = enforce_paper_live_guard(cfg, "paper", PrecheckReport("paper", {}, [violation]))
    assert not report.ok and report.failures()[0].id == "ibkr.E004"
