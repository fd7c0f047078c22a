"""The scheduled stop while the log disk is full, against the same run on a healthy disk.

    sudo .venv/bin/python bench/bench_faults_disk.py [--rounds 3] [--duration 5]

Each round runs ``tradeday run --start-now --duration D`` twice with ``paths.artifacts`` on a
tmpfs (root is needed to mount it): once on a roomy one (256 MiB, healthy), once on a 2 MiB one
that the benchmark fills up as soon as the engine's first lines are logged. The engine floods
its stdout (as fast as Python prints, like the chatty engine seen in the field) and writes the
moment it gets SIGTERM to a file on another disk. Measured from the scheduled stop (the
``session.stop_at`` of the state file, written before the disk fills):

* the stop signal reaching the engine (target: within 1 s, full disk as healthy);
* ``tradeday run`` exiting (the stop, the engine's exit, the end of the run).

Both runs get the same config and the same environment (PYTHONUNBUFFERED=1, see NOTES.md).
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
TRADEDAY = str(Path(sys.executable).parent / "tradeday")
PY = sys.executable

FLOOD_ENGINE = r'''
import signal, sys, time
term = open(sys.argv[1], "a", buffering=1)
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(time.time()))
out = sys.stdout
i = 0
while not stop:
    out.write(f"tick {i} " + "x" * 150 + "\n")
    i += 1
term.write(f"term {stop[0]:.6f} lines={i}\n")
'''


def mount(folder: Path, size: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)


def unmount(folder: Path) -> None:
    if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    block = b"\0" * 65536
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    return
                block = block[: len(block) // 2]
    finally:
        os.close(fd)


def one_run(work: Path, disk: Path, *, full: bool, duration: float) -> tuple[float, float, int]:
    """(stop signal - stop_at, exit - stop_at, exit code) of one run."""
    script = work / "flood.py"
    script.write_text(FLOOD_ENGINE)
    term = work / f"term-{'full' if full else 'healthy'}.txt"
    term.unlink(missing_ok=True)
    cfg = work / "tradeday.yaml"
    cfg.write_text(textwrap.dedent(f"""
        mode: paper
        market: {{calendar: XNYS}}
        session: {{allowed_window: "00:00-23:59", heartbeat_interval: 1s, log_max_size: 16MiB, log_backups: 3}}
        paths: {{artifacts: {disk}/artifacts}}
        engines:
          - {{name: flood, command: ["{PY}", "{script}", "{term}"], start_secs: 0.2s, stop_timeout: 5s}}
        checks: {{min_free_disk: 1KiB}}
        eod: {{enabled: false}}
        """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
    env["PYTHONUNBUFFERED"] = "1"
    day = datetime.now(ZoneInfo("America/New_York")).date()
    log = disk / "artifacts" / "logs" / str(day) / "flood.log"
    proc = subprocess.Popen([TRADEDAY, "run", "-c", str(cfg), "--start-now", "--duration", f"{duration}s",
                             "--quiet"], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if full:
        while proc.poll() is None and not (log.exists() and log.stat().st_size > 0):
            time.sleep(0.01)
        fill(disk)
    _, err = proc.communicate(timeout=duration + 60)
    exited = time.time()
    if proc.returncode != 0:
        sys.stderr.write(err.decode(errors="replace"))
    state = json.loads((disk / "artifacts" / "state" / f"{day}.json").read_text())
    stop_at = datetime.fromisoformat(state["session"]["stop_at"]).timestamp()
    signalled = float(term.read_text().split()[1])
    return signalled - stop_at, exited - stop_at, proc.returncode


def fmt(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_faults_disk: mounting a tmpfs needs root")
    results: dict[str, list[tuple[float, float, int]]] = {"healthy": [], "full": []}
    with tempfile.TemporaryDirectory(prefix="tradeday-bench-faults-") as tmp:
        work = Path(tmp)
        for _ in range(args.rounds):
            for kind, size in (("healthy", "256m"), ("full", "2m")):
                disk = work / f"disk-{kind}"
                mount(disk, size)
                try:
                    results[kind].append(one_run(work, disk, full=kind == "full", duration=args.duration))
                finally:
                    unmount(disk)
    print(f"cpu count {os.cpu_count()}, {args.rounds} rounds, --duration {args.duration:g}s")
    for kind in ("healthy", "full"):
        rows = results[kind]
        codes = sorted({code for *_, code in rows})
        print(f"{kind:8} disk: stop_at -> SIGTERM at the engine  {fmt([r[0] for r in rows])}")
        print(f"{'':8}       stop_at -> tradeday run exited   {fmt([r[1] for r in rows])}   exit codes {codes}")


if __name__ == "__main__":
    main()
