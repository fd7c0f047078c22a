"""`tradeday run` through the real path: the console script, real engine processes and signals,
real files, a real HTTP server for notifications."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil

from session.calendar import SessionDay
from session.day import plan_window
from tests.conftest import ENGINES, REPO, assert_no_secrets, popen_tradeday, read_tree, run_tradeday, write_config
from tests.fakes.http_recorder import HttpRecorder, Reply

PY = sys.executable
NY = ZoneInfo("America/New_York")
HOOK_SECRET = "hooksecretXq83Lm"


def config_text(engines: str, *, extra: str = "", calendar: str = "XNYS") -> str:
    return f"""
        mode: paper
        market: {{calendar: {calendar}}}
        session: {{allowed_window: "00:00-23:59", heartbeat_interval: 1s}}
        engines:
        {engines}
        checks: {{min_free_disk: 1MiB}}
        eod: {{enabled: false}}
        {extra}
        """


def sample_engine(name: str = "demo", **fields: str) -> str:
    more = "".join(f", {k}: {v}" for k, v in fields.items())
    return (f'  - {{name: {name}, command: ["{PY}", "{REPO}/examples/sample_engine.py", "--tick", "0.05",'
            f' "--seed", "7"], start_secs: 0.3s, stop_timeout: 5s{more}}}')


def start_run(cfg: Path, *args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
    return popen_tradeday(["run", "-c", str(cfg), *args], cwd=cwd, env=env)


def market_today(tz: ZoneInfo = NY) -> date:
    return datetime.now(tz).date()


def state_of(tmp_path: Path, day: date | None = None) -> dict:
    day = day or market_today()
    return json.loads((tmp_path / "artifacts" / "state" / f"{day}.json").read_text())


def wait_for(predicate, timeout: float = 10.0, step: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return False


def engine_pids(state: dict) -> list[int]:
    return [e["pid"] for e in state.get("engines", []) if e.get("pid")]


def wait_for_state(tmp_path: Path, *, day: date | None = None, phase: str | None = None,
                   with_engines: bool = False, timeout: float = 10.0) -> bool:
    """Wait until the run's state file exists (written atomically) and shows ``phase`` and,
    if asked, a running engine's pid."""
    path = tmp_path / "artifacts" / "state" / f"{day or market_today()}.json"

    def ready() -> bool:
        if not path.exists():
            return False
        state = json.loads(path.read_text())
        return (phase is None or state["phase"] == phase) and (not with_engines or bool(engine_pids(state)))

    return wait_for(ready, timeout=timeout)


# --- the whole day, quickly --------------------------------------------------------------------

def test_start_now_duration_runs_whole_session(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, config_text(sample_engine()))
    t0 = time.monotonic()
    proc = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "2s"], cwd=cli_home)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 45  # a 2 s session, then the end of day (generous: a busy machine)
    day = market_today()
    state = state_of(tmp_path, day)
    assert state["phase"] == "DONE" and state["exit_code"] == 0
    assert [h["phase"] for h in state["history"]][:2] == ["TRADING", "STOPPING"]
    assert state["engines"][0]["name"] == "demo"
    logs = tmp_path / "artifacts" / "logs" / str(day)
    engine_log = (logs / "demo.log").read_text()
    assert "tick" in engine_log and "flat" in engine_log  # flattened on SIGTERM at the scheduled stop
    run_log = (logs / "tradeday.log").read_text()
    assert "session started" in run_log and "stopping engines: scheduled stop" in run_log
    assert "heartbeat phase=TRADING demo=RUNNING" in run_log
    journal = (tmp_path / "artifacts" / "journal" / f"{day}.csv").read_text().splitlines()
    assert journal[0] == "time,strategy,symbol,side,quantity,price,fees,order_id,trade_id"
    assert len(journal) > 1
    assert "[demo]" in proc.stdout  # engine output on the console, prefixed
    assert "--start-now" in proc.stderr  # the warning that the calendar was skipped


def test_quiet_keeps_engine_lines_off_the_console(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, config_text(sample_engine()))
    proc = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "1s", "--quiet"], cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    assert "[demo]" not in proc.stdout and "tick" not in proc.stdout
    log = (tmp_path / "artifacts" / "logs" / str(market_today()) / "demo.log").read_text()
    assert "tick" in log


