"""`tradeday eod` and `run_eod` through the real path: the console script, hook programs that
are real processes (one hangs with a child, one exits 3), real journals and reports on disk,
a real local HTTP server speaking the Kite API, and a real webhook receiver."""
from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import psutil
import pytest

from tests.conftest import assert_no_secrets, read_tree, run_tradeday, write_config
from tests.fakes.http_recorder import HttpRecorder
from tests.fakes.kite_server import FakeKiteServer, make_trade

DAY = date(2026, 11, 20)  # a Friday, a regular NSE session 09:15-15:30 IST
API_KEY = "kiteeodkey5Tq81"
TOKEN = "kiteeodtoken9Hw3Zp"

HEADER = "time,strategy,symbol,side,quantity,price,fees,order_id,trade_id\n"
# Hand-computed below: alpha INFY +55.00 gross -2.00 fees = +53.00 (a win); beta TCS short
# 5 @200.00 covered @202.00 = -10.00 gross -1.00 fees = -11.00 (a loss); beta WIPRO buy 3 @50
# stays open (its 0.25 fee is paid today). Day: gross 45.00, fees 3.25, realized 41.75.
JOURNAL = HEADER + "".join([
    "2026-11-20T09:20:00+05:30,alpha,INFY,BUY,10,100.00,1.00,O1,T1\n",
    "2026-11-20T10:00:00+05:30,alpha,INFY,SELL,10,105.50,1.00,O2,T2\n",
    "2026-11-20T11:00:00+05:30,beta,TCS,SELL,5,200.00,0.50,O3,T3\n",
    "2026-11-20T12:00:00+05:30,beta,TCS,BUY,5,202.00,0.50,O4,T4\n",
    "2026-11-20T13:00:00+05:30,beta,WIPRO,BUY,3,50.00,0.25,O5,T5\n",
])

WRITE_METRICS = """
import json, os, sys
from pathlib import Path
journal = Path(os.environ["TRADEDAY_JOURNAL"])
fills = len(journal.read_text().splitlines()) - 1 if journal.exists() else 0
out = Path(os.environ["TRADEDAY_ARTIFACTS"]) / "{kind}" / "daily" / (os.environ["TRADEDAY_SESSION_DATE"] + ".json")
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps({{"daily_metrics": {{"fills": fills, "argv": sys.argv[1:]}},
                            "env": {{k: os.environ[k] for k in ("TRADEDAY_MODE", "TRADEDAY_CONFIG", "TRADEDAY_OUTPUT")}},
                            "cwd": os.getcwd()}}))
print("{kind} hook ran for", os.environ["TRADEDAY_SESSION_DATE"])
"""

HANG_WITH_CHILD = """
import subprocess, sys, time
from pathlib import Path
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
Path(sys.argv[1]).write_text(str(child.pid))
print("started child", child.pid, flush=True)
time.sleep(120)
"""

EXIT_3 = """
import sys
print("backtest: no price data for WIPRO", file=sys.stderr)
sys.exit(3)
"""


def make_config(tmp_path: Path, *, eod: str = "", reports: str = "chart: false", broker: str = "",
                notifications: str = "") -> Path:
    return write_config(tmp_path, f"""
        market: {{calendar: XNSE}}
        paths: {{artifacts: artifacts}}
        eod:
          {eod or "fills_source: journal"}
        reports: {{{reports}}}
        {broker}
        {notifications}
        """)


def hook(tmp_path: Path, name: str, code: str) -> Path:
    path = tmp_path / "hooks" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(code)
    return path


def write_journal(tmp_path: Path, day: date, text: str) -> Path:
    path = tmp_path / "artifacts" / "journal" / f"{day.isoformat()}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def report_json(tmp_path: Path, day: date) -> dict:
    return json.loads((tmp_path / "artifacts" / "reports" / "daily" / f"{day.isoformat()}.json").read_text())


def step(doc: dict, name: str) -> dict:
    return next(s for s in doc["steps"] if s["name"] == name)


