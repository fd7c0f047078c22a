"""Benchmark: ``tradeday report --from --to`` over many days vs pandas.read_csv of the same files.

    .venv/bin/python bench/bench_report_range.py [--days 60] [--fills 4000] [--rounds 3] [--keep DIR]

Generates ``--days`` NSE sessions of ``--fills`` fills each (20 strategies x 50 symbols;
scaling in and out, flips through zero; positions are NOT flattened at the close, so they
are held overnight and carried from day to day) into a fresh artifacts folder, then, per
round and alternating so machine noise hits all alike:

  * read_csv:  a fresh Python process that imports pandas and ``pandas.read_csv``s every
               journal of the range (the floor);
  * no carry:  ``tradeday report --from D1 --to DN --no-carry --json`` (a fresh process);
  * carry:     ``tradeday report --from D1 --to DN --json`` (the default: each day opens
               with the previous day's open positions).

Both sides start a fresh interpreter, so start-up is counted on both. The ratios are of
CPU time (user + system of each child, medians): on a shared machine wall time measures the
neighbours; wall times are printed too. The config writes
the JSON and Markdown of each day (``reports.chart: false``; the PNG is optional and
measured by bench_report.py). Also prints the carry run's time per day for the first and
the last tenth of the range (cost per day must not grow with the days before it), taken
from the step durations ``--json`` lists, and each side's CPU for one day (mostly its
start-up) and per further day (the range minus the one day, over the rest). Targets: no
carry <= 3x read_csv, carry <= 4x.
"""
from __future__ import annotations

import argparse
import calendar
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRADEDAY = str(Path(sys.executable).parent / "tradeday")
HEADER = "time,strategy,symbol,side,quantity,price,fees,order_id,trade_id\n"


def sessions(n: int, first: date = date(2025, 1, 1)) -> list[date]:
    import pandas_market_calendars as mcal

    days = mcal.get_calendar("XNSE").valid_days(first.isoformat(), "2026-12-31")
    out = [d.date() for d in days[:n]]
    if len(out) < n:
        raise SystemExit(f"only {len(out)} XNSE sessions from {first}; ask for fewer --days")
    return out


class Market:
    """One trader's books across days: positions and prices carry on overnight."""

    def __init__(self, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.strategies = [f"strat{i:02d}" for i in range(20)]
        self.symbols = [f"SYM{i:03d}" for i in range(50)]
        self.price = {s: self.rng.randint(2000, 60000) for s in self.symbols}  # in 0.05 ticks
        self.position: dict[tuple[str, str], int] = {}
        self.seq = 0

    def day(self, path: Path, day: date, n: int) -> None:
        rng, position, price = self.rng, self.position, self.price
        step_us = (6 * 3600 + 15 * 60) * 1_000_000 // n  # spread over 09:15-15:30 IST
        base = calendar.timegm(day.timetuple()) * 1_000_000 + (9 * 3600 + 15 * 60 - 19800) * 1_000_000
        out = [HEADER]
        for i in range(n):
            key = (rng.choice(self.strategies), rng.choice(self.symbols))
            pos = position.get(key, 0)
            r = rng.random()
            if pos == 0:
                qty, side = rng.randint(1, 20) * 5, (1 if r < 0.5 else -1)
            elif r < 0.35 and abs(pos) < 400:  # scale in
                qty, side = rng.randint(1, 10) * 5, (1 if pos > 0 else -1)
            elif r < 0.93:  # scale out / close
                qty, side = min(abs(pos), rng.randint(1, 20) * 5), (-1 if pos > 0 else 1)
            else:  # flip through zero
                qty, side = abs(pos) + rng.randint(1, 10) * 5, (-1 if pos > 0 else 1)
            position[key] = pos + side * qty
            sym = key[1]
            price[sym] = max(20, price[sym] + rng.randint(-3, 3))
            px = price[sym] * 5  # paise, on a 0.05 tick
            fees = qty * px * 3 // 10000  # ~3 bp, in paise
            secs, us = divmod(base + i * step_us, 1_000_000)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs + 19800)) + f".{us:06d}+05:30"
            self.seq += 1
            out.append(f"{stamp},{key[0]},{sym},{'BUY' if side > 0 else 'SELL'},{qty},{px // 100}.{px % 100:02d},"
                       f"{fees // 100}.{fees % 100:02d},O{self.seq // 3},T{self.seq}\n")
        path.write_text("".join(out))

    def open_books(self) -> int:
        return sum(1 for v in self.position.values() if v)


FLOOR = """
import sys, pandas as pd
for p in sys.argv[1:]:
    pd.read_csv(p)
"""


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the child: user + system, its stdout)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - timed.cpu_before  # type: ignore[attr-defined]
    timed.cpu_before = usage.ru_utime + usage.ru_stime  # type: ignore[attr-defined]
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}):\n{err[-3000:]}")
    return wall, cpu, out


timed.cpu_before = 0.0  # type: ignore[attr-defined]


