"""`tradeday --help` vs a bare Typer app's `--help` (target: within 1.3x).

Run: .venv/bin/python bench/bench_startup.py [--runs 30]
Both are started as fresh processes by the same interpreter, alternating, so machine noise
hits both alike; the figure is the ratio of medians.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_APP = '''
import typer
app = typer.Typer(add_completion=False)

@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""
    print(name)

@app.command()
def bye() -> None:
    """Say bye."""

app()
'''


def time_run(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP)
        tradeday = [sys.executable, "-c", "from cli.main import main; main()", "--help"]
        baseline = [sys.executable, str(bare), "--help"]
        for argv in (tradeday, baseline):  # warm the OS caches
            time_run(argv)
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(time_run(tradeday))
            theirs.append(time_run(baseline))
    m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
    ratio = m_ours / m_theirs
    print(f"bare Typer app --help: median {m_theirs * 1000:.0f} ms over {args.runs} runs")
    print(f"tradeday --help:       median {m_ours * 1000:.0f} ms over {args.runs} runs")
    print(f"ratio: {ratio:.2f}x (target <= 1.3x) -> {'OK' if ratio <= 1.3 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