def test_crash_loop_gives_up_and_exits_4(tmp_path: Path, cli_home: Path) -> None:
    engine = (f'  - {{name: crasher, command: ["{PY}", "{ENGINES}/crash.py", "3"], start_secs: 0.2s,'
              f' max_restarts: 2, backoff: {{initial: 0.1s, factor: 2, jitter: 0}}}}')
    cfg = write_config(tmp_path, config_text(engine))
    t0 = time.monotonic()
    proc = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "120s"], cwd=cli_home, timeout=150)
    assert proc.returncode == 4, proc.stderr
    assert time.monotonic() - t0 < 60  # every engine finished: the session moved on at once, not at 120 s
    eng = state_of(tmp_path)["engines"][0]
    assert eng["state"] == "FATAL" and eng["restarts"] == 2
    assert proc.stdout.count("crash restarts=") == 3


def test_exit_78_is_fatal_without_restart(tmp_path: Path, cli_home: Path) -> None:
    engine = f'  - {{name: misconfigured, command: ["{PY}", "{ENGINES}/crash.py", "78"], start_secs: 0.2s}}'
    cfg = write_config(tmp_path, config_text(engine))
    proc = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "20s"], cwd=cli_home)
    assert proc.returncode == 4
    eng = state_of(tmp_path)["engines"][0]
    assert eng["state"] == "FATAL" and eng["restarts"] == 0


# --- signals ----------------------------------------------------------------------------------

def test_sigterm_mid_session_stops_engines_and_exits_143(tmp_path: Path, cli_home: Path) -> None:
    engine = f'  - {{name: family, command: ["{PY}", "{ENGINES}/family.py"], start_secs: 0.2s, stop_timeout: 2s}}'
    cfg = write_config(tmp_path, config_text(engine))
    proc = start_run(cfg, "--start-now", "--duration", "60s", cwd=cli_home)
    engine_log = tmp_path / "artifacts" / "logs" / str(market_today()) / "family.log"
    try:
        assert wait_for_state(tmp_path, phase="TRADING", with_engines=True)
        # The engine is set up, its SIGTERM handler included, once it says so.
        assert wait_for(lambda: engine_log.exists() and "family ready" in engine_log.read_text())
        leader = engine_pids(state_of(tmp_path))[0]
        family = [leader] + [c.pid for c in psutil.Process(leader).children(recursive=True)]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    gone = [p for p in family if not psutil.pid_exists(p) or psutil.Process(p).status() == psutil.STATUS_ZOMBIE]
    assert sorted(gone) == sorted(family)
    state = state_of(tmp_path)
    assert state["phase"] == "DONE" and state["exit_code"] == 143


def test_sigkill_to_tradeday_takes_the_engine_down(tmp_path: Path, cli_home: Path) -> None:
    engine = f'  - {{name: sleeper, command: ["{PY}", "{ENGINES}/sleeper.py"], start_secs: 0.2s}}'
    cfg = write_config(tmp_path, config_text(engine))
    proc = start_run(cfg, "--start-now", "--duration", "60s", cwd=cli_home)
    try:
        assert wait_for_state(tmp_path, with_engines=True)
        pid = engine_pids(state_of(tmp_path))[0]
        assert psutil.pid_exists(pid)
        proc.kill()
        proc.wait(timeout=5)

        def gone() -> bool:
            return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE

        assert wait_for(gone, timeout=5.0), "engine survived its orchestrator"
    finally:
        if proc.poll() is None:
            proc.kill()
    status = run_tradeday(["status", "-c", str(cfg), "--json"], cwd=cli_home)
    data = json.loads(status.stdout)
    assert data["stale"] is True and data["alive"] is False


def test_second_concurrent_run_exits_6(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, config_text(sample_engine()))
    first = start_run(cfg, "--start-now", "--duration", "30s", cwd=cli_home)
    try:
        assert wait_for_state(tmp_path)
        second = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "1s"], cwd=cli_home)
        assert second.returncode == 6
        assert f"pid {first.pid}" in second.stderr and "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=20)
    assert first.returncode == 130


def zone_with_hours_left(low: int, high: int) -> ZoneInfo:
    """A timezone whose local hour is in [low, high) right now, so a test can place a special
    session later (or earlier) today whatever time CI runs."""
    for name in ("America/New_York", "Europe/London", "Asia/Kolkata", "Pacific/Kiritimati",
                 "Pacific/Pago_Pago", "Asia/Tokyo", "America/Los_Angeles", "Pacific/Auckland"):
        if low <= datetime.now(ZoneInfo(name)).hour < high:
            return ZoneInfo(name)
    raise AssertionError("no timezone fits")  # cannot happen: 8 zones cover the day


