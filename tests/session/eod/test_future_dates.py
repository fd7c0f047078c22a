"""Dates (issue 11): a DATE in the future is refused by ``report``, ``eod`` and ``--fills`` (exit 2,
"<date> is in the future; today in XNSE is <date>", today in the market's time zone); only
``YYYY-MM-DD`` is a date. Through the console script; nothing is written."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import run_tradeday, write_config
from tests.session.eod.test_eod import HEADER, JOURNAL

ZONES = {"XNSE": ZoneInfo("Asia/Kolkata"), "XNYS": ZoneInfo("America/New_York")}


def market_today(calendar: str) -> date:
    return datetime.now(ZONES[calendar]).date()


def setup(tmp_path: Path, calendar: str = "XNSE") -> Path:
    cfg = write_config(tmp_path, f"""
        market: {{calendar: {calendar}}}
        paths: {{artifacts: artifacts}}
        eod: {{fills_source: journal}}
        reports: {{chart: false}}
        """)
    (tmp_path / "home").mkdir(exist_ok=True)
    return cfg


def refused(tmp_path: Path, calendar: str, args: Callable[[date], list[str]], shown: Callable[[date], date]) -> str:
    """Run ``tradeday`` with the args for today's date; assert the refusal; return stderr.

    Computed again if the market's date changed while the command ran (midnight)."""
    for _ in range(2):
        before = market_today(calendar)
        proc = run_tradeday(args(before), cwd=tmp_path / "home", timeout=120)
        if market_today(calendar) == before:
            break
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert f"{shown(before)} is in the future; today in {calendar} is {before}" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "artifacts" / "reports").exists()
    return proc.stderr


@pytest.mark.parametrize("calendar", ["XNSE", "XNYS"])
def test_report_and_eod_refuse_a_date_in_the_future(tmp_path: Path, calendar: str) -> None:
    cfg = str(setup(tmp_path, calendar))
    tomorrow = lambda today: today + timedelta(days=1)  # noqa: E731
    refused(tmp_path, calendar, lambda t: ["report", "-c", cfg, str(tomorrow(t))], tomorrow)
    refused(tmp_path, calendar, lambda t: ["report", "-c", cfg, "2099-03-01"], lambda t: date(2099, 3, 1))
    refused(tmp_path, calendar, lambda t: ["report", "-c", cfg, "--period", "week", str(tomorrow(t))], tomorrow)
    refused(tmp_path, calendar, lambda t: ["report", "-c", cfg, "--from", str(t - timedelta(days=3)),
                                           "--to", str(tomorrow(t))], tomorrow)
    refused(tmp_path, calendar, lambda t: ["report", "-c", cfg, "--from", str(tomorrow(t))], tomorrow)
    refused(tmp_path, calendar, lambda t: ["eod", "-c", cfg, "--date", str(tomorrow(t))], tomorrow)
    refused(tmp_path, calendar, lambda t: ["eod", "-c", cfg, "--date", str(tomorrow(t)), "--json"], tomorrow)


def test_fills_for_a_day_in_the_future_are_not_imported(tmp_path: Path) -> None:
    cfg = str(setup(tmp_path))
    export = tmp_path / "export.csv"

    def with_fills_tomorrow(today: date) -> list[str]:
        export.write_text(HEADER + f"{today}T10:00:00+05:30,s,INFY,BUY,1,100,0,O1,T1\n"
                                   f"{today + timedelta(days=1)}T10:00:00+05:30,s,INFY,SELL,1,101,0,O2,T2\n")
        return ["report", "-c", cfg, "--fills", str(export), "--fills-format", "journal"]

    refused(tmp_path, "XNSE", with_fills_tomorrow, lambda t: t + timedelta(days=1))
    assert not (tmp_path / "artifacts" / "journal").exists()  # not even today's fills: all or nothing
    refused(tmp_path, "XNSE", lambda t: [*with_fills_tomorrow(t), str(t + timedelta(days=1))],
            lambda t: t + timedelta(days=1))
    assert not (tmp_path / "artifacts" / "journal").exists()


def test_today_and_the_past_are_fine(tmp_path: Path) -> None:
    cfg = str(setup(tmp_path))
    today = market_today("XNSE")
    journal = tmp_path / "artifacts" / "journal" / "2026-11-20.csv"
    journal.parent.mkdir(parents=True)
    journal.write_text(JOURNAL)
    for args in (["report", "-c", cfg, "2026-11-20"], ["report", "-c", cfg, "--from", "2026-11-19"],
                 ["eod", "-c", cfg, "--date", "2026-11-20"], ["report", "-c", cfg, str(today)]):
        proc = run_tradeday(args, cwd=tmp_path / "home", timeout=120)
        assert proc.returncode == 0, (args, proc.stderr)


@pytest.mark.parametrize("args", [
    ["report", "2026-W47"], ["report", "--period", "week", "2026-W47"], ["report", "--from", "2026-W47"],
    ["report", "--from", "2026-11-01", "--to", "2026-11"], ["report", "20261120"], ["report", "2026-11-20T10:00"],
    ["eod", "--date", "2026-W47-1"], ["report", "２０２６-１１-２０"],
])
def test_only_yyyy_mm_dd_is_a_date(tmp_path: Path, args: list[str]) -> None:
    cfg = str(setup(tmp_path))
    proc = run_tradeday([args[0], "-c", cfg, *args[1:]], cwd=tmp_path / "home", timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "is not a date; write it YYYY-MM-DD" in proc.stderr and "Traceback" not in proc.stderr


def test_the_period_labels_are_iso_weeks_and_months(tmp_path: Path) -> None:
    """--period takes week or month (the label comes from DATE), nothing else."""
    cfg = str(setup(tmp_path))
    proc = run_tradeday(["report", "-c", cfg, "--period", "2026-W47"], cwd=tmp_path / "home", timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_a_journal_dated_in_the_future_is_left_out_of_defaults_and_periods(tmp_path: Path) -> None:
    """An engine with a wrong clock wrote tomorrow's journal: `report` without DATE takes the
    latest day that happened, and a summary of this week or month leaves tomorrow out."""
    cfg = str(setup(tmp_path))
    today = market_today("XNSE")
    tomorrow = today + timedelta(days=1)
    folder = tmp_path / "artifacts" / "journal"
    folder.mkdir(parents=True)
    for d in (today, tomorrow):
        (folder / f"{d}.csv").write_text(HEADER + f"{d}T10:00:00+05:30,s,INFY,BUY,1,100,0,O1,T1\n")
    daily = tmp_path / "artifacts" / "reports" / "daily"
    proc = run_tradeday(["report", "-c", cfg], cwd=tmp_path / "home", timeout=120)
    if market_today("XNSE") != today:
        pytest.skip("the market's date changed while the test ran")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in daily.glob("*.json")) == [f"{today}.json"]
    if today.isocalendar()[:2] == tomorrow.isocalendar()[:2]:
        period = "week"
    elif today.month == tomorrow.month:
        period = "month"
    else:
        pytest.skip("today ends both its ISO week and its month")
    proc = run_tradeday(["report", "-c", cfg, "--period", period, str(today), "--json"], cwd=tmp_path / "home",
                        timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in daily.glob("*.json")) == [f"{today}.json"]
    assert [p["days"] for p in json.loads(proc.stdout)["periods"]] == [[str(today)]]
