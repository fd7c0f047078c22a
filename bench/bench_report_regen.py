"""Benchmark: regenerating an existing 1,000,000-fill day vs pandas.read_csv of its journal.

    .venv/bin/python bench/bench_report_regen.py [--fills 1000000] [--rounds 3] [--keep DIR]

Generates the journal of bench_report.py (20 strategies x 50 symbols) as one NSE day, writes
its report once with ``tradeday eod --date D`` (the existing report, ~100 MB of JSON, with
its side file), then per round, alternating:

  * read_csv:   a fresh Python process that imports pandas and ``pandas.read_csv``s the journal;
  * regenerate: ``tradeday report D`` (a fresh process; reads the journal, keeps the run's
                records from the old report's side file, writes the new set);
  * old report: the same with the side file deleted first (a report written before side
                files existed: the old document is read whole).

Each child's CPU time (user + system) and peak RSS come from ``os.wait4``. The config writes
JSON and Markdown (``reports.chart: false``: the PNG is optional and timed by bench_report.py).
Targets: regenerate <= 3x read_csv, peak RSS <= 1 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
TRADEDAY = str(Path(sys.executable).parent / "tradeday")
DAY = "2026-11-20"


def run(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one child."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    from bench_report import generate

    ap = argparse.ArgumentParser()
    ap.add_argument("--fills", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = (args.keep or Path(tmp)).resolve()
        journal = home / "artifacts" / "journal" / f"{DAY}.csv"
        journal.parent.mkdir(parents=True, exist_ok=True)
        if not journal.exists():
            generate(journal, args.fills)
        config = home / "tradeday.yaml"
        config.write_text("version: '1.0.0'\nmode: paper\nmarket: {calendar: XNSE}\nbroker: {kind: none}\n"
                          "engines: []\npaths: {artifacts: artifacts}\nreports: {chart: false}\n"
                          "notifications: {enabled: false}\n")
        daily = home / "artifacts" / "reports" / "daily"
        subprocess.run([TRADEDAY, "eod", "-c", str(config), "--date", DAY, "--no-analytics", "--no-backtest"],
                       check=True, capture_output=True, cwd=ROOT)
        floor = [sys.executable, "-c", "import sys, pandas as pd; pd.read_csv(sys.argv[1])", str(journal)]
        regen = [TRADEDAY, "report", "-c", str(config), DAY]
        rows: dict[str, list[tuple[float, float, float]]] = {"read_csv": [], "regenerate": [], "old_report": []}
        for _ in range(args.rounds):
            rows["read_csv"].append(run(floor))
            rows["regenerate"].append(run(regen))
            (daily / f"{DAY}.meta").unlink(missing_ok=True)
            rows["old_report"].append(run(regen))
        med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in rows.items()}
        peak = {k: max(r[2] for r in v) for k, v in rows.items()}
        result = {
            "fills": args.fills, "report_json_mb": round((daily / f"{DAY}.json").stat().st_size / 1e6, 1),
            **{f"{k}_wall_s": round(v[0], 2) for k, v in med.items()},
            **{f"{k}_cpu_s": round(v[1], 2) for k, v in med.items()},
            **{f"{k}_peak_rss_mib": round(v) for k, v in peak.items()},
            "ratio_cpu": round(med["regenerate"][1] / med["read_csv"][1], 2),
            "ratio_wall": round(med["regenerate"][0] / med["read_csv"][0], 2),
            "ratio_cpu_old_report": round(med["old_report"][1] / med["read_csv"][1], 2),
        }
        print(json.dumps(result, indent=2))
        print(f"regenerate <= 3x read_csv: {'met' if result['ratio_cpu'] <= 3 else 'MISSED'} ({result['ratio_cpu']}x CPU, "
              f"{result['ratio_wall']}x wall); peak RSS <= 1 GB: "
              f"{'met' if peak['regenerate'] <= 1024 else 'MISSED'} ({round(peak['regenerate'])} MiB)")


if __name__ == "__main__":
    main()