def test_eod_report_numbers_hooks_embedded_and_json_shape(tmp_path: Path, cli_home: Path) -> None:
    analytics = hook(tmp_path, "analytics.py", WRITE_METRICS.format(kind="analytics"))
    backtest = hook(tmp_path, "backtest.py", WRITE_METRICS.format(kind="backtests"))
    (tmp_path / "work").mkdir()
    cfg = make_config(tmp_path, eod=f"""analytics: {{command: ["{{python}}", "{analytics}", "--date", "{{date}}", "--mode", "{{mode}}"], cwd: work}}
          backtest: {{command: ["{{python}}", "{backtest}", "{{config}}"], timeout: 30s}}""")
    write_journal(tmp_path, DAY, JOURNAL)

    proc = run_tradeday(["eod", "-c", str(cfg), "--date", DAY.isoformat(), "--json"], cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"date", "exit_code", "report", "steps", "summary"}
    assert out["date"] == "2026-11-20" and out["exit_code"] == 0
    assert set(out["report"]) == {"json", "md", "html"}  # html: on by default
    assert [s["name"] for s in out["steps"]] == ["analytics", "backtest", "fills", "reconcile", "report"]
    assert [s["status"] for s in out["steps"]] == ["ok", "ok", "ok", "skipped", "ok"]
    assert out["summary"]["realized_pnl"] == 41.75

    doc = report_json(tmp_path, DAY)
    s = doc["summary"]
    assert (s["gross_pnl"], s["fees"], s["realized_pnl"]) == (45.0, 3.25, 41.75)
    assert (s["trades"], s["wins"], s["losses"], s["win_rate"]) == (2, 1, 1, 0.5)
    assert [(p["strategy"], p["symbol"], p["side"], p["quantity"]) for p in doc["open_positions"]] == [
        ("beta", "WIPRO", "LONG", 3)]
    assert {st["name"]: st["realized_pnl"] for st in doc["strategies"]} == {"alpha": 53.0, "beta": -11.25}
    assert doc["market"] == {"calendar": "XNSE", "open": "2026-11-20T09:15:00+05:30",
                             "close": "2026-11-20T15:30:00+05:30", "kind": "regular"}
    assert doc["currency"] == "INR" and doc["mode"] == "paper" and doc["session"] is None
    # The hooks' documents, embedded as they wrote them; placeholders and env as documented.
    assert doc["analytics"]["daily_metrics"] == {"fills": 5, "argv": ["--date", "2026-11-20", "--mode", "paper"]}
    assert doc["analytics"]["cwd"] == str(tmp_path / "work")
    assert doc["analytics"]["env"]["TRADEDAY_CONFIG"] == str(cfg)
    assert doc["analytics"]["env"]["TRADEDAY_OUTPUT"].endswith("artifacts/analytics/daily/2026-11-20.json")
    assert doc["backtest"]["daily_metrics"]["argv"] == [str(cfg)]
    assert step(doc, "analytics")["exit_code"] == 0
    log_text = (tmp_path / "artifacts" / "logs" / "2026-11-20" / "eod-analytics.log").read_text()
    assert "analytics hook ran for 2026-11-20" in log_text
    md = (tmp_path / "artifacts" / "reports" / "daily" / "2026-11-20.md").read_text()
    assert "+41.75 INR" in md and "| analytics | ok |" in md


def test_hung_hook_is_killed_with_its_child_and_failing_hook_fails_the_day(tmp_path: Path, cli_home: Path) -> None:
    pid_file = tmp_path / "child.pid"
    hang = hook(tmp_path, "hang.py", HANG_WITH_CHILD)
    fail = hook(tmp_path, "fail.py", EXIT_3)
    cfg = make_config(tmp_path, eod=f"""analytics: {{command: ["{{python}}", "{hang}", "{pid_file}"], timeout: 1s}}
          backtest: {{command: ["{{python}}", "{fail}"]}}""")
    write_journal(tmp_path, DAY, JOURNAL)

    began = time.monotonic()
    proc = run_tradeday(["eod", "-c", str(cfg), "--date", DAY.isoformat()], cwd=cli_home)
    took = time.monotonic() - began
    assert proc.returncode == 5, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "analytics, backtest failed" in proc.stderr
    assert took < 45  # the hook hangs forever: its 1 s timeout ended it (generous: a busy machine)
    child = int(pid_file.read_text())
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE

    doc = report_json(tmp_path, DAY)  # the report is still written, with the numbers
    assert doc["summary"]["realized_pnl"] == 41.75
    analytics, backtest = step(doc, "analytics"), step(doc, "backtest")
    assert analytics["status"] == "timeout" and "within 1s" in analytics["message"]
    assert backtest["status"] == "failed" and backtest["exit_code"] == 3
    assert "eod-backtest.log" in backtest["message"]
    assert doc["analytics"] is None and doc["backtest"] is None
    assert "no price data for WIPRO" in (tmp_path / "artifacts/logs/2026-11-20/eod-backtest.log").read_text()
    # Plain status lines on stdout, one per step, then the paths.
    lines = proc.stdout.splitlines()
    assert any(line.startswith("analytics") and "timeout" in line for line in lines)
    assert any(line.startswith("report (md): ") for line in lines)