def test_waiting_for_the_open_is_interrupted_cleanly(tmp_path: Path, cli_home: Path) -> None:
    tz = zone_with_hours_left(1, 20)
    now = datetime.now(tz)
    today = now.date()
    opens = (now + timedelta(hours=2)).strftime("%H:%M")
    closes = (now + timedelta(hours=2, minutes=30)).strftime("%H:%M")
    special = f'{{{today}: {{open: "{opens}", close: "{closes}", name: Test session}}}}'
    cfg = write_config(tmp_path, config_text(sample_engine()).replace(
        "market: {calendar: XNYS}", f"market: {{calendar: XNYS, timezone: {tz.key}, special_sessions: {special}}}"))
    proc = start_run(cfg, cwd=cli_home)
    try:
        assert wait_for_state(tmp_path, day=today, phase="WAITING")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    state = state_of(tmp_path, today)
    assert state["engines"] == [] and state["message"] == "interrupted while waiting"


ENV_ENGINE = '''
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("close=" + os.environ.get("TRADEDAY_SESSION_CLOSE", "unset"), "open=" + os.environ["TRADEDAY_SESSION_OPEN"],
      flush=True)
while True:
    time.sleep(0.1)
'''


def test_start_now_on_a_day_without_a_session_runs_until_stopped(tmp_path: Path, cli_home: Path) -> None:
    """No session today and no --duration: there is no close to give the engine (this was an
    internal error, exit 70); it runs until a signal."""
    script = tmp_path / "env_engine.py"
    script.write_text(ENV_ENGINE)
    today = market_today()
    engine = f'  - {{name: envy, command: ["{PY}", "{script}"], start_secs: 0.2s}}'
    cfg = write_config(tmp_path, config_text(engine).replace(
        "market: {calendar: XNYS}", f"market: {{calendar: XNYS, extra_holidays: {{{today}: Founders Day}}}}"))
    proc = start_run(cfg, "--start-now", cwd=cli_home)
    log = tmp_path / "artifacts" / "logs" / str(today) / "envy.log"
    try:
        assert wait_for(lambda: proc.poll() is not None or (log.exists() and "close=" in log.read_text()), timeout=20)
        assert proc.poll() is None, proc.communicate()[1]  # still running: the engine got its environment
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert "close=unset open=" in log.read_text()


# --- the calendar decides ----------------------------------------------------------------------

