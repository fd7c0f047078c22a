"""`import tradeday` (the Python API package) in a fresh interpreter, against `python -c pass`.

Run: .venv/bin/python bench/bench_import.py [--runs 30]

The package loads its names on first use, so importing it must cost next to nothing and load
none of the heavy libraries. Printed: the median wall time of each command over ``--runs``
alternating rounds (same environment), their difference, the package's own import time from
``-X importtime`` (cumulative, best of ten), and whether pandas/numpy/pydantic were loaded.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

HEAVY = ("pandas", "numpy", "pydantic", "pandas_market_calendars", "requests", "kiteconnect", "ib_async")


def wall(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def importtime_us() -> int:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import tradeday"], capture_output=True,
                          text=True, check=True)
    for line in proc.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == "tradeday":
            return int(parts[1])
    raise SystemExit("tradeday not found in -X importtime output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    bare, api = [], []
    for _ in range(args.runs):
        bare.append(wall("pass"))
        api.append(wall("import tradeday"))
    probe = f"import sys, json, tradeday; print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                       check=True).stdout)
    own = min(importtime_us() for _ in range(10))  # the least noisy of ten: a busy machine only adds
    b, a = statistics.median(bare), statistics.median(api)
    print(f"python -c pass           median {b * 1000:7.1f} ms")
    print(f"python -c 'import tradeday' median {a * 1000:7.1f} ms  (+{(a - b) * 1000:.1f} ms)")
    print(f"-X importtime, tradeday cumulative (best of 10): {own / 1000:.1f} ms")
    print(f"heavy libraries loaded by the import: {loaded or 'none'}")


if __name__ == "__main__":
    main()
