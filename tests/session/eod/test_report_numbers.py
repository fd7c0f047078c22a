"""Extreme journal numbers through the console script (issue 10): ``tradeday report DATE`` either
exits 0 with the exact figures (checked against ``fractions.Fraction``) or exits 5 naming the
journal's ``file:line`` and the field; never 70, never a traceback."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.journal import MAX_DECIMALS, MAX_INTEGER_DIGITS, Fill
from tests.conftest import run_tradeday, write_config
from tests.reports.test_extreme_numbers import (
    IST,
    expected_number,
    first_refusal,
    half_even,
    journal_rows,
    write_rows,
)
from tests.reports.test_pnl import reference_fifo

DAY = date(2026, 11, 20)


def setup(tmp_path: Path, *, chart: bool = False) -> tuple[Path, Path]:
    cfg = write_config(tmp_path, f"""
        market: {{calendar: XNSE}}
        paths: {{artifacts: artifacts}}
        eod: {{fills_source: journal}}
        reports: {{chart: {str(chart).lower()}, html: {str(chart).lower()}}}
        """)
    journal = tmp_path / "artifacts" / "journal" / f"{DAY}.csv"
    journal.parent.mkdir(parents=True, exist_ok=True)
    return cfg, journal


def report_and_check(tmp_path: Path, rows: list[tuple[str, str, str, str, str]], *, chart: bool = False) -> None:
    cfg, journal = setup(tmp_path, chart=chart)
    write_rows(journal, rows)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    proc = run_tradeday(["report", "-c", str(cfg), DAY.isoformat()], cwd=home, timeout=120)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    report = tmp_path / "artifacts" / "reports" / "daily" / f"{DAY}.json"
    refusal = first_refusal(rows)
    if refusal is not None:
        line, fields = refusal
        assert proc.returncode == 5, proc.stderr
        assert any(f"artifacts/journal/{DAY}.csv:{line} {field}: " in proc.stderr for field in fields), proc.stderr
        assert not report.exists()
        return
    assert proc.returncode == 0, proc.stderr
    fills = [Fill(time=datetime(2026, 11, 20, 9, 20, tzinfo=IST) + timedelta(minutes=i), strategy=strategy,
                  symbol="X", side=side,
                  quantity=expected_number(q, "quantity"), price=expected_number(p, "price"),
                  fees=expected_number(f, "fees"))
             for i, (strategy, side, q, p, f) in enumerate(rows)]
    gross, _, open_lots = reference_fifo(fills)
    fees = sum((Fraction(f.fees) for f in fills), Fraction(0))
    doc = json.loads(report.read_text())
    s = doc["summary"]
    assert s["gross_pnl"] == half_even(sum(gross, Fraction(0)), 2)
    assert s["fees"] == half_even(fees, 2)
    assert s["realized_pnl"] == half_even(sum(gross, Fraction(0)) - fees, 2)
    assert s["turnover"] == half_even(sum((Fraction(f.quantity) * Fraction(f.price) for f in fills), Fraction(0)), 2)
    # The lots (what the next day reads back) are exact decimal strings.
    assert {(p["strategy"], p["symbol"]): [(Fraction(lot["quantity"]), Fraction(lot["price"])) for lot in p["lots"]]
            for p in doc["open_positions"]} == open_lots
    if chart:
        assert (report.with_suffix(".png")).stat().st_size > 0 and "<html" in report.with_suffix(".html").read_text()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # the CLI path; tests/reports/test_extreme_numbers.py runs many in-process
@given(st.one_of(journal_rows(mostly_valid=True), journal_rows(mostly_valid=False)))
def test_report_date_is_exact_or_exits_5_with_file_line_and_field(tmp_path_factory, rows) -> None:
    report_and_check(tmp_path_factory.mktemp("day"), rows)


def test_the_numbers_of_issue_10_through_the_cli(tmp_path: Path) -> None:
    """21 decimal places used to exit 70; the largest and the finest numbers, with chart and HTML."""
    rows = [("a", "BUY", "1", "1.000000000000000000001", "0"),
            ("a", "SELL", "1", "2", "0." + "0" * (MAX_DECIMALS - 1) + "1"),
            ("b", "BUY", "7", "9" * MAX_INTEGER_DIGITS, "0"),
            ("b", "SELL", "3", "1" + "0" * (MAX_INTEGER_DIGITS - 1), "12.5")]
    report_and_check(tmp_path, rows, chart=True)


def test_a_400_digit_price_exits_5_naming_the_line(tmp_path: Path) -> None:
    rows = [("a", "BUY", "1", "100", "0"), ("a", "SELL", "1", "9" * 400, "0")]
    report_and_check(tmp_path, rows)