def test_no_session_today_says_why_and_exits_0(tmp_path: Path, cli_home: Path) -> None:
    today = market_today()
    text = config_text(sample_engine()).replace(
        "market: {calendar: XNYS}", f"market: {{calendar: XNYS, extra_holidays: {{{today}: Founders Day}}}}")
    cfg = write_config(tmp_path, text)
    proc = run_tradeday(["run", "-c", str(cfg)], cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    assert f"no session today ({today}, holiday: Founders Day)" in proc.stderr
    assert state_of(tmp_path, today)["engines"] == []


def test_after_the_close_says_so_and_exits_0(tmp_path: Path, cli_home: Path) -> None:
    tz = zone_with_hours_left(2, 23)
    today = datetime.now(tz).date()
    text = config_text(sample_engine()).replace(
        "market: {calendar: XNYS}",
        f'market: {{calendar: XNYS, timezone: {tz.key}, special_sessions: {{{today}: '
        f'{{open: "00:00", close: "00:30", name: Early}}}}}}')
    cfg = write_config(tmp_path, text)
    proc = run_tradeday(["run", "-c", str(cfg)], cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    assert "session is over" in proc.stderr


def test_plan_window_honours_early_close_and_late_starts() -> None:
    day = SessionDay(date=date(2026, 11, 27), calendar="XNYS", timezone="America/New_York", known=True,
                     is_trading_day=True, open=datetime(2026, 11, 27, 9, 30, tzinfo=NY),
                     close=datetime(2026, 11, 27, 13, 0, tzinfo=NY), early_close=True, holiday=None,
                     special_session=None)
    early = datetime(2026, 11, 27, 8, 0, tzinfo=NY)
    w = plan_window(day, early, start_before_open=600, stop_after_close=120, start_now=False, duration=None)
    assert w is not None
    assert w.start_at == datetime(2026, 11, 27, 9, 20, tzinfo=NY)
    assert w.stop_at == datetime(2026, 11, 27, 13, 2, tzinfo=NY)  # the early close, not 16:00
    late = datetime(2026, 11, 27, 11, 0, tzinfo=NY)  # a reboot mid-session: start at once
    assert plan_window(day, late, start_before_open=600, stop_after_close=120, start_now=False,
                       duration=None).start_at == late
    after = datetime(2026, 11, 27, 13, 5, tzinfo=NY)
    assert plan_window(day, after, start_before_open=600, stop_after_close=120, start_now=False,
                       duration=None) is None
    demo = plan_window(day, after, start_before_open=600, stop_after_close=0, start_now=True, duration=20)
    assert demo is not None and demo.stop_at == after + timedelta(seconds=20)


# --- the live guard and dry run -----------------------------------------------------------------

def test_live_guard_refusals(tmp_path: Path, cli_home: Path) -> None:
    paper = write_config(tmp_path, config_text(sample_engine()))
    r = run_tradeday(["run", "-c", str(paper), "--mode", "live", "--confirm-live", "--start-now"], cwd=cli_home)
    assert r.returncode == 2 and "paper config never goes live" in r.stderr
    live = write_config(tmp_path, config_text(sample_engine()).replace("mode: paper", "mode: live"), name="live.yaml")
    r = run_tradeday(["run", "-c", str(live), "--start-now"], cwd=cli_home)
    assert r.returncode == 2 and "says mode: live" in r.stderr
    r = run_tradeday(["run", "-c", str(live), "--mode", "live", "--start-now"], cwd=cli_home)
    assert r.returncode == 2 and "--confirm-live" in r.stderr
    assert not (tmp_path / "artifacts" / "journal").exists()  # nothing started
    assert "Traceback" not in r.stderr


def test_dry_run_prints_the_precheck_report(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, config_text(sample_engine()))
    r = run_tradeday(["run", "-c", str(cfg), "--dry-run", "--json"], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["ok"] is True and {c["check"] for c in data["checks"]} >= {"calendar", "engines", "lock"}
    assert not (tmp_path / "artifacts" / "journal" / f"{market_today()}.csv").exists()
    broken = write_config(tmp_path, config_text(
        '  - {name: x, command: ["no-such-engine-binary"]}'), name="broken.yaml")
    r = run_tradeday(["run", "-c", str(broken), "--start-now", "--duration", "1s"], cwd=cli_home)
    assert r.returncode == 1 and "engines.E001" in r.stderr and "engines not started" in r.stderr


# --- notifications from the run and from the engine ----------------------------------------------

PROTOCOL_ENGINE = '''
import json, sys, time, signal
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("starting", flush=True)
print("@tradeday " + json.dumps({"event": "fill", "level": "INFO", "title": "filled 10 AAPL",
      "message": "BUY 10 AAPL @ 190.10", "symbol": "AAPL"}), flush=True)
print("plain line after", flush=True)
while True:
    time.sleep(0.1)
'''


def test_engine_line_protocol_and_run_events_reach_a_webhook(tmp_path: Path, cli_home: Path) -> None:
    script = tmp_path / "protocol_engine.py"
    script.write_text(PROTOCOL_ENGINE)
    with HttpRecorder() as hook:
        engine = f'  - {{name: proto, command: ["{PY}", "{script}"], start_secs: 0.2s}}'
        extra = f"""notifications:
          enabled: true
          dedup_window: 0s
          channels:
            - {{type: webhook, url: "{hook.url}/hook/${{HOOK_TOKEN}}"}}"""
        cfg = write_config(tmp_path, config_text(engine, extra=extra))
        r = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "1.5s"], cwd=cli_home,
                         env={"HOOK_TOKEN": HOOK_SECRET})
        assert r.returncode == 0, r.stderr
        bodies = [req.json() for req in hook.wait_for(3, timeout=5)]
    events = [b["event"] for b in bodies]
    assert "fill" in events and "session_started" in events and "session_closed" in events
    fill = next(b for b in bodies if b["event"] == "fill")
    assert "filled 10 AAPL" in fill["title"] and "proto" in fill["title"] and fill["fields"]["symbol"] == "AAPL"
    log = (tmp_path / "artifacts" / "logs" / str(market_today()) / "proto.log").read_text()
    assert "plain line after" in log and "@tradeday" not in log  # consumed, not echoed
    assert "@tradeday" not in r.stdout
    assert_no_secrets([r.stdout, r.stderr, *read_tree(tmp_path / "artifacts")], [HOOK_SECRET])


def test_hanging_notification_channel_does_not_delay_supervision(tmp_path: Path, cli_home: Path) -> None:
    with HttpRecorder(default=Reply.hanging(30)) as hook:
        extra = f"""notifications:
          enabled: true
          flush_timeout: 1s
          timeout: 5s
          channels:
            - {{type: webhook, url: "{hook.url}/hook"}}"""
        cfg = write_config(tmp_path, config_text(sample_engine(), extra=extra))
        t0 = time.monotonic()
        r = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "2s"], cwd=cli_home)
        elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    state = state_of(tmp_path)
    stamps = {h["phase"]: datetime.fromisoformat(h["at"]) for h in state["history"]}
    # the session lasted its 2 s: the hanging channel neither delayed the start nor the stop
    assert abs((stamps["STOPPING"] - stamps["TRADING"]).total_seconds() - 2.0) < 2.0  # not the 30 s hang
    assert elapsed < 25  # 2 s + the 1 s flush_timeout + start-up and stop, well short of the 30 s hang
    outbox = tmp_path / "artifacts" / "notifications" / "outbox.jsonl"
    assert wait_for(outbox.exists, timeout=1)  # undelivered messages are kept, not lost


