"""The operator's live day against a real `tradeday run`: `status --json` with the PnL of the
journal so far, the loss limit (session.max_daily_loss), and `tradeday engine stop|start|restart`
over the run's control socket (state, events, process groups, the socket's owner-only access)."""
from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import psutil

from reports.journal import read_journal
from reports.pnl import compute_day
from tests.chaos.dayrun import (
    config_text,
    finish,
    gone,
    log_of,
    market_today,
    running,
    script_engine,
    start,
    state_of,
    state_path,
    wait_for,
    wait_for_line,
    wait_for_phase,
    write,
)
from tests.conftest import ENGINES, run_tradeday
from tests.fakes.http_recorder import HttpRecorder

FILLER = ENGINES / "filler.py"
SLEEPER = ENGINES / "sleeper.py"
NOBODY = 65534


def _hook(url: str) -> str:
    return f"""\
        notifications:
          enabled: true
          dedup_window: 0s
          channels:
            - {{type: webhook, url: "{url}/hook"}}
        """


def _engine(state: dict, name: str) -> dict:
    return next(e for e in state["engines"] if e["name"] == name)


def _status(cfg: Path, cwd: Path) -> dict:
    done = run_tradeday(["status", "-c", str(cfg), "--json"], cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_status_json_mid_run_has_the_journals_pnl(tmp_path: Path, cli_home: Path) -> None:
    """Mid-run, `status --json` carries phase, engine start/stop times, each engine (pid, uptime,
    last output line) and the PnL of the journal so far, equal to what compute_day makes of it
    (partial fills, a flip through zero, shorts left open). `--watch` without a terminal prints
    a snapshot per refresh and Ctrl+C ends it with exit 0."""
    cfg = write(tmp_path, config_text(script_engine("fills", FILLER, restart="never")))
    with running(["run", "-c", str(cfg), "--start-now", "--duration", "60s"], cwd=cli_home) as proc:
        wait_for_line(log_of(tmp_path, "fills"), "filler paused 15", proc=proc)
        status = _status(cfg, cli_home)
        deadline = time.monotonic() + 30
        # The engine is STARTING for its start_secs (0.2 s) and the filler can print all 15
        # fills sooner: wait for the state, not for a time.
        while _engine(status, "fills")["state"] == "STARTING" and time.monotonic() < deadline:
            time.sleep(0.05)
            status = _status(cfg, cli_home)
        journal = tmp_path / "artifacts" / "journal" / f"{market_today()}.csv"
        report = compute_day(read_journal(journal).fills, currency="USD")
        pnl = status["pnl"]
        assert (pnl["realized_pnl"], Decimal(pnl["realized_pnl_exact"]), pnl["trades"], pnl["open_positions"],
                pnl["fills"]) == (report.summary["realized_pnl"], report.exact.realized_pnl,
                                  report.summary["trades"], report.summary["open_positions"], 15)
        assert pnl["currency"] == "USD" and pnl["open_positions"] == 3 and pnl["trades"] == 6
        assert status["phase"] == "TRADING" and status["alive"] is True
        assert status["engines_start"] and status["engines_stop"]
        engine = _engine(status, "fills")
        assert engine["state"] == "RUNNING" and psutil.pid_exists(engine["pid"])
        assert engine["uptime_s"] > 0 and engine["last_line"].endswith("filler paused 15")

        watch = subprocess.Popen([str(Path(os.sys.executable).parent / "tradeday"), "status", "-c", str(cfg),
                                  "--watch"], cwd=cli_home, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        try:
            seen = []
            while len(seen) < 2:
                line = watch.stdout.readline()
                assert line, watch.stderr.read()
                if line.startswith("pnl: realized"):
                    seen.append(line)
            watch.send_signal(signal.SIGINT)
            _, err = watch.communicate(timeout=20)
            assert watch.returncode == 0, err
        finally:
            if watch.poll() is None:
                watch.kill()
        assert seen[0] == seen[1] and f"{pnl['realized_pnl']:.2f} USD" in seen[0]
        proc.send_signal(signal.SIGTERM)
        finish(proc)


def test_loss_limit_stops_every_engine_for_the_day(tmp_path: Path, cli_home: Path) -> None:
    """A journal whose fills cross max_daily_loss mid-session: a CRITICAL loss_limit event, every
    engine stopped gracefully (the filler flattens on SIGTERM) and not restarted although its
    policy is `always`, state STOPPED "loss limit", then the end of day writes the report."""
    with HttpRecorder() as hook:
        engines = "\n".join([script_engine("loser", FILLER, restart="always") .replace(
            f'"{FILLER}"]', f'"{FILLER}", "--losing", "--interval", "0.3"]'),
            script_engine("idle", SLEEPER, restart="always")])
        cfg = write(tmp_path, config_text(engines, extra=_hook(hook.url), eod="eod: {enabled: true}",
                                          session_extra=", max_daily_loss: 150"))
        proc = start(["run", "-c", str(cfg), "--start-now", "--duration", "90s"], cwd=cli_home)
        out, err = finish(proc, timeout=80)
        assert proc.returncode == 0, err
        assert wait_for(lambda: any(r.json()["event"] == "loss_limit" for r in hook.requests), timeout=10)
        bodies = [r.json() for r in hook.requests]
    state = state_of(tmp_path)
    assert state["phase"] == "DONE" and state["message"] == "stopping: loss limit"
    assert float(state["loss_limit"]["realized_pnl"]) <= -150 and state["loss_limit"]["limit"] == "150"
    for name in ("loser", "idle"):
        engine = _engine(state, name)
        assert (engine["state"], engine["reason"], engine["starts"], engine["restarts"]) == (
            "STOPPED", "loss limit", 1, 0), engine
    loss = [b for b in bodies if b["event"] == "loss_limit"]
    assert len(loss) == 1 and loss[0]["level"] == "critical", bodies
    journal = tmp_path / "artifacts" / "journal" / f"{market_today()}.csv"
    assert journal.read_text().splitlines()[-1].split(",")[5] == "94"  # the flattening fill of its stop
    report = json.loads((tmp_path / "artifacts" / "reports" / "daily" / f"{market_today()}.json").read_text())
    assert report["summary"]["realized_pnl"] <= -150 and report["summary"]["open_positions"] == 0
    # Stopped well before the 90 s --duration: within seconds of the crossing.
    trading = next(h["at"] for h in state["history"] if h["phase"] == "TRADING")
    stopping = next(h["at"] for h in state["history"] if h["phase"] == "STOPPING")
    from datetime import datetime

    assert (datetime.fromisoformat(stopping) - datetime.fromisoformat(trading)).total_seconds() < 45


def _as_nobody(sock_path: Path, request: dict) -> tuple[str, dict | None]:
    """Connect from a forked child running as uid 65534: ("EACCES", None) or ("reply", reply)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            # The folder by descriptor: the test's own tmp folders (0700, root's) are not the point.
            folder = os.open(sock_path.parent, os.O_RDONLY)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(10)
                try:
                    sock.connect(f"/proc/self/fd/{folder}/{sock_path.name}")
                except PermissionError:
                    os.write(write_end, b'["EACCES", null]')
                    os._exit(0)
                sock.sendall(json.dumps(request).encode() + b"\n")
                data = b""
                while not data.endswith(b"\n"):
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            os.write(write_end, json.dumps(["reply", json.loads(data or b"null")]).encode())
        except BaseException as exc:  # said to the parent, which fails with it
            os.write(write_end, json.dumps([f"child failed: {exc!r}", None]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as fh:
        kind, reply = json.loads(fh.read() or '["none", null]')
    return kind, reply


def test_engine_stop_start_restart_against_a_running_day(tmp_path: Path, cli_home: Path) -> None:
    with HttpRecorder() as hook:
        engines = "\n".join([script_engine("alpha", SLEEPER), script_engine("beta", SLEEPER)])
        cfg = write(tmp_path, config_text(engines, extra=_hook(hook.url)))
        c = ["-c", str(cfg)]
        assert run_tradeday(["engine", "stop", "alpha", *c], cwd=cli_home).returncode == 7  # nothing runs yet
        with running(["run", *c, "--start-now", "--duration", "120s"], cwd=cli_home) as proc:
            wait_for_phase(tmp_path, "TRADING", proc=proc, with_engines=True)
            wait_for(lambda: all(e["state"] == "RUNNING" for e in state_of(tmp_path)["engines"]))
            sock_path = state_path(tmp_path).with_suffix(".sock")
            mode = os.stat(sock_path).st_mode
            assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
            alpha = _engine(state_of(tmp_path), "alpha")
            group = os.getpgid(alpha["pid"])

            stopped = run_tradeday(["engine", "stop", "alpha", *c, "--json"], cwd=cli_home)
            assert stopped.returncode == 0, stopped.stderr
            assert json.loads(stopped.stdout)["state"] == "STOPPED"
            assert wait_for(lambda: gone(alpha["pid"]))
            try:
                os.killpg(group, 0)
                raise AssertionError(f"process group {group} of the stopped engine is still there")
            except ProcessLookupError:
                pass
            now = state_of(tmp_path)
            assert (_engine(now, "alpha")["state"], _engine(now, "alpha")["reason"]) == ("STOPPED",
                                                                                         "stopped by operator")
            assert _engine(now, "beta")["state"] == "RUNNING"
            time.sleep(1.5)  # a stopped engine stays stopped: no restart, and the session goes on
            assert _engine(state_of(tmp_path), "alpha")["state"] == "STOPPED" and proc.poll() is None

            started = run_tradeday(["engine", "start", "alpha", *c], cwd=cli_home)
            assert started.returncode == 0 and "started" in started.stdout, started.stderr
            beta = _engine(state_of(tmp_path), "beta")
            restarted = run_tradeday(["engine", "restart", "beta", *c, "--json"], cwd=cli_home)
            assert restarted.returncode == 0, restarted.stderr
            reply = json.loads(restarted.stdout)
            assert reply["pid"] != beta["pid"] and reply["restarts"] == 0
            assert wait_for(lambda: gone(beta["pid"]))
            wrong = run_tradeday(["engine", "stop", "gamma", *c], cwd=cli_home)
            assert wrong.returncode == 2 and "alpha, beta" in wrong.stderr

            # Another user: the socket's mode keeps it out; and were the mode wrong, the peer check.
            assert _as_nobody(sock_path, {"action": "stop", "engine": "beta"}) == ("EACCES", None)
            os.chmod(sock_path, 0o666)
            os.chmod(sock_path.parent, 0o711)
            try:
                kind, refused = _as_nobody(sock_path, {"action": "stop", "engine": "beta"})
            finally:
                os.chmod(sock_path.parent, 0o700)
            assert kind == "reply" and refused["ok"] is False and refused["refused"] == "not_owner", refused

            now = state_of(tmp_path)
            assert [(x["action"], x["engine"], x["ok"]) for x in now["controls"]] == [
                ("stop", "alpha", True), ("start", "alpha", True), ("restart", "beta", True),
                ("stop", "gamma", False)]
            for name in ("alpha", "beta"):
                engine = _engine(now, name)
                assert (engine["starts"], engine["restarts"]) == (2, 0), engine
                assert engine["state"] in ("STARTING", "RUNNING") and psutil.pid_exists(engine["pid"])
            assert _engine(now, "beta")["state"] != "STOPPED"
            proc.send_signal(signal.SIGTERM)
            finish(proc)
        after = run_tradeday(["engine", "start", "alpha", *c], cwd=cli_home)
        assert after.returncode == 7 and "no run in progress" in after.stderr
        assert not sock_path.exists()
        assert wait_for(lambda: len([r for r in hook.requests if r.json()["event"] == "engine_control"]) >= 4,
                        timeout=10)
    controls = [r.json() for r in hook.requests if r.json()["event"] == "engine_control"]
    assert [(b["fields"]["action"], b["fields"]["engine"], b["fields"]["ok"]) for b in controls] == [
        ("stop", "alpha", True), ("start", "alpha", True), ("restart", "beta", True), ("stop", "gamma", False)]
    log = log_of(tmp_path).read_text()
    assert "engine control: stop alpha by uid 0" in log and "refused a request from uid 65534" in log
