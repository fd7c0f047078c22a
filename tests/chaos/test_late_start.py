"""A run that starts its engines well after ``open - start_before_open`` (cron firing in the
wrong timezone, a late reboot) says so: a WARNING on stderr with how late, and a ``late_start``
notification. libfaketime puts tradeday at 10:45 New York time on a session day."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.chaos.dayrun import FAKETIME_LIB, config_text, finish, needs_faketime, sample_engine, start, write
from tests.fakes.http_recorder import HttpRecorder

pytestmark = needs_faketime

SESSION_DAY = date(2026, 11, 20)  # a Friday; XNYS 09:30-16:00 New York (14:30-21:00 UTC)


def fake_clock(at_utc: str) -> dict[str, str]:
    return {"LD_PRELOAD": str(FAKETIME_LIB), "FAKETIME": f"@{at_utc}", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "TZ": "UTC"}


def run_at(tmp_path: Path, cli_home: Path, at_utc: str, hook: HttpRecorder) -> tuple[int, str, list[dict]]:
    extra = f"""\
        notifications:
          enabled: true
          dedup_window: 0s
          channels:
            - {{type: webhook, url: "{hook.url}/hook"}}
        """
    cfg = write(tmp_path, config_text(sample_engine(env='{LD_PRELOAD: ""}'), extra=extra,
                                      session_extra=", start_before_open: 5m"))
    proc = start(["run", "-c", str(cfg), "--duration", "2s"], cwd=cli_home, env=fake_clock(at_utc))
    out, err = finish(proc, timeout=60)
    assert hook.wait_for(2, timeout=10)  # session_started, session_closed at least
    return proc.returncode, err, [r.json() for r in hook.requests]


def test_a_late_start_warns_and_notifies(tmp_path: Path, cli_home: Path) -> None:
    with HttpRecorder() as hook:
        code, err, bodies = run_at(tmp_path, cli_home, f"{SESSION_DAY} 15:45:00", hook)
    assert code == 0, err
    # planned start 09:25 New York; started 10:45: 80 minutes late
    assert "WARNING" in err and "late" in err and "1h20m" in err, err
    assert "timezone" in err  # why it matters / what to check
    late = [b for b in bodies if b["event"] == "late_start"]
    assert len(late) == 1 and late[0]["level"] == "warning", bodies
    assert "1h20m" in late[0]["title"] + late[0]["message"]


def test_a_start_within_the_minute_is_quiet(tmp_path: Path, cli_home: Path) -> None:
    with HttpRecorder() as hook:
        # 30 s after the planned start (09:25:30 New York): on time, give or take cron
        code, err, bodies = run_at(tmp_path, cli_home, f"{SESSION_DAY} 14:25:30", hook)
    assert code == 0, err
    assert "late" not in err
    assert not [b for b in bodies if b["event"] == "late_start"]