def test_bad_journal_exits_5_naming_the_line_and_keeps_the_previous_report(tmp_path: Path, cli_home: Path) -> None:
    from session.config import load_config
    from session.eod import EodOptions, run_eod

    cfg = make_config(tmp_path)
    journal = write_journal(tmp_path, DAY, JOURNAL)
    first = run_eod(load_config(cfg), DAY, EodOptions(mode="paper"))
    assert first.exit_code == 0
    before = {p.name: p.read_bytes() for p in first.report_paths.values()}

    journal.write_text(JOURNAL.replace("105.50", "1o5.50"))
    proc = run_tradeday(["eod", "-c", str(cfg), "--date", DAY.isoformat()], cwd=cli_home)
    assert proc.returncode == 5
    assert "Traceback" not in proc.stderr
    assert "2026-11-20.csv:3 price" in proc.stderr and "'1o5.50' is not a number" in proc.stderr
    assert {p.name: p.read_bytes() for p in first.report_paths.values()} == before


def test_no_session_and_no_journal_gives_an_empty_report_that_says_so(tmp_path: Path, cli_home: Path) -> None:
    from session.config import load_config
    from session.eod import EodOptions, run_eod

    cfg = make_config(tmp_path)
    write_journal(tmp_path, DAY, JOURNAL)  # Friday leaves beta WIPRO long 3
    assert run_eod(load_config(cfg), DAY, EodOptions(mode="paper")).report_paths["json"].is_file()
    saturday = date(2026, 11, 21)
    proc = run_tradeday(["eod", "-c", str(cfg), "--date", saturday.isoformat(), "--no-analytics", "--no-carry"],
                        cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    doc = report_json(tmp_path, saturday)
    assert doc["market"]["kind"] == "closed" and doc["session"] is None
    assert doc["summary"]["fills"] == 0 and doc["trades"] == []
    assert doc["open_positions"] == []  # --no-carry: Friday's WIPRO is not carried
    said = "No session ran on 2026-11-21 and there is no fills journal: nothing to report."
    assert said in doc["notes"]
    assert said in (tmp_path / "artifacts/reports/daily/2026-11-21.md").read_text()
    assert "fills      ok" in proc.stdout and "no fills journal for 2026-11-21" in proc.stdout


def test_carry_over_from_the_previous_report_via_the_cli(tmp_path: Path, cli_home: Path) -> None:
    from session.config import load_config
    from session.eod import EodOptions, run_eod

    cfg = make_config(tmp_path)
    write_journal(tmp_path, DAY, JOURNAL)  # leaves beta WIPRO long 3 @50.00 (fee 0.25 paid)
    monday = date(2026, 11, 23)
    write_journal(tmp_path, monday, HEADER + "2026-11-23T09:30:00+05:30,beta,WIPRO,SELL,3,52.00,0.30,O9,T9\n")
    assert run_eod(load_config(cfg), DAY, EodOptions(mode="paper")).exit_code == 0

    proc = run_tradeday(["eod", "-c", str(cfg), "--date", monday.isoformat(), "--json"], cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    doc = report_json(tmp_path, monday)
    # Today: gross 3 x (52 - 50) = 6.00, today's fee 0.30 -> 5.70. The trade also carries
    # Friday's 0.25 fee (already in Friday's total): trade PnL 5.45.
    assert (doc["summary"]["gross_pnl"], doc["summary"]["realized_pnl"]) == (6.0, 5.7)
    assert [(t["symbol"], t["pnl"], t["fees_carried"]) for t in doc["trades"]] == [("WIPRO", 5.45, 0.25)]
    assert doc["open_positions"] == []
    assert "1 open position(s) carried from the report of 2026-11-20." in doc["notes"]

    # Without carry the same sale opens a short.
    flat = run_eod(load_config(cfg), monday, EodOptions(mode="paper", carry=False))
    doc = json.loads(flat.report_paths["json"].read_text())
    assert doc["summary"]["realized_pnl"] == -0.3
    assert [(p["symbol"], p["side"]) for p in doc["open_positions"]] == [("WIPRO", "SHORT")]


def kite_config(tmp_path: Path, root: str) -> Path:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "kite.env").write_text(f"KITE_API_KEY={API_KEY}\n")
    (secrets / "kite_tokens.env").write_text(f"ACCESS_TOKEN={TOKEN}\n")
    return make_config(tmp_path, eod="fills_source: kite",
                       broker=f"broker: {{kind: kite, kite: {{api_root: \"{root}\", timeout: 15s}}}}")  # a busy machine


def test_kite_fills_source_reconciles_with_the_journal_and_keeps_secrets_out(tmp_path: Path, cli_home: Path) -> None:
    engine_journal = HEADER + "".join([
        "2026-11-20T09:20:00+05:30,alpha,INFY,BUY,10,100.00,0,O1,T1\n",    # matches the broker
        "2026-11-20T10:00:00+05:30,alpha,INFY,SELL,10,105.50,0,O2,T2\n",   # broker says 105.00
        "2026-11-20T11:00:00+05:30,beta,TCS,SELL,5,200.00,0,O3,T3\n",      # the broker has no such fill
    ])
    trades = [
        make_trade(trade_id="T1", order_id="O1", tradingsymbol="INFY", transaction_type="BUY", quantity=10,
                   average_price=100.0, fill_timestamp="2026-11-20 09:20:00"),
        make_trade(trade_id="T2", order_id="O2", tradingsymbol="INFY", transaction_type="SELL", quantity=10,
                   average_price=105.0, fill_timestamp="2026-11-20 10:00:00"),
        make_trade(trade_id="T7", order_id="O7", tradingsymbol="SBIN", transaction_type="BUY", quantity=2,
                   average_price=800.0, fill_timestamp="2026-11-20 14:00:00"),   # not in the journal
    ]
    with FakeKiteServer(api_key=API_KEY, access_token=TOKEN, trades=trades) as kite:
        cfg = kite_config(tmp_path, kite.root)
        journal = write_journal(tmp_path, DAY, engine_journal)
        proc = run_tradeday(["eod", "-c", str(cfg), "--date", DAY.isoformat(), "--json"], cwd=cli_home)
        assert proc.returncode == 0, proc.stderr
        assert "/trades" in kite.paths()

        doc = report_json(tmp_path, DAY)
        assert journal.read_text() == engine_journal  # the engine's journal is never rewritten
        broker_file = tmp_path / "artifacts/journal/2026-11-20.kite.csv"
        assert broker_file.read_text().count("\n") == 4  # header + 3 broker fills
        # Figures from the broker: INFY 10 x (105 - 100) = 50; strategies kept from the journal.
        assert doc["summary"]["realized_pnl"] == 50.0 and doc["summary"]["fills"] == 3
        assert {t["strategy"] for t in doc["trades"]} == {"alpha"}
        rec = doc["reconciliation"]
        assert rec["ok"] is False and rec["matched"] == 2
        assert rec["mismatches"] == [{"key": "trade_id T2", "field": "price", "journal": "105.5", "broker": "105"}]
        assert [f["trade_id"] for f in rec["missing_in_broker"]] == ["T3"]
        assert [f["trade_id"] for f in rec["missing_in_journal"]] == ["T7"]
        assert step(doc, "reconcile")["status"] == "mismatch"

        # Kite refuses the token (and its message echoes it): the step fails without
        # leaking it, the report falls back to the fills saved above, exit 5.
        kite.mode = "token_error"
        kite.token_error_message = f"Incorrect api_key {API_KEY} or access_token {TOKEN}."
        failed = run_tradeday(["eod", "-c", str(cfg), "--date", DAY.isoformat()], cwd=cli_home)
    assert failed.returncode == 5
    doc = report_json(tmp_path, DAY)
    fills_step = step(doc, "fills")
    assert fills_step["status"] == "failed" and "token rejected by Kite" in fills_step["message"]
    assert "used the fills saved earlier" in fills_step["message"]
    assert doc["summary"]["realized_pnl"] == 50.0
    assert_no_secrets([proc.stdout, proc.stderr, failed.stdout, failed.stderr, *read_tree(tmp_path / "artifacts")],
                      [API_KEY, TOKEN])


def test_run_eod_in_process_sends_the_daily_summary_to_a_webhook(tmp_path: Path, isolated_redactor: None) -> None:
    from session.config import load_config
    from session.eod import EodOptions, run_eod
    from session.notify import NotificationHub

    bad = hook(tmp_path, "bad_json.py", """
import os
from pathlib import Path
out = Path(os.environ["TRADEDAY_OUTPUT"]); out.parent.mkdir(parents=True, exist_ok=True)
out.write_text('{"daily_metrics": {"sharpe": NaN}}')
""")
    with HttpRecorder() as server:
        cfg_path = make_config(
            tmp_path, eod=f"""analytics: {{command: ["{{python}}", "{bad}"]}}""",
            notifications=f"""notifications:
          enabled: true
          dedup_window: 0
          channels: [{{type: webhook, url: "{server.url}/hook"}}]""")
        cfg = load_config(cfg_path)
        write_journal(tmp_path, DAY, JOURNAL)
        engines = [{"name": "momentum", "state": "STOPPED", "pid": None, "starts": 2, "restarts": 1,
                    "exit_code": 0, "last_exit_code": 0, "runtime_s": 20500.5, "fatal_reason": None,
                    "failure": None}]
        hub = NotificationHub(cfg.notifications, cfg.outbox_path)
        try:
            result = run_eod(cfg, DAY, EodOptions(mode="paper", backtest=False,
                                                   session_info={"status": "completed", "engines": engines}), hub=hub)
        finally:
            hub.close(5.0)
        requests = server.wait_for(2)

    assert result.exit_code == 5 and result.error is None
    assert set(result.report_paths) == {"json", "md", "html"}  # html: on by default
    bodies = {r.json()["event"]: r.json() for r in requests}
    summary = bodies["daily_summary"]
    assert summary["level"] == "info"
    assert summary["fields"]["realized_pnl"] == 41.75 and summary["fields"]["trades"] == 2
    assert summary["fields"]["win_rate"] == 0.5
    assert summary["fields"]["report"] == str(result.report_paths["md"])
    failed = bodies["eod_failed"]
    assert failed["level"] == "critical" and "analytics" in failed["title"]
    assert "NaN is not valid JSON" in failed["message"]
    doc = json.loads(result.report_paths["json"].read_text())
    assert doc["session"] == {"status": "completed", "engines": [
        {"name": "momentum", "starts": 2, "restarts": 1, "final_state": "STOPPED", "exit_code": 0,
         "runtime_s": 20500.5}]}
    assert step(doc, "analytics")["status"] == "failed" and doc["analytics"] is None
    assert step(doc, "backtest")["status"] == "skipped"


@pytest.mark.parametrize("args, code, text", [
    (["--date", "2026-13-01"], 2, "--date: '2026-13-01' is not a date"),
])
def test_eod_usage_errors_are_one_line(tmp_path: Path, cli_home: Path, args: list[str], code: int, text: str) -> None:
    cfg = make_config(tmp_path)
    proc = run_tradeday(["eod", "-c", str(cfg), *args], cwd=cli_home)
    assert proc.returncode == code
    assert text in proc.stderr and "Traceback" not in proc.stderr


def test_a_broken_own_template_still_gives_a_report_from_the_bundled_one(tmp_path: Path) -> None:
    from session.config import load_config
    from session.eod import EodOptions, run_eod

    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "daily_report.md.j2").write_text("# {{ report.date }}\n{{ report.no_such_field.x }}\n")
    cfg = load_config(make_config(tmp_path, reports="chart: false, templates_dir: templates"))
    write_journal(tmp_path, DAY, JOURNAL)
    result = run_eod(cfg, DAY, EodOptions(mode="paper", analytics=False, backtest=False))
    assert result.exit_code == 5
    report = step({"steps": result.steps}, "report")
    assert report["status"] == "failed" and "daily_report.md.j2:2" in report["message"]
    assert "written with the bundled templates instead" in report["message"]
    assert "# Daily Report — 2026-11-20" in result.report_paths["md"].read_text()
    assert step(json.loads(result.report_paths["json"].read_text()), "report")["status"] == "failed"


