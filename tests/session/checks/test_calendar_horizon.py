"""The calendar check near the end of the market's data (``checks.calendar_horizon``) and on
days it cannot answer: with the clock moved (time-machine, in-process), real configs, the
real calendar, and `tradeday run` sending the warning as a ``precheck_warned`` event."""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.errors import ConfigError
from session.checks import run_precheck
from session.checks.render import render_report
from session.config import load_config
from tests.conftest import REPO, write_config
from tests.fakes.http_recorder import HttpRecorder

IST = ZoneInfo("Asia/Kolkata")
DECEMBER = datetime(2026, 12, 1, 9, 0, tzinfo=IST)  # 30 days before NSE's data ends


def calendar_results(cfg: Path, when: datetime) -> dict[str, tuple[str, str, str]]:
    """The calendar check's results at ``when`` as {id: (level, message, hint)}, the clock moved."""
    config = load_config(cfg)
    with time_machine.travel(when, tick=True):
        report = run_precheck(config, "paper", only=["calendar"])
    return {r.id: (r.level.name, r.message, r.hint or "") for r in report.results}


def test_december_warns_that_next_year_is_unknown(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "market: {calendar: XNSE}\n")
    results = calendar_results(cfg, DECEMBER)
    assert "calendar.I001" in results  # today is still a normal session
    level, message, hint = results["calendar.W001"]
    assert level == "WARNING"
    assert "2027" in message and "2026-12-31" in message and "30 days" in message
    assert "tradeday calendar import" in hint and str(cfg) in hint
    config = load_config(cfg)
    with time_machine.travel(DECEMBER, tick=True):
        assert run_precheck(config, "paper", only=["calendar"]).ok  # a warning, not a failure


@pytest.mark.parametrize("checks,when,warned", [
    ("", datetime(2026, 6, 15, 9, 0, tzinfo=IST), False),           # half a year left
    ("", datetime(2026, 11, 17, 9, 0, tzinfo=IST), True),           # 44 days left: within the default 45
    ("checks: {calendar_horizon: 10}", DECEMBER, False),
    ("checks: {calendar_horizon: 10}", datetime(2026, 12, 24, 9, 0, tzinfo=IST), True),
    ("checks: {calendar_horizon: 0}", datetime(2026, 12, 31, 9, 0, tzinfo=IST), False),  # 0 turns it off
])
def test_the_horizon_is_configurable(tmp_path: Path, checks: str, when: datetime, warned: bool) -> None:
    cfg = write_config(tmp_path, f"market: {{calendar: XNSE}}\n{checks}\n")
    assert ("calendar.W001" in calendar_results(cfg, when)) is warned


def test_rule_based_calendars_never_warn(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "market: {calendar: XNYS}\n")
    assert "calendar.W001" not in calendar_results(cfg, datetime(2026, 12, 28, 9, 0, tzinfo=ZoneInfo("America/New_York")))


def test_an_imported_year_moves_the_horizon(tmp_path: Path) -> None:
    from session.calendar import import_calendar_file

    cfg = write_config(tmp_path, "market: {calendar: XNSE}\n")
    listed = tmp_path / "nse-2027.csv"
    listed.write_text("date,description\n2027-01-26,Republic Day\n2027-03-22,Holi\n", encoding="utf-8")
    import_calendar_file(load_config(cfg), listed)
    assert "calendar.W001" not in calendar_results(cfg, DECEMBER)
    level, message, _ = calendar_results(cfg, datetime(2027, 12, 1, 9, 0, tzinfo=IST))["calendar.W001"]
    assert "2028" in message and "2027-12-31" in message


def test_horizon_key_is_validated(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, "market: {calendar: XNSE}\n")).checks.calendar_horizon == 45
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, "checks: {calendar_horizon: -3}\n", name="bad.yaml"))
    assert "checks.calendar_horizon" in str(err.value)


# --- days the calendar cannot answer -------------------------------------------------------------

def test_an_announced_session_without_times_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, "market: {calendar: XNSE}\n")
    config = load_config(cfg)
    report = run_precheck(config, "paper", only=["calendar"], now=datetime(2026, 11, 8, 9, 0, tzinfo=IST))
    result = next(r for r in report.results if r.id == "calendar.E001")
    assert "no holiday data" not in result.message
    assert "announced without published times (Muhurat Trading 2026-11-08)" in result.message
    assert "market.special_sessions" in (result.hint or "") and "tradeday calendar import" in (result.hint or "")
    render_report(report, as_json=False)
    shown = capsys.readouterr().out
    assert "no holiday data" not in shown and "Muhurat Trading" in shown


def test_a_year_without_data_names_the_year_and_the_data_fix(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "market: {calendar: XNSE}\n"))
    report = run_precheck(config, "paper", only=["calendar"], now=datetime(2027, 1, 4, 9, 0, tzinfo=IST))
    result = next(r for r in report.results if r.id == "calendar.E001")
    assert "no holiday data for 2027" in result.message
    assert "tradeday calendar import" in (result.hint or "")
    assert "upgrade pandas_market_calendars" not in (result.hint or "")
    assert "calendar.W001" not in [r.id for r in report.results]  # the error already says it


# --- run --------------------------------------------------------------------------------------

RUN_IN_DECEMBER = """
import sys, datetime as dt, time_machine
from cli.main import main
# A Saturday in December, IST morning: the precheck warns, then there is no session to run.
with time_machine.travel(dt.datetime(2026, 12, 5, 3, 30, tzinfo=dt.UTC), tick=True):
    main(["run", "-c", sys.argv[1]])
"""


def test_run_sends_the_horizon_warning_as_precheck_warned(tmp_path: Path) -> None:
    with HttpRecorder() as hook:
        cfg = write_config(tmp_path, f"""
            market: {{calendar: XNSE}}
            engines: [{{name: e, command: ["{sys.executable}", "-c", "pass"]}}]
            checks: {{min_free_disk: 1MiB}}
            eod: {{enabled: false}}
            notifications:
              enabled: true
              channels:
                - {{type: webhook, url: "{hook.url}/hook"}}
            """)
        proc = subprocess.run([sys.executable, "-c", RUN_IN_DECEMBER, str(cfg)], capture_output=True, text=True,
                              cwd=REPO, timeout=120)
        assert proc.returncode == 0, proc.stderr
        bodies = [req.json() for req in hook.wait_for(1, timeout=10)]
    warned = [b for b in bodies if b["event"] == "precheck_warned"]
    assert warned, [b["event"] for b in bodies]
    assert "calendar.W001" in warned[0]["message"] and "2027" in warned[0]["message"]
    assert datetime(2026, 12, 5, tzinfo=UTC).date().isoformat() in warned[0]["title"]
