"""Report documents, Markdown/HTML/PNG rendering, atomic writes, templates, period reports."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from reports.journal import read_journal
from reports.pnl import compute_day, opening_positions_from_report, reconcile
from reports.render import (
    ReportRenderError,
    build_daily_report,
    build_period_report,
    format_money,
    format_percent,
    write_daily_report,
    write_period_report,
)
from tests.conftest import FIXTURES as FIXTURES_ROOT

FIXTURES = FIXTURES_ROOT / "journals"
IST = timezone(timedelta(hours=5, minutes=30))
GENERATED = datetime(2026, 11, 20, 16, 5, tzinfo=IST)


def market(day: str) -> dict:
    return {"calendar": "XNSE", "open": datetime.fromisoformat(f"{day}T09:15:00+05:30"),
            "close": datetime.fromisoformat(f"{day}T15:30:00+05:30"), "kind": "regular"}


def daily_doc(day: str = "2026-11-20", previous: dict | None = None, **extra) -> dict:
    journal = read_journal(FIXTURES / f"{day}.csv", display_name=f"artifacts/journal/{day}.csv")
    m = market(day)
    result = compute_day(journal.fills, market="XNSE", session_open=m["open"], session_close=m["close"],
                         opening_positions=opening_positions_from_report(previous))
    return build_daily_report(
        date=day, mode="paper", config_path="configs/tradeday.yaml", config_sha256="9f" * 32, market=m,
        day=result, journal_warnings=journal.warnings,
        session={"status": "ok", "engines": [{"name": "alpha", "starts": 1, "restarts": 0,
                                             "final_state": "stopped", "exit_code": 0, "runtime_s": 22500.0}]},
        steps=[{"name": "analytics", "status": "ok", "exit_code": 0, "duration_s": 2.5, "message": ""}],
        generated_at=GENERATED, **extra)


def test_daily_document_fields():
    doc = daily_doc(reconciliation=reconcile([], []), analytics={"sharpe": 1.2}, notes=["rolled INFY"])
    assert doc["schema"] == "tradeday.daily/1"
    assert (doc["date"], doc["mode"], doc["currency"]) == ("2026-11-20", "paper", "INR")
    assert doc["generated_at"] == "2026-11-20T16:05:00+05:30"
    assert doc["market"] == {"calendar": "XNSE", "open": "2026-11-20T09:15:00+05:30",
                             "close": "2026-11-20T15:30:00+05:30", "kind": "regular"}
    assert doc["summary"]["realized_pnl"] == 186.06
    assert [s["name"] for s in doc["strategies"]] == ["meanrev", "momentum"]
    assert doc["trades"][0] == {
        "strategy": "meanrev", "symbol": "SBIN", "side": "SHORT", "quantity": 100,
        "entry_time": "2026-11-20T09:45:10+05:30", "exit_time": "2026-11-20T10:30:00+05:30",
        "avg_entry": 802.3, "avg_exit": 800.1, "pnl": 195.97, "fees": 24.03, "fees_carried": 0.0, "fills": 2,
    }
    assert [p["symbol"] for p in doc["open_positions"]] == ["INFY", "RELIANCE"]
    assert [f["kind"] for f in doc["flags"]] == ["journal", "outside_session"]
    assert doc["reconciliation"]["ok"] is True and doc["analytics"] == {"sharpe": 1.2} and doc["backtest"] is None
    assert doc["notes"] == ["rolled INFY"]
    json.dumps(doc, allow_nan=False)  # plain JSON: no NaN, no Decimal, no datetime


def test_write_daily_report_markdown_chart_and_html(tmp_path):
    doc = daily_doc()
    paths = write_daily_report(doc, tmp_path / "reports" / "2026-11-20.json", tmp_path / "reports" / "2026-11-20.md",
                               html_path=tmp_path / "reports" / "2026-11-20.html")
    assert set(paths) == {"json", "markdown", "html", "chart"}
    md = paths["markdown"].read_text()
    assert md.startswith("# Daily Report — 2026-11-20\n")
    for line in ("- **Mode:** paper", "- **Config:** `configs/tradeday.yaml` (sha256 `9f9f9f9f9f9f`)",
                 "- **Generated:** 2026-11-20 16:05:00 +05:30", "| Realized PnL | **+186.06 INR** |",
                 "| Win Rate | 33.3% |", "| Biggest Winner | +195.97 INR (meanrev, SBIN) |",
                 "| Biggest Loser | -5.89 INR (momentum, INFY) |", "![Cumulative realized PnL through the day](2026-11-20.png)",
                 "| meanrev | 2 | 50.0% | +195.97 INR | 36.03 INR | 12.03 INR | — |",
                 "| momentum | 1 | 0.0% | -9.91 INR | 20.91 INR | 25.36 INR | 0.00 |", "## Notes"):
        assert line in md, line
    assert md.index("| meanrev |") < md.index("| momentum |")
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths["json"].read_text()) == doc
    assert "<h1>Daily Report — 2026-11-20</h1>" in paths["html"].read_text()


def test_same_inputs_give_the_same_bytes(tmp_path):
    outputs = []
    for run in ("a", "b"):
        paths = write_daily_report(daily_doc(), tmp_path / run / "d.json", tmp_path / run / "d.md")
        outputs.append({k: p.read_bytes() for k, p in paths.items()})
    assert outputs[0] == outputs[1]


def test_broken_user_template_leaves_the_previous_report_untouched(tmp_path):
    out = tmp_path / "reports"
    write_daily_report(daily_doc(), out / "2026-11-20.json", out / "2026-11-20.md")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    user = tmp_path / "my-templates"
    user.mkdir()
    (user / "daily_report.md.j2").write_text("# {{ report.date }}\n{% for x in report.trades %}\n{{ x.pnl }\n")
    changed = daily_doc(notes=["second run"])
    with pytest.raises(ReportRenderError, match=r"my-templates/daily_report.md.j2:3: unexpected '}'") as err:
        write_daily_report(changed, out / "2026-11-20.json", out / "2026-11-20.md", templates_dir=user)
    assert err.value.exit_code == 5
    (user / "daily_report.md.j2").write_text("# {{ report.date }}\n\n{{ report.no_such_field }}\n")
    with pytest.raises(ReportRenderError, match=r"daily_report.md.j2:3: 'dict object' has no attribute 'no_such_field'"):
        write_daily_report(changed, out / "2026-11-20.json", out / "2026-11-20.md", templates_dir=user)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing replaced, no temp files


def test_user_template_overrides_and_bundled_ones_fill_in(tmp_path):
    user = tmp_path / "tpl"
    user.mkdir()
    (user / "daily_report.md.j2").write_text(
        "{{ report.date }} {{ report.summary.realized_pnl | signed(report.currency) }} {{ chart }}\n")
    paths = write_daily_report(daily_doc(), tmp_path / "d.json", tmp_path / "d.md", templates_dir=user,
                               html_path=tmp_path / "d.html")
    assert paths["markdown"].read_text() == "2026-11-20 +186.06 INR d.png\n"
    assert "<h1>Daily Report" in paths["html"].read_text()  # no user HTML template: the bundled one
    with pytest.raises(ReportRenderError, match="templates directory .* does not exist"):
        write_daily_report(daily_doc(), tmp_path / "d.json", tmp_path / "d.md", templates_dir=tmp_path / "nope")


def test_html_and_markdown_are_both_escaped(tmp_path):
    doc = daily_doc(notes=["<b>R&D</b> | review"])
    paths = write_daily_report(doc, tmp_path / "d.json", tmp_path / "d.md", html_path=tmp_path / "d.html", chart=False)
    assert "&lt;b&gt;R&amp;D&lt;/b&gt;" in paths["html"].read_text()
    # Markdown shows the text as typed (CommonMark backslash escapes), not as HTML or a table.
    assert "- \\<b\\>R&D\\</b\\> \\| review" in paths["markdown"].read_text()
    assert "chart" not in paths


def test_no_session_and_no_journal_is_an_empty_report_that_says_so(tmp_path):
    doc = build_daily_report(date="2026-11-22", mode="live", config_path=None, config_sha256=None,
                             market={"calendar": "XNSE", "kind": "closed"}, day=None, generated_at=GENERATED)
    assert doc["session"] is None and doc["currency"] == "INR" and doc["trades"] == []
    assert doc["notes"] == ["No session ran on 2026-11-22 and there is no fills journal: nothing to report."]
    paths = write_daily_report(doc, tmp_path / "d.json", tmp_path / "d.md")
    md = paths["markdown"].read_text()
    assert "| Realized PnL | **0.00 INR** |" in md and "| Win Rate | — |" in md
    assert "No session ran on 2026-11-22" in md and "chart" not in paths


def test_period_report_from_two_days_with_carry(tmp_path):
    first = daily_doc("2026-11-20")
    second = daily_doc("2026-11-23", previous=first)
    assert second["summary"]["realized_pnl"] == 30.45
    assert second["trades"][0]["fees_carried"] == 0.5
    doc = build_period_report([second, first], "2026-W48", generated_at=GENERATED)
    assert doc["title"] == "Weekly Report — 2026-W48"
    assert (doc["from"], doc["to"]) == ("2026-11-20", "2026-11-23")
    assert doc["summary"]["realized_pnl"] == 216.51 and doc["summary"]["trading_days"] == 2
    assert [d["cumulative_pnl"] for d in doc["days"]] == [186.06, 216.51]
    assert [(s["name"], s["realized_pnl"], s["days"]) for s in doc["strategies"]] == [
        ("meanrev", 195.97, 1), ("momentum", 20.54, 2)]
    paths = write_period_report(doc, tmp_path / "weekly" / "2026-W48.md", json_path=tmp_path / "weekly" / "2026-W48.json")
    md = paths["markdown"].read_text()
    assert md.startswith("# Weekly Report — 2026-W48\n")
    assert "| 2026-11-23 | paper | +30.45 INR | 2.35 INR | 1 | 100.0% |" in md
    assert "| momentum | 2 | 2 | 50.0% | +20.54 INR | 23.26 INR |" in md
    assert paths["chart"].exists() and "![Cumulative realized PnL over the period](2026-W48.png)" in md
    assert build_period_report([], "2026-11")["title"] == "Monthly Report — 2026-11"


def test_formatting():
    assert format_money(1234.5, "INR", signed=True) == "+1,234.50 INR"
    assert format_money(-87.2, "USD", signed=True) == "-87.20 USD"
    assert format_money(0.0, "INR", signed=True) == "0.00 INR"
    assert format_money(None) == "—"
    assert format_percent(0.625) == "62.5%" and format_percent(None) == "—"


def test_importing_reports_stays_light():
    code = ("import sys, reports.pnl, reports.render, reports.journal, reports.importers; "
            "print(sorted(m for m in ('pandas', 'matplotlib', 'numpy', 'jinja2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_large_documents_are_written_indented_and_read_back_equal():
    from reports.render import dumps_report

    doc = daily_doc()
    doc["trades"] = doc["trades"] * 5000  # tens of thousands of trades
    doc["trades"][0] = dict(doc["trades"][0], strategy='odd}, {"name')  # a boundary inside a string
    text = dumps_report(doc)
    assert json.loads(text) == json.loads(json.dumps(doc, default=float))
    assert text.startswith('{\n  "schema": ') and text.endswith("}\n")
    assert dumps_report(doc) == text  # deterministic