def test_eod_by_hand_after_an_interrupted_run_takes_the_session_from_the_state_file(tmp_path: Path) -> None:
    from session.config import load_config
    from session.eod import EodOptions, run_eod
    from session.state import Phase, StateFile, state_path

    cfg = load_config(make_config(tmp_path))
    state = StateFile(state_path(cfg.artifacts_dir, DAY), day=DAY, mode="paper", config_path=str(cfg.path),
                      calendar="XNSE")
    state.update(phase=Phase.DONE, exit_code=130, engines=[
        {"name": "momentum", "state": "STOPPED", "starts": 1, "restarts": 0, "exit_code": None,
         "last_exit_code": -15, "runtime_s": 3600.0}])
    result = run_eod(cfg, DAY, EodOptions(mode="paper", analytics=False, backtest=False))
    assert result.exit_code == 0
    doc = json.loads(result.report_paths["json"].read_text())
    # (`runs`, every run the state file recorded, is checked with the state file's tests.)
    assert {k: doc["session"][k] for k in ("status", "engines")} == {"status": "interrupted", "engines": [
        {"name": "momentum", "starts": 1, "restarts": 0, "final_state": "STOPPED", "exit_code": -15,
         "runtime_s": 3600.0}]}
    assert "No fills journal for 2026-11-20: the figures below are empty." in doc["notes"]


