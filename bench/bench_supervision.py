"""Supervision latencies, measured with real processes.

    .venv/bin/python bench/bench_supervision.py [--crashes 20] [--rounds 3]

1. Crash -> restart decision: an engine prints time.time() and exits 1 at once; the
   latency is from that timestamp to the moment the supervisor decided (its "exited"
   event, delivered right after it scheduled the restart). Target: < 100 ms (+ backoff,
   which is reported apart: the "restarted" event comes after backoff + spawn).
2. SIGTERM to the supervising process (tests/engines/supervise.py) -> every process of
   the engine tree gone. Two trees: a polite engine (exits on SIGTERM) and a stubborn
   family (a child ignoring SIGTERM and a setsid'd, re-parented grandchild ignoring it),
   stop_timeout 2 s. Target: gone within stop_timeout + 1 s.
3. Scheduled stop: run_until(deadline) returns, and stop_all() has stopped a polite engine;
   measured from the deadline. Target: acted on within 1 s.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
ENGINES = REPO / "tests" / "engines"

from session.supervisor import EngineSpec, Supervisor  # noqa: E402

PY = sys.executable


def env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"}


def summary(values_ms: list[float]) -> str:
    ordered = sorted(values_ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"median {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms   max {ordered[-1]:6.1f} ms   (n={len(ordered)})"


def crash_latency(tmp: Path, crashes: int, backoff: float) -> tuple[list[float], list[float]]:
    exit_times: dict[int, float] = {}
    decisions: dict[int, float] = {}
    restarts_at: dict[int, float] = {}

    def on_line(engine: str, line: bytes) -> bool:
        # "crash restarts=N exit=1 at=<time.time()>"
        parts = dict(p.split(b"=", 1) for p in line.split()[1:])
        exit_times[int(parts[b"restarts"])] = float(parts[b"at"])
        return True

    def on_event(engine: str, event: str, info: dict) -> None:
        now = time.time()
        if event == "exited":
            decisions[len(decisions)] = now
        elif event == "restarted":
            restarts_at[info["restarts"]] = now

    spec = EngineSpec(
        name="crash",
        argv=[PY, str(ENGINES / "crash.py"), "1"],
        cwd=tmp,
        env=env(),
        log_file=tmp / "crash.log",
        max_restarts=crashes - 1,
        backoff_initial=backoff,
        backoff_factor=1.0,
        backoff_jitter=0.0,
        start_secs=0.05,
        hang_timeout=0,
    )
    sup = Supervisor([spec], quiet=True, on_line=on_line, on_event=on_event)
    sup.start()
    sup.run_until(datetime.now(UTC) + timedelta(minutes=5), threading.Event())
    sup.stop_all()
    detect = [(decisions[i] - exit_times[i]) * 1000 for i in range(crashes) if i in decisions and i in exit_times]
    # From the decision to the new process, minus the backoff: spawn overhead.
    respawn = [(restarts_at[i + 1] - decisions[i] - backoff) * 1000 for i in range(crashes - 1) if i + 1 in restarts_at]
    return detect, respawn


def tree_pids(log: Path) -> list[int]:
    pids = []
    for raw in log.read_bytes().splitlines():
        parts = raw.split(b" ", 1)[-1].split()
        if len(parts) == 3 and parts[0] == b"family":
            pids.append(int(parts[2]))
        elif parts and parts[0] == b"sleeper":
            pids.append(int(parts[1].split(b"=")[1]))
    return pids


def sigterm_to_supervisor(tmp: Path, kind: str, stop_timeout: float) -> float:
    log = tmp / f"{kind}.log"
    log.unlink(missing_ok=True)
    argv = [PY, str(ENGINES / "family.py"), "--stubborn", "--escape"] if kind == "stubborn" else [PY, str(ENGINES / "sleeper.py")]
    spec = {
        "name": kind,
        "argv": argv,
        "cwd": str(tmp),
        "env": env(),
        "log_file": str(log),
        "stop_timeout": stop_timeout,
        "start_secs": 0.1,
        "hang_timeout": 0,
    }
    proc = subprocess.Popen(
        [PY, str(ENGINES / "supervise.py"), json.dumps({"specs": [spec], "quiet": True})], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # ready
    needle = b"family ready" if kind == "stubborn" else b"sleeper pid="
    while needle not in (log.read_bytes() if log.exists() else b""):
        time.sleep(0.01)
    pids = tree_pids(log)
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    alive = list(pids)
    while alive:
        alive = [p for p in alive if _running(p)]
        if time.monotonic() - began > stop_timeout + 10:
            raise RuntimeError(f"processes survived: {alive}")
        time.sleep(0.005)
    took = time.monotonic() - began
    proc.wait(10)
    return took


def _running(pid: int) -> bool:
    """Alive and not a zombie. The process can exit between any two calls, so ask once."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def scheduled_stop(tmp: Path) -> tuple[float, float]:
    spec = EngineSpec(
        name="polite",
        argv=[PY, str(ENGINES / "sleeper.py")],
        cwd=tmp,
        env=env(),
        log_file=tmp / "polite.log",
        start_secs=0.1,
        hang_timeout=0,
    )
    sup = Supervisor([spec], quiet=True)
    sup.start()
    deadline = datetime.now(UTC) + timedelta(seconds=0.7)
    sup.run_until(deadline, threading.Event())
    returned = (datetime.now(UTC) - deadline).total_seconds()
    sup.stop_all()
    stopped = (datetime.now(UTC) - deadline).total_seconds()
    return returned, stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crashes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stop-timeout", type=float, default=2.0)
    args = parser.parse_args()
    logging.getLogger("tradeday").setLevel(logging.ERROR)  # the crash loop's warnings are the point here
    with tempfile.TemporaryDirectory(prefix="tradeday-bench-") as name:
        tmp = Path(name)
        detect, respawn = crash_latency(tmp, args.crashes, backoff=0.05)
        print(f"cpu count {os.cpu_count()}")
        print(f"1. crash -> restart decision       {summary(detect)}")
        print(f"   decision -> new pid, minus backoff {summary(respawn)}")
        polite = [sigterm_to_supervisor(tmp, "polite", args.stop_timeout) for _ in range(args.rounds)]
        stubborn = [sigterm_to_supervisor(tmp, "stubborn", args.stop_timeout) for _ in range(args.rounds)]
        print(f"2. SIGTERM -> tree gone, polite engine        {summary([t * 1000 for t in polite])}")
        print(
            f"   SIGTERM -> tree gone, stubborn family       {summary([t * 1000 for t in stubborn])}"
            f"   (stop_timeout {args.stop_timeout:g} s; target < {args.stop_timeout + 1:g} s)"
        )
        stops = [scheduled_stop(tmp) for _ in range(args.rounds)]
        print(f"3. deadline -> run_until returned   {summary([r * 1000 for r, _ in stops])}")
        print(f"   deadline -> engine stopped       {summary([s * 1000 for _, s in stops])}")


if __name__ == "__main__":
    main()
