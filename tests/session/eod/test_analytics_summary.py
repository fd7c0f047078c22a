"""The analytics-only report (kite-algo-minimal): no fills journal, and the analytics hook (a
real process) wrote ``daily_metrics``; the report's summary is that step's figures and says
so (``summary.source: analytics``). With a journal the journal's figures win, and the source
says ``journal``."""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from session.config import load_config
from session.eod import EodOptions, run_eod
from tests.conftest import write_config

DAY = date(2026, 11, 20)  # a Friday, a regular NSE session

# What kite-algo-minimal's scripts/run_analytics.py writes (win rates in percent).
ANALYTICS = """
import json, os
from pathlib import Path
out = Path(os.environ["TRADEDAY_OUTPUT"])
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps({
    "date": os.environ["TRADEDAY_SESSION_DATE"], "mode": "paper",
    "daily_metrics": {"realized_pnl": 1234.5, "num_trades": 4, "win_rate": 75.0, "loss_rate": 25.0,
                      "avg_win": 500.0, "avg_loss": -265.5, "biggest_winner": 700.0, "biggest_loser": -265.5,
                      "pnl_distribution": {"wins": 3, "losses": 1, "breakeven": 0}},
    "strategy_metrics": {
        "EMA_20_50": {"trades": 3, "wins": 2, "losses": 1, "win_rate": 66.67, "realized_pnl": 534.5,
                      "profit_factor": 3.01, "max_drawdown": 265.5},
        "EXPIRY_SCALPER": {"trades": 1, "wins": 1, "losses": 0, "win_rate": 100.0, "realized_pnl": 700.0},
    },
}))
"""


def setup(tmp_path: Path) -> Path:
    hook = tmp_path / "run_analytics.py"
    hook.write_text(ANALYTICS)
    return write_config(tmp_path, f"""
        market: {{calendar: XNSE}}
        eod:
          analytics: {{command: ["{sys.executable}", "{hook}"]}}
        reports: {{chart: false, html: true}}
        """)


def test_without_a_journal_the_summary_is_the_analytics_daily_metrics(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    result = run_eod(load_config(cfg), DAY, EodOptions(mode="paper"))
    assert result.exit_code == 0
    doc = json.loads(result.report_paths["json"].read_text())
    s = doc["summary"]
    assert s["source"] == "analytics"
    assert (s["realized_pnl"], s["trades"], s["wins"], s["losses"]) == (1234.5, 4, 3, 1)
    assert s["win_rate"] == 0.75  # the seed's percent as tradeday's fraction
    assert s["biggest_winner"]["pnl"] == 700.0 and s["biggest_loser"]["pnl"] == -265.5
    assert [(st["name"], st["trades"], st["realized_pnl"]) for st in doc["strategies"]] == [
        ("EXPIRY_SCALPER", 1, 700.0), ("EMA_20_50", 3, 534.5)]
    assert doc["strategies"][1]["win_rate"] == round(2 / 3, 6)
    assert doc["notes"][0].startswith(f"No fills journal for {DAY}: the summary is the analytics step's daily_metrics")
    assert not any("figures below are empty" in n for n in doc["notes"])
    md = result.report_paths["md"].read_text()
    assert "**+1,234.50 INR**" in md and "| Source | analytics (the analytics step's daily_metrics" in md
    assert "EMA\\_20\\_50" in md or "EMA_20_50" in md
    assert "None" not in md  # the seed knows no strategy for its biggest winner: nothing printed for it
    html = result.report_paths["html"].read_text()
    assert "<td>Source</td><td>analytics" in html and "None" not in html


def test_a_journal_wins_over_the_analytics_figures(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    journal = tmp_path / "artifacts" / "journal" / f"{DAY}.csv"
    journal.parent.mkdir(parents=True)
    journal.write_text("time,strategy,symbol,side,quantity,price,fees\n"
                       "2026-11-20T09:20:00+05:30,alpha,INFY,BUY,10,100.00,0\n"
                       "2026-11-20T10:00:00+05:30,alpha,INFY,SELL,10,101.00,0\n")
    result = run_eod(load_config(cfg), DAY, EodOptions(mode="paper"))
    doc = json.loads(result.report_paths["json"].read_text())
    assert doc["summary"]["source"] == "journal"
    assert doc["summary"]["realized_pnl"] == 10.0 and doc["summary"]["trades"] == 1
    assert doc["analytics"]["daily_metrics"]["realized_pnl"] == 1234.5  # still embedded
    assert "| Source | journal |" in result.report_paths["md"].read_text()


def test_no_journal_and_no_analytics_says_none(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "market: {calendar: XNSE}\nreports: {chart: false}\n")
    result = run_eod(load_config(cfg), DAY, EodOptions(mode="paper"))
    doc = json.loads(result.report_paths["json"].read_text())
    assert doc["summary"]["source"] == "none" and doc["summary"]["realized_pnl"] == 0
