"""Commands through the console script: calendar, notify test, precheck --notify-test, and the
dead-man's switch pings of a run."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import assert_no_secrets, run_tradeday, write_config
from tests.fakes.http_recorder import HttpRecorder, Reply

TOKEN = "webhooktokenQ7r2Zx"


def test_calendar_json_for_a_day_and_a_range(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, "market: {calendar: XNYS}\n")
    r = run_tradeday(["calendar", "-c", str(cfg), "--date", "2026-11-27", "--json"], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "date": "2026-11-27", "calendar": "XNYS", "timezone": "America/New_York", "known": True,
        "is_trading_day": True, "open": "2026-11-27T09:30:00-05:00", "close": "2026-11-27T13:00:00-05:00",
        "early_close": True, "holiday": None, "special_session": None,
    }
    r = run_tradeday(["calendar", "-c", str(cfg), "--from", "2026-11-25", "--to", "2026-11-29"], cwd=cli_home)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert any("2026-11-26" in ln and "Thanksgiving" in ln for ln in lines)
    assert any("2026-11-27" in ln and "early close" in ln and "13:00" in ln for ln in lines)
    nse = write_config(tmp_path, "market: {calendar: XNSE}\n", name="nse.yaml")
    r = run_tradeday(["calendar", "-c", str(nse), "--from", "2027-03-01", "--to", "2027-03-02", "--json"],
                     cwd=cli_home)
    assert [d["known"] for d in json.loads(r.stdout)] == [False, False]
    bad = run_tradeday(["calendar", "-c", str(cfg), "--date", "27/11/2026"], cwd=cli_home)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr


def notify_config(tmp_path: Path, url: str) -> Path:
    return write_config(tmp_path, f"""
        engines: [{{name: e, command: ["{sys.executable}", "-c", "pass"]}}]
        notifications:
          enabled: true
          channels:
            - {{type: webhook, name: ops, url: "{url}/hook/${{HOOK_TOKEN}}"}}
        """)


def test_notify_test_command(tmp_path: Path, cli_home: Path) -> None:
    with HttpRecorder() as hook:
        cfg = notify_config(tmp_path, hook.url)
        ok = run_tradeday(["notify", "test", "-c", str(cfg), "--json"], cwd=cli_home, env={"HOOK_TOKEN": TOKEN})
        assert ok.returncode == 0, ok.stderr
        body = hook.wait_for(1)[0].json()
        assert body["event"] == "test" and body["level"] == "info"  # docs/NOTIFICATIONS.md: lowercase
        assert hook.requests[0].path == f"/hook/{TOKEN}"
        hook.default = Reply.error(403)
        failed = run_tradeday(["notify", "test", "-c", str(cfg)], cwd=cli_home, env={"HOOK_TOKEN": TOKEN})
        assert failed.returncode == 1 and "ops" in failed.stdout
        unknown = run_tradeday(["notify", "test", "-c", str(cfg), "--channel", "nope"], cwd=cli_home,
                               env={"HOOK_TOKEN": TOKEN})
        assert unknown.returncode == 2
    assert_no_secrets([ok.stdout, ok.stderr, failed.stdout, failed.stderr, unknown.stdout, unknown.stderr], [TOKEN])


def test_precheck_notify_test(tmp_path: Path, cli_home: Path) -> None:
    with HttpRecorder() as hook:
        cfg = notify_config(tmp_path, hook.url)
        r = run_tradeday(["precheck", "-c", str(cfg), "--only", "notifications", "--notify-test", "--json"],
                         cwd=cli_home, env={"HOOK_TOKEN": TOKEN})
        assert r.returncode == 0, r.stdout
        assert [c["id"] for c in json.loads(r.stdout)["checks"]] == ["notifications.I003"]
        assert hook.wait_for(1)[0].json()["event"] == "test"
        hook.default = Reply.error(500)
        r = run_tradeday(["precheck", "-c", str(cfg), "--only", "notifications", "--notify-test", "--json"],
                         cwd=cli_home, env={"HOOK_TOKEN": TOKEN})
    assert r.returncode == 1
    assert "notifications.E001" in [c["id"] for c in json.loads(r.stdout)["checks"]]
    assert_no_secrets([r.stdout, r.stderr], [TOKEN])


def test_run_pings_the_healthcheck_url(tmp_path: Path, cli_home: Path) -> None:
    with HttpRecorder() as hc:
        cfg = write_config(tmp_path, f"""
            session: {{allowed_window: "00:00-23:59"}}
            engines: [{{name: e, command: ["{sys.executable}", "-c", "import time; time.sleep(30)"], start_secs: 0.2s}}]
            eod: {{enabled: false}}
            checks: {{min_free_disk: 1MiB}}
            notifications:
              enabled: true
              healthcheck_url: "{hc.url}/ping/abc123"
            """)
        r = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "1s"], cwd=cli_home)
        assert r.returncode == 0, r.stderr
        paths = [req.path for req in hc.wait_for(2)]
        broken = write_config(tmp_path, f"""
            engines: [{{name: e, command: ["no-such-engine-binary"]}}]
            notifications: {{enabled: true, healthcheck_url: "{hc.url}/ping/abc123"}}
            """, name="broken.yaml")
        r2 = run_tradeday(["run", "-c", str(broken), "--start-now", "--duration", "1s"], cwd=cli_home)
        assert r2.returncode == 1
        later = [req.path for req in hc.wait_for(4)]
    assert paths == ["/ping/abc123/start", "/ping/abc123"]
    assert later[2:] == ["/ping/abc123/start", "/ping/abc123/fail"]