def step_durations(report_json: str) -> list[float]:
    """Per day: the time its steps took (fills, reconcile, report), from ``--json``'s step records."""
    return [sum(s["duration_s"] or 0 for s in r["steps"] if isinstance(s.get("duration_s"), (int, float)))
            for r in json.loads(report_json)["reports"]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--fills", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="generate into this folder and keep it")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = (args.keep or Path(tmp)).resolve()
        journal = home / "artifacts" / "journal"
        journal.mkdir(parents=True, exist_ok=True)
        days = sessions(args.days)
        files = [journal / f"{d}.csv" for d in days]
        if not all(f.exists() for f in files):
            t = time.perf_counter()
            market = Market()
            for d, f in zip(days, files, strict=True):
                market.day(f, d, args.fills)
            print(f"generated {args.days} days x {args.fills:,} fills in {time.perf_counter() - t:.1f} s; "
                  f"{market.open_books()} of 1000 books open at the last close")
        config = home / "tradeday.yaml"
        config.write_text("version: '1.0.0'\nmode: paper\nmarket: {calendar: XNSE}\nbroker: {kind: none}\n"
                          "engines: []\npaths: {artifacts: artifacts}\nreports: {chart: false}\n"
                          "notifications: {enabled: false}\n")
        report = [TRADEDAY, "report", "-c", str(config), "--from", str(days[0]), "--to", str(days[-1]), "--json"]
        floor = [sys.executable, "-c", FLOOR, *map(str, files)]
        timed(floor)  # warm the file cache and the imports
        # One day on each side as well: the range minus it, over the other days, is the cost
        # per day, and the one day is mostly start-up (each side's imports).
        floor_one = [sys.executable, "-c", FLOOR, str(files[0])]
        report_one = [TRADEDAY, "report", "-c", str(config), "--from", str(days[0]), "--to", str(days[0]),
                      "--json", "--no-carry"]
        runs = (("read_csv", floor), ("no_carry", [*report, "--no-carry"]), ("carry", report),
                ("read_csv_1", floor_one), ("no_carry_1", report_one))
        walls: dict[str, list[float]] = {name: [] for name, _ in runs}
        cpus: dict[str, list[float]] = {name: [] for name, _ in runs}
        per_day: list[float] = []
        for _ in range(args.rounds):
            for name, cmd in runs:
                wall, cpu, out = timed(cmd)
                walls[name].append(wall)
                cpus[name].append(cpu)
                if name == "carry":
                    assert len(json.loads(out)["reports"]) == len(days)
                    per_day = step_durations(out)
        med = {k: statistics.median(v) for k, v in walls.items()}
        cpu = {k: statistics.median(v) for k, v in cpus.items()}
        tenth = max(1, len(days) // 10)
        open_last = len(json.loads((home / "artifacts" / "reports" / "daily" / f"{days[-1]}.json").read_text())
                        ["open_positions"])
        result = {
            "days": len(days), "fills_per_day": args.fills, "rounds": args.rounds,
            "cpu_read_csv_s": round(cpu["read_csv"], 3),
            "cpu_report_no_carry_s": round(cpu["no_carry"], 3),
            "cpu_report_carry_s": round(cpu["carry"], 3),
            "ratio_no_carry": round(cpu["no_carry"] / cpu["read_csv"], 2),
            "ratio_carry": round(cpu["carry"] / cpu["read_csv"], 2),
            "wall_read_csv_s": round(med["read_csv"], 3),
            "wall_report_no_carry_s": round(med["no_carry"], 3),
            "wall_report_carry_s": round(med["carry"], 3),
            "wall_ratio_no_carry": round(med["no_carry"] / med["read_csv"], 2),
            "wall_ratio_carry": round(med["carry"] / med["read_csv"], 2),
            "carry_ms_per_day_first_tenth": round(1000 * statistics.mean(per_day[:tenth]), 1),
            "carry_ms_per_day_last_tenth": round(1000 * statistics.mean(per_day[-tenth:]), 1),
            "open_positions_last_day": open_last,
            # CPU per day beyond the first (medians): the range's cost without start-up.
            "cpu_one_day_read_csv_s": round(cpu["read_csv_1"], 3),
            "cpu_one_day_report_s": round(cpu["no_carry_1"], 3),
            "cpu_ms_per_day_read_csv": round(1000 * (cpu["read_csv"] - cpu["read_csv_1"]) / max(1, len(days) - 1), 1),
            "cpu_ms_per_day_no_carry": round(1000 * (cpu["no_carry"] - cpu["no_carry_1"]) / max(1, len(days) - 1), 1),
            "all_cpu": {k: [round(x, 3) for x in v] for k, v in cpus.items()},
        }
        print(json.dumps(result, indent=2))
        print(f"--no-carry <= 3x read_csv: {'met' if result['ratio_no_carry'] <= 3 else 'MISSED'} "
              f"({result['ratio_no_carry']}x); carry <= 4x: {'met' if result['ratio_carry'] <= 4 else 'MISSED'} "
              f"({result['ratio_carry']}x)")


if __name__ == "__main__":
    main()
