"""`tradeday precheck` through the real path: the console script, a fake Kite HTTP server,
a fake TWS on a real TCP socket, real files with real permissions."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from session.checks import run_precheck
from session.config import load_config
from tests.conftest import assert_no_secrets, read_tree, run_tradeday, write_config
from tests.fakes.kite_server import FakeKiteServer
from tests.fakes.ports import free_port
from tests.fakes.tws_server import FakeTWS

API_KEY = "kiteapikey7x9q"
TOKEN = "kiteaccesstoken0Zr4Wq8"
SECRETS = [API_KEY, TOKEN]
NY = ZoneInfo("America/New_York")
IST = ZoneInfo("Asia/Kolkata")


def kite_setup(tmp_path: Path, root: str, *, mode: str = "paper", mode_perm: int = 0o600,
               extra: str = "", timeout: str = "20s") -> Path:
    # 20 s by default: the probe's budget includes the cold import of kiteconnect, which a
    # loaded CI machine can stretch past 1 s. Tests of timeouts pass a short one.
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "kite.env").write_text(f"KITE_API_KEY={API_KEY}\n")
    (secrets / "kite_tokens.env").write_text(f'export ACCESS_TOKEN="{TOKEN}"\n')
    for f in secrets.iterdir():
        f.chmod(mode_perm)
    return write_config(tmp_path, f"""
        mode: {mode}
        market: {{calendar: XNSE}}
        session: {{allowed_window: "00:00-23:59"}}
        engines: [{{name: e, command: ["{sys.executable}", "-c", "pass"]}}]
        broker:
          kind: kite
          kite: {{api_root: "{root}", timeout: {timeout}}}
        checks: {{min_free_disk: 1MiB}}
        {extra}
        """)


def precheck_json(config: Path, *args: str, env: dict[str, str] | None = None,
                  cwd: Path | None = None) -> tuple[int, dict, subprocess.CompletedProcess[str]]:
    proc = run_tradeday(["precheck", "-c", str(config), "--json", *args], env=env, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"not JSON: {proc.stdout!r} {proc.stderr!r}") from None
    return proc.returncode, data, proc


def ids(data: dict) -> dict[str, str]:
    return {c["id"]: c["level"] for c in data["checks"]}


def test_kite_ok_json_shape_and_no_secrets(tmp_path: Path, cli_home: Path) -> None:
    with FakeKiteServer(api_key=API_KEY, access_token=TOKEN) as kite:
        cfg = kite_setup(tmp_path, kite.root)
        code, data, proc = precheck_json(cfg, "--only", "secrets,kite,clock", cwd=cli_home)
        assert kite.paths() == ["/user/profile"]
    assert code == 0, proc.stdout
    assert data["ok"] is True and data["mode"] == "paper"
    assert set(data["session"]) == {"date", "calendar", "timezone", "known", "is_trading_day", "open", "close",
                                    "early_close", "holiday", "special_session"}
    for c in data["checks"]:
        assert {"id", "check", "level", "message", "hint", "duration_ms"} <= set(c)
    levels = ids(data)
    assert levels["secrets.I001"] == "INFO" and levels["kite.I001"] == "INFO" and "clock.I002" in levels
    assert_no_secrets([proc.stdout, proc.stderr, *read_tree(tmp_path / "artifacts")], SECRETS)


def test_kite_token_rejected_is_error(tmp_path: Path, cli_home: Path) -> None:
    with FakeKiteServer(api_key=API_KEY, access_token="some-other-token") as kite:
        cfg = kite_setup(tmp_path, kite.root)
        code, data, proc = precheck_json(cfg, "--only", "secrets,kite", cwd=cli_home)
    assert code == 1
    assert ids(data)["kite.E002"] == "ERROR"
    assert_no_secrets([proc.stdout, proc.stderr], SECRETS)


@pytest.mark.parametrize("server_mode", ["bad_gateway", "hang"])
def test_kite_network_failure_never_passes(tmp_path: Path, cli_home: Path, server_mode: str) -> None:
    with FakeKiteServer(api_key=API_KEY, access_token=TOKEN, mode=server_mode) as kite:
        cfg = kite_setup(tmp_path, kite.root, timeout="1s")
        if server_mode == "bad_gateway":  # once through the console script
            code, data, _ = precheck_json(cfg, "--only", "secrets,kite", cwd=cli_home)
            assert code == 0 and ids(data)["kite.W003"] == "WARNING"
        # paper: a warning, not a pass; --strict makes it fail
        t0 = time.monotonic()
        report = run_precheck(load_config(cfg), "paper", only=["secrets", "kite"])
        elapsed = time.monotonic() - t0
        assert report.ok and {r.id: r.level.name for r in report.results}["kite.W003"] == "WARNING"
        assert not run_precheck(load_config(cfg), "paper", only=["secrets", "kite"], strict=True).ok
        (tmp_path / "live").mkdir()
        live = run_precheck(load_config(kite_setup(tmp_path / "live", kite.root, mode="live", timeout="1s")), "live",
                            only=["secrets", "kite"])
    assert not live.ok and {r.id: r.level.name for r in live.results}["kite.E003"] == "ERROR"
    assert elapsed < 1.0 + 10.0  # bounded by the 1 s timeout, never a hang (the server hangs forever)


def test_stale_token_is_error_without_network(tmp_path: Path, cli_home: Path) -> None:
    with FakeKiteServer(api_key=API_KEY, access_token=TOKEN) as kite:
        cfg = kite_setup(tmp_path, kite.root)
        tokens = tmp_path / "secrets" / "kite_tokens.env"
        # written two days ago: before the most recent 06:00 IST
        old = time.time() - 2 * 86400
        os.utime(tokens, (old, old))
        code, data, _ = precheck_json(cfg, "--only", "secrets,kite", cwd=cli_home)
        assert kite.paths() == []  # no network call for a token known to be expired
    assert code == 1 and ids(data)["kite.E001"] == "ERROR"


def test_secrets_missing_permissions_and_env_override(tmp_path: Path, cli_home: Path) -> None:
    with FakeKiteServer(api_key=API_KEY, access_token=TOKEN) as kite:
        cfg = kite_setup(tmp_path, kite.root, mode_perm=0o644)
        report = run_precheck(load_config(cfg), "paper", only=["secrets", "kite"])
        assert report.ok and {r.id: r.level.name for r in report.results}["secrets.W001"] == "WARNING"
        (tmp_path / "secrets" / "kite.env").unlink()
        (tmp_path / "secrets" / "kite_tokens.env").unlink()
        report = run_precheck(load_config(cfg), "paper", only=["secrets", "kite"], environ={})
        assert not report.ok and {"secrets.E001", "secrets.E002", "kite.E005"} <= {r.id for r in report.results}
        # environment variables of the same names stand in for the files (containers)
        code, data, proc = precheck_json(cfg, "--only", "secrets,kite", cwd=cli_home,
                                         env={"KITE_API_KEY": API_KEY, "KITE_ACCESS_TOKEN": TOKEN})
        assert code == 0, proc.stdout
        assert "env:KITE_API_KEY" in next(c["message"] for c in data["checks"] if c["id"] == "secrets.I001")
        # a generic variable name works too, with a warning
        generic = run_precheck(load_config(cfg), "paper", only=["secrets"],
                               environ={"API_KEY": API_KEY, "KITE_ACCESS_TOKEN": TOKEN})
        assert generic.ok and {r.id: r.level.name for r in generic.results}["secrets.W002"] == "WARNING"
        assert_no_secrets([proc.stdout, proc.stderr, *(r.message for r in generic.results)], SECRETS)


def ibkr_config(tmp_path: Path, port: int, *, mode: str = "paper", extra: str = "", timeout: str = "20s") -> Path:
    return write_config(tmp_path, f"""
        mode: {mode}
        market: {{calendar: XNYS}}
        session: {{allowed_window: "00:00-23:59"}}
        engines: [{{name: e, command: ["{sys.executable}", "-c", "pass"]}}]
        broker:
          kind: ibkr
          ibkr: {{host: 127.0.0.1, port: {port}, client_id: 7, probe_client_id: 99, timeout: {timeout}}}
        {extra}
        """)


def test_ibkr_paper_account_ok_and_live_account_refused(tmp_path: Path, cli_home: Path) -> None:
    with FakeTWS(accounts=["DU1234567"]) as tws:
        code, data, _ = precheck_json(ibkr_config(tmp_path, tws.port), "--only", "ibkr,clock", cwd=cli_home)
        assert code == 0 and ids(data)["ibkr.I001"] == "INFO"
        assert "DU1234567" in next(c["message"] for c in data["checks"] if c["id"] == "ibkr.I001")
        assert "clock.I002" in ids(data)  # skew measured against TWS's current time
        assert all(conn.client_id == 99 for conn in tws.connections)  # never the engine's id 7
    with FakeTWS(accounts=["U7654321"]) as tws:
        code, data, _ = precheck_json(ibkr_config(tmp_path, tws.port), "--only", "ibkr", cwd=cli_home)
    assert code == 1 and ids(data)["ibkr.E004"] == "ERROR"  # a paper config talking to a live account


@pytest.mark.parametrize("case,expected", [("refused", "ibkr.E001"), ("stall", "ibkr.E002"),
                                           ("client_id_in_use", "ibkr.E003")])
def test_ibkr_failures(tmp_path: Path, cli_home: Path, case: str, expected: str) -> None:
    if case == "refused":
        code, data, _ = precheck_json(ibkr_config(tmp_path, free_port()), "--only", "ibkr", cwd=cli_home)
    else:
        with FakeTWS(accounts=["DU1"], mode=case) as tws:
            code, data, _ = precheck_json(ibkr_config(tmp_path, tws.port, timeout="1s"), "--only", "ibkr",
                                          cwd=cli_home)
    assert code == 1 and expected in ids(data)


def test_both_brokers_unreachable_finish_within_one_timeout(tmp_path: Path) -> None:
    with FakeKiteServer(api_key=API_KEY, access_token=TOKEN, mode="hang") as kite, \
            FakeTWS(accounts=["DU1"], mode="stall") as tws:
        kite_setup(tmp_path, kite.root)  # the secrets files
        cfg_path = write_config(tmp_path, f"""
            broker:
              kind: [kite, ibkr]
              kite: {{api_root: "{kite.root}", timeout: 2s}}
              ibkr: {{port: {tws.port}, timeout: 2s}}
            """, name="both.yaml")
        config = load_config(cfg_path)
        t0 = time.monotonic()
        report = run_precheck(config, "paper", only=["secrets", "kite", "ibkr", "clock"])
        elapsed = time.monotonic() - t0
    levels = {r.id: r.level.name for r in report.results}
    assert levels["kite.W003"] == "WARNING" and levels["ibkr.E002"] == "ERROR"
    assert elapsed < 2.0 + 1.0, f"took {elapsed:.2f}s: checks did not run concurrently"


def test_filesystem_low_disk_silence_disable_and_selection(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, f"""
        engines: [{{name: e, command: ["{sys.executable}", "-c", "pass"]}}]
        checks: {{min_free_disk: 100000TiB}}
        """)
    code, data, _ = precheck_json(cfg, "--only", "filesystem", cwd=cli_home)
    assert code == 1 and ids(data)["filesystem.E002"] == "ERROR"
    assert (tmp_path / "artifacts" / "journal").is_dir()  # folders are created
    cfg.write_text(cfg.read_text().replace("min_free_disk: 100000TiB", "min_free_disk: 100000TiB, silence: [filesystem.E002]"))
    silenced = run_precheck(load_config(cfg), "paper", only=["filesystem"])
    assert silenced.ok and any(r.silenced for r in silenced.results)
    skipped = run_precheck(load_config(cfg), "paper", skip=["filesystem", "calendar", "clock"])
    assert "filesystem" not in {r.check for r in skipped.results}
    cfg.write_text(cfg.read_text().replace("silence: [filesystem.E002]", "disable: [filesystem, engines]"))
    disabled = run_precheck(load_config(cfg), "paper")
    assert not {"filesystem", "engines"} & {r.check for r in disabled.results}
    bad = run_tradeday(["precheck", "-c", str(cfg), "--only", "nonsense"], cwd=cli_home)
    assert bad.returncode == 2 and "unknown check 'nonsense'" in bad.stderr


def test_engines_resolution(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, f"""
        engines:
          - {{name: good, command: ["{sys.executable}", "-m", "json.tool", "--help"]}}
          - {{name: nomodule, command: ["{sys.executable}", "-m", "no_such_module_xyz"]}}
          - {{name: noexe, command: ["no-such-program-xyz", "--flag"]}}
          - {{name: noscript, command: ["{sys.executable}", "strategies/missing.py"]}}
        """)
    code, data, _ = precheck_json(cfg, "--only", "engines", cwd=cli_home)
    msgs = {c["message"].split(":")[0]: c["level"] for c in data["checks"]}
    assert code == 1
    assert msgs == {"good": "INFO", "nomodule": "ERROR", "noexe": "ERROR", "noscript": "ERROR"}


def test_table_output_and_invalid_config(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, f"engines: [{{name: e, command: ['{sys.executable}', '-c', 'pass']}}]\n")
    proc = run_tradeday(["precheck", "-c", str(cfg), "--only", "config,engines"], cwd=cli_home)
    assert proc.returncode == 0
    assert "config.I001" in proc.stdout and "READY" in proc.stdout
    bad = write_config(tmp_path, "mode: sometimes\n", name="bad.yaml")
    proc = run_tradeday(["precheck", "-c", str(bad)], cwd=cli_home)
    assert proc.returncode == 3 and f"{bad}:1 mode" in proc.stderr


def test_lock_check_sees_another_run(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path, "market: {calendar: XNYS}\n")
    config = load_config(cfg_path)
    from session.calendar import MarketCalendar

    today = MarketCalendar("XNYS").today()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, datetime, pathlib\n"
         "from session.lock import acquire_day_lock\n"
         "with acquire_day_lock(pathlib.Path(sys.argv[1]), datetime.date.fromisoformat(sys.argv[2])):\n"
         "    print('held', flush=True); time.sleep(30)\n",
         str(config.artifacts_dir), today.isoformat()],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        report = run_precheck(config, "paper", only=["lock"])
        assert [r.id for r in report.results] == ["lock.W001"]
        assert str(holder.pid) in report.results[0].message
    finally:
        holder.kill()
        holder.wait()
    assert [r.id for r in run_precheck(config, "paper", only=["lock"]).results] == ["lock.I001"]


# --- calendar and clock, at chosen moments ----------------------------------------------------

@pytest.mark.parametrize("calendar,when,expected", [
    ("XNYS", datetime(2026, 11, 26, 8, 50, tzinfo=NY), "calendar.I004"),   # Thanksgiving
    ("XNYS", datetime(2026, 11, 27, 8, 50, tzinfo=NY), "calendar.I002"),   # early close 13:00
    ("XNYS", datetime(2026, 11, 24, 8, 50, tzinfo=NY), "calendar.I001"),
    ("XNSE", datetime(2026, 2, 1, 8, 50, tzinfo=IST), "calendar.I003"),    # Budget day, a Sunday
    ("XNSE", datetime(2027, 3, 1, 8, 50, tzinfo=IST), "calendar.E001"),    # no holiday data for 2027
])
def test_calendar_check(tmp_path: Path, calendar: str, when: datetime, expected: str) -> None:
    config = load_config(write_config(tmp_path, f"market: {{calendar: {calendar}}}\n"))
    report = run_precheck(config, "paper", only=["calendar"], now=when)
    assert expected in [r.id for r in report.results]
    assert report.ok is (expected != "calendar.E001")
    if expected == "calendar.I004":
        assert "Thanksgiving" in report.results[0].message
    # --start-now (run): calendar problems are reported but do not abort
    if expected == "calendar.E001":
        relaxed = run_precheck(config, "paper", only=["calendar"], now=when, start_now=True)
        assert relaxed.ok and relaxed.results[0].level.name == "WARNING"


def test_clock_window(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "market: {calendar: XNSE}\n"))
    late = datetime(2026, 11, 20, 23, 30, tzinfo=IST)
    report = run_precheck(config, "paper", only=["clock"], now=late)
    assert [(r.id, r.level.name) for r in report.results] == [("clock.E001", "ERROR")]
    relaxed = run_precheck(config, "paper", only=["clock"], now=late, start_now=True)
    assert relaxed.ok and relaxed.results[0].level.name == "WARNING"
    early = datetime(2026, 11, 20, 9, 0, tzinfo=IST)
    assert [r.id for r in run_precheck(config, "paper", only=["clock"], now=early).results] == ["clock.I001"]


def test_clock_skew_against_kite(tmp_path: Path) -> None:
    with FakeKiteServer(api_key=API_KEY, access_token=TOKEN, date_offset_s=-30) as kite:
        config = load_config(kite_setup(tmp_path, kite.root))
        report = run_precheck(config, "paper", only=["secrets", "kite", "clock"])
    levels = {r.id: r.level.name for r in report.results}
    assert levels["clock.W001"] == "WARNING"  # Kite's Date header is 30 s behind this machine
    assert "ahead of the kite server" in next(r.message for r in report.results if r.id == "clock.W001")


def test_an_open_secrets_file_is_named_by_its_path_not_masked(tmp_path: Path, cli_home: Path) -> None:
    # secrets_file / tokens_file look like secret keys by name; their values are paths, and
    # the permission warning must say which file to chmod.
    cfg = kite_setup(tmp_path, "http://127.0.0.1:9", mode_perm=0o644,
                     extra="paths: {artifacts: art}")
    code, data, proc = precheck_json(cfg, "--only", "secrets", cwd=cli_home)
    assert code == 0, proc.stdout + proc.stderr
    warnings = {c["message"]: c["hint"] for c in data["checks"] if c["id"] == "secrets.W001"}
    assert set(warnings) == {
        "secrets/kite.env is readable by group/others (mode 0644); run chmod 600 secrets/kite.env",
        "secrets/kite_tokens.env is readable by group/others (mode 0644); run chmod 600 secrets/kite_tokens.env",
    }
    assert set(warnings.values()) == {f"paths are relative to {tmp_path}"}
    assert "***" not in proc.stdout
    table = run_tradeday(["precheck", "-c", str(cfg), "--only", "secrets"], cwd=cli_home)
    flat = " ".join(table.stdout.split())  # the table wraps long messages to the width
    assert "chmod 600 secrets/kite.env" in flat and "***" not in table.stdout
    assert_no_secrets([proc.stdout, proc.stderr, table.stdout, table.stderr], SECRETS)