# --- hot reload ---------------------------------------------------------------------------------

def rewrite(path: Path, text: str) -> None:
    """Replace the file's text with a newer mtime than it had, whatever the filesystem's
    timestamp granularity: tradeday notices a config change by its mtime."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    if path.stat().st_mtime_ns <= before:
        later = before + 10_000_000  # 10 ms
        os.utime(path, ns=(later, later))


def test_hot_reload_applies_safe_keys_and_rejects_invalid(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, config_text(sample_engine()))
    proc = start_run(cfg, "--start-now", "--duration", "6s", cwd=cli_home)
    try:
        assert wait_for_state(tmp_path, phase="TRADING")
        text = cfg.read_text()
        rewrite(cfg, text.replace("start_secs: 0.3s", "start_secs: 0.3s, max_restarts: 9"))
        log = tmp_path / "artifacts" / "logs" / str(market_today()) / "tradeday.log"
        assert wait_for(lambda: "config reloaded" in log.read_text(), timeout=5)
        rewrite(cfg, text.replace("mode: paper", "mode: paper\nsession: [broken"))
        assert wait_for(lambda: "config change rejected" in log.read_text(), timeout=5)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "applied engines[demo].max_restarts" in log.read_text()


def test_status_reports_a_finished_run(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, config_text(sample_engine()))
    assert run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "1s"], cwd=cli_home).returncode == 0
    r = run_tradeday(["status", "-c", str(cfg), "--json"], cwd=cli_home)
    data = json.loads(r.stdout)
    assert data["state"]["phase"] == "DONE" and data["stale"] is False and data["alive"] is False
    table = run_tradeday(["status", "-c", str(cfg)], cwd=cli_home)
    assert "phase DONE" in table.stdout and "demo" in table.stdout
    none = run_tradeday(["status", "-c", str(cfg), "--date", "2020-01-02"], cwd=cli_home)
    assert none.returncode == 0 and "no run recorded" in none.stdout


def test_forever_sleeps_until_the_next_session_and_stops_cleanly(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, config_text(sample_engine()))
    proc = start_run(cfg, "--forever", "--start-now", "--duration", "1s", cwd=cli_home)
    log = tmp_path / "artifacts" / "logs" / str(market_today()) / "tradeday.log"
    try:
        assert wait_for(lambda: log.exists() and "--forever: next session opens" in log.read_text(), timeout=20)
        # --start-now applied to the first session only: the next one follows the calendar
        line = next(ln for ln in log.read_text().splitlines() if "next session opens" in ln)
        next_open = datetime.fromisoformat(line.split("opens ")[1].split(";")[0])
        assert next_open > datetime.now(NY) and next_open.astimezone(NY).strftime("%H:%M") in ("09:30", "13:00")
        # The log line comes first; the state file says it once the sleep has begun.
        assert wait_for(lambda: "sleeping until" in state_of(tmp_path).get("message", ""), timeout=20)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert "Traceback" not in err
