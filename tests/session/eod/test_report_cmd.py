"""`tradeday report` through the console script: regenerating a range (carry flowing day to
day, the run's records kept, hooks not re-run), weekly and monthly summaries, and importing
Zerodha and IBKR exports into the journal without ever losing one."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import REPO, run_tradeday, write_config
from tests.session.eod.test_eod import DAY, HEADER, JOURNAL, hook, report_json, step, write_journal

IMPORTS = REPO / "tests" / "fixtures" / "imports"
MONDAY = date(2026, 11, 23)

MARK_RUN = """
import os
from pathlib import Path
with open(os.environ["MARKER"], "a") as fh:
    fh.write(os.environ["TRADEDAY_SESSION_DATE"] + "\\n")
out = Path(os.environ["TRADEDAY_OUTPUT"]); out.parent.mkdir(parents=True, exist_ok=True)
out.write_text('{"daily_metrics": {"fills": 5}}')
"""


def config(tmp_path: Path, *, calendar: str = "XNSE", eod: str = "fills_source: journal",
           chart: bool = False) -> Path:
    return write_config(tmp_path, f"""
        market: {{calendar: {calendar}}}
        eod:
          {eod}
        reports: {{chart: {str(chart).lower()}}}
        """)


def test_range_regenerates_in_order_keeps_the_run_records_and_carries(tmp_path: Path, cli_home: Path) -> None:
    from session.config import load_config
    from session.eod import EodOptions, run_eod

    marker = tmp_path / "hook-runs.txt"
    analytics = hook(tmp_path, "mark.py", MARK_RUN)
    cfg_path = config(tmp_path, eod=f"""analytics: {{command: ["{{python}}", "{analytics}"], env: {{MARKER: "{marker}"}}}}""")
    write_journal(tmp_path, DAY, JOURNAL)
    write_journal(tmp_path, MONDAY, HEADER + "2026-11-23T09:30:00+05:30,beta,WIPRO,SELL,3,52.00,0.30,O9,T9\n")
    session = {"status": "completed", "engines": [{"name": "momentum", "state": "STOPPED", "starts": 1,
                                                   "restarts": 0, "exit_code": 0, "runtime_s": 22500.0}]}
    # What `tradeday run` wrote on Friday: a session, the analytics hook's document.
    assert run_eod(load_config(cfg_path), DAY, EodOptions(mode="paper", session_info=session)).exit_code == 0
    assert marker.read_text() == "2026-11-20\n"

    proc = run_tradeday(["report", "-c", str(cfg_path), "--from", "2026-11-19", "--to", "2026-11-23", "--json"],
                        cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["exit_code"] == 0 and out["imported"] == [] and out["periods"] == []
    assert [r["date"] for r in out["reports"]] == ["2026-11-20", "2026-11-23"]
    assert set(out["reports"][0]["report"]) == {"json", "md", "html"}  # HTML is on by default
    assert marker.read_text() == "2026-11-20\n"  # hooks are not re-run by a regeneration

    friday = report_json(tmp_path, DAY)
    assert friday["session"]["status"] == "completed"
    assert friday["session"]["engines"][0]["name"] == "momentum"
    assert friday["analytics"] == {"daily_metrics": {"fills": 5}}
    assert step(friday, "analytics")["status"] == "ok"  # as the run recorded it
    monday = report_json(tmp_path, MONDAY)
    assert monday["summary"]["realized_pnl"] == 5.7  # Friday's WIPRO lot closed on Monday
    assert monday["open_positions"] == [] and monday["session"] is None
    assert step(monday, "analytics")["status"] == "skipped"


def test_weekly_and_monthly_summaries(tmp_path: Path, cli_home: Path) -> None:
    cfg_path = config(tmp_path)
    days = {
        date(2026, 11, 16): ["2026-11-16T09:20:00+05:30,alpha,INFY,BUY,10,100,0,A1,A1",
                             "2026-11-16T10:20:00+05:30,alpha,INFY,SELL,10,101,0,A2,A2"],          # +10
        date(2026, 11, 18): ["2026-11-18T09:20:00+05:30,beta,TCS,BUY,4,50,0,B1,B1",
                             "2026-11-18T09:40:00+05:30,beta,TCS,SELL,4,47.5,0,B2,B2",             # -10
                             "2026-11-18T10:00:00+05:30,alpha,INFY,BUY,1,100,0,B3,B3",
                             "2026-11-18T11:00:00+05:30,alpha,INFY,SELL,1,125,0,B4,B4"],           # +25
        MONDAY: ["2026-11-23T09:20:00+05:30,alpha,INFY,BUY,10,100,0,C1,C1",
                 "2026-11-23T09:50:00+05:30,alpha,INFY,SELL,10,102,0,C2,C2"],                      # +20
    }
    for d, rows in days.items():
        write_journal(tmp_path, d, HEADER + "\n".join(rows) + "\n")

    proc = run_tradeday(["report", "-c", str(cfg_path), "2026-11-18", "--period", "week", "--json"], cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    week = out["periods"][0]
    assert (week["kind"], week["period"]) == ("week", "2026-W47")
    assert week["days"] == week["regenerated"] == ["2026-11-16", "2026-11-18"]
    weekly = tmp_path / "artifacts" / "reports" / "weekly"
    assert week["report"] == {"json": str(weekly / "2026-W47.json"), "md": str(weekly / "2026-W47.md")}
    doc = json.loads((weekly / "2026-W47.json").read_text())
    assert doc["summary"]["realized_pnl"] == 25.0 and doc["summary"]["trading_days"] == 2
    assert [(d["date"], d["realized_pnl"], d["cumulative_pnl"]) for d in doc["days"]] == [
        ("2026-11-16", 10.0, 10.0), ("2026-11-18", 15.0, 25.0)]
    assert {s["name"]: s["realized_pnl"] for s in doc["strategies"]} == {"alpha": 35.0, "beta": -10.0}
    md = (weekly / "2026-W47.md").read_text()
    assert "# Weekly Report — 2026-W47" in md and "| 2026-11-18 | paper | +15.00 INR |" in md

    # No DATE: the period of the latest date with data (2026-11-23); only that daily is missing.
    config(tmp_path, chart=True)
    proc = run_tradeday(["report", "-c", str(cfg_path), "--period", "month"], cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    monthly = tmp_path / "artifacts" / "reports" / "monthly"
    assert f"month 2026-11 (md): {monthly / '2026-11.md'}" in proc.stdout
    assert "2026-11-23 report (json)" in proc.stdout and "2026-11-16 report" not in proc.stdout
    doc = json.loads((monthly / "2026-11.json").read_text())
    assert [d["date"] for d in doc["days"]] == ["2026-11-16", "2026-11-18", "2026-11-23"]
    assert doc["summary"]["realized_pnl"] == 45.0
    md = (monthly / "2026-11.md").read_text()
    assert "# Monthly Report — 2026-11" in md
    assert "![Cumulative realized PnL over the period](2026-11.png)" in md
    assert (monthly / "2026-11.png").read_bytes().startswith(b"\x89PNG")


def test_fills_import_zerodha_refuses_to_overwrite_and_force_keeps_a_backup(tmp_path: Path, cli_home: Path) -> None:
    from core.errors import UsageError
    from session.config import load_config
    from session.eod import import_fills_file, load_calendar

    cfg_path = config(tmp_path)
    zerodha = IMPORTS / "zerodha_tradebook_2026-11-20.csv"
    proc = run_tradeday(["report", "-c", str(cfg_path), "2026-11-20", "--fills", str(zerodha),
                         "--fills-format", "kite-tradebook", "--json"], cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    journal = tmp_path / "artifacts" / "journal" / "2026-11-20.csv"
    assert out["imported"] == [{"date": "2026-11-20", "journal": str(journal), "fills": 6, "status": "written",
                                "backup": None}]
    assert "Zerodha tradebooks carry no charges" in proc.stderr
    doc = report_json(tmp_path, DAY)
    # INFY: 40 sold @1889.95 against 25 @1876.45 + 15 @1876.50 = +539.25; NIFTY call sold
    # 75 @132.65, bought back @118.30 = +1076.25; RELIANCE 10 @2931.10 stays open. No fees.
    assert (doc["summary"]["realized_pnl"], doc["summary"]["trades"], doc["summary"]["fees"]) == (1615.5, 2, 0.0)
    assert [(p["symbol"], p["side"], p["quantity"]) for p in doc["open_positions"]] == [("RELIANCE", "LONG", 10)]
    assert "Fills imported from zerodha_tradebook_2026-11-20.csv (kite-tradebook)." in doc["notes"]
    original = journal.read_bytes()

    # Other fills for the same day are refused (exit 2) before anything is touched.
    other = IMPORTS / "ibkr_flex_header_data.csv"
    cfg = load_config(cfg_path)
    with pytest.raises(UsageError) as refused:
        import_fills_file(cfg, other, "ibkr-flex", load_calendar(cfg), dates=[DAY])
    assert refused.value.exit_code == 2
    assert "2026-11-20.csv already exists with other fills" in str(refused.value) and "--force" in str(refused.value)
    assert journal.read_bytes() == original and len(list(journal.parent.iterdir())) == 1

    forced = run_tradeday(["report", "-c", str(cfg_path), "2026-11-20", "--fills", str(other), "--force"],
                          cwd=cli_home)
    assert forced.returncode == 0, forced.stderr
    backups = list(journal.parent.glob("2026-11-20.csv.replaced-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == original
    assert "the old journal is kept as" in forced.stdout
    assert "is in USD but the report currency is INR" in forced.stderr
    assert report_json(tmp_path, DAY)["summary"]["fills"] == 2


def test_fills_import_ibkr_flex_without_a_date_imports_its_days(tmp_path: Path, cli_home: Path) -> None:
    cfg_path = config(tmp_path, calendar="XNYS")
    flex = IMPORTS / "ibkr_flex_trades_2026-11-20.csv"
    proc = run_tradeday(["report", "-c", str(cfg_path), "--fills", str(flex)], cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    assert "2026-11-20 imported 5 fills into" in proc.stdout  # EXECUTION rows only
    doc = report_json(tmp_path, DAY)
    # AAPL 100 bought @228.41, sold @229.935: +152.50; SPY call x100 multiplier: 200 @1.85 ->
    # @2.40 = +110.00; commissions 2.0316 + 2.60. Realized 262.50 - 4.6316 = 257.87.
    s = doc["summary"]
    assert (s["gross_pnl"], s["fees"], s["realized_pnl"], s["trades"]) == (262.5, 4.63, 257.87, 2)
    assert doc["currency"] == "USD"
    lines = (tmp_path / "artifacts" / "journal" / "2026-11-20.csv").read_text().splitlines()
    assert lines[0] == HEADER.strip() and len(lines) == 6
    assert lines[1].startswith("2026-11-20T09:45:12-05:00,imported,AAPL,BUY,60,228.41,")


@pytest.mark.parametrize("args, text", [
    (["--to", "2026-11-20"], "--to needs --from"),
])
def test_report_usage_errors_exit_2_in_one_line(tmp_path: Path, cli_home: Path, args: list[str], text: str) -> None:
    proc = run_tradeday(["report", "-c", str(config(tmp_path)), *args], cwd=cli_home)
    assert proc.returncode == 2
    assert text in proc.stderr and "Traceback" not in proc.stderr