def test_kite_trades_of_another_day_are_not_taken_for_an_empty_day(tmp_path: Path) -> None:
    from session.config import load_config
    from session.eod import EodOptions, run_eod

    # Kite lists only today's trades: asked about an earlier day, its answer says nothing.
    with FakeKiteServer(api_key=API_KEY, access_token=TOKEN,
                        trades=[make_trade(fill_timestamp="2026-11-24 09:20:00")]) as kite:
        cfg = load_config(kite_config(tmp_path, kite.root))
        write_journal(tmp_path, DAY, JOURNAL)
        result = run_eod(cfg, DAY, EodOptions(mode="paper", analytics=False, backtest=False))
    assert result.exit_code == 5
    fills = step({"steps": result.steps}, "fills")
    assert fills["status"] == "failed" and "Kite lists only today's trades, and none are from 2026-11-20" in fills["message"]
    assert "cannot be fetched" in fills["message"]
    assert not (tmp_path / "artifacts/journal/2026-11-20.kite.csv").exists()
    doc = json.loads(result.report_paths["json"].read_text())
    assert doc["summary"]["realized_pnl"] == 41.75  # from the engine's journal, and it says so
    assert "The broker's fills were not available: figures are from the engine's journal." in doc["notes"]


def test_regenerating_without_the_journal_keeps_the_report(tmp_path: Path) -> None:
    from session.config import load_config
    from session.eod import EodOptions, regenerate_daily, run_eod

    cfg = load_config(make_config(tmp_path))
    journal = write_journal(tmp_path, DAY, JOURNAL)
    first = run_eod(cfg, DAY, EodOptions(mode="paper"))
    before = first.report_paths["json"].read_bytes()
    journal.unlink()  # e.g. a retention policy pruned old journals
    again = regenerate_daily(cfg, DAY, mode="paper")
    assert again.exit_code == 0 and again.report_paths["json"].read_bytes() == before
    assert again.steps[-1]["status"] == "skipped" and "kept the existing report (5 fills)" in again.steps[-1]["message"]
