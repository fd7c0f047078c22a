"""Cold start: each `tradeday` command as a fresh process vs a bare two-command Typer app's `--help`.

Run: .venv/bin/python bench/bench_startup.py [--runs 20] [--only status,calendar]

Targets (ratio of medians to the bare app, issue 15): `--help` <= 1.3x, `status` <= 1.5x,
`calendar --date D --json` <= 2x, `precheck` on the demo config (broker none) <= 2.5x.
`run --dry-run`, `report DATE` and `calendar` with an empty session cache (`calendar-cold`)
are shown for what they cost, without a target.

Every command runs in each round, one after another, so machine noise hits all alike; all get
the same environment (this one's, plus TRADEDAY_CACHE_DIR pointing into a temporary folder,
warmed by the first round except for `calendar-cold`, which gets an empty one every run, and a
bytecode cache there too: PYTHONPYCACHEPREFIX, PYTHONDONTWRITEBYTECODE dropped, as an installed
tradeday runs; `--no-bytecode-cache` keeps the caller's settings). The
demo config is copied with its root set to this checkout and its artifacts in the temporary
folder, so the checkout's artifacts/ are not touched; `report` regenerates one small journal.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAY = "2026-03-02"  # a regular XNYS session
REPORT_DAY = "2026-11-30"

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

JOURNAL = """time,strategy,symbol,side,quantity,price,fees,order_id,trade_id
2026-11-30T09:35:00-05:00,demo,AAPL,BUY,10,190.10,0.50,O1,T1
2026-11-30T10:05:00-05:00,demo,MSFT,BUY,5,410.00,0.40,O2,T2
2026-11-30T14:40:00-05:00,demo,AAPL,SELL,10,191.30,0.50,O3,T3
2026-11-30T15:10:00-05:00,demo,MSFT,SELL,5,409.20,0.40,O4,T4
"""

TARGETS = {"help": 1.3, "status": 1.5, "calendar": 2.0, "precheck": 2.5}


def demo_config(tmp: Path) -> Path:
    """configs/dev.yaml with its root at this checkout and its artifacts under ``tmp``."""
    text = (REPO / "configs" / "dev.yaml").read_text(encoding="utf-8")
    text = text.replace('root: ".."', f'root: "{REPO}"', 1)
    text = text.replace("artifacts: artifacts/dev", f"artifacts: {tmp / 'artifacts'}", 1)
    config = tmp / "dev.yaml"
    config.write_text(text, encoding="utf-8")
    journal = tmp / "artifacts" / "journal"
    journal.mkdir(parents=True)
    (journal / f"{REPORT_DAY}.csv").write_text(JOURNAL, encoding="utf-8")
    return config


def commands(tmp: Path, config: Path) -> dict[str, list[str]]:
    bare = tmp / "bare_app.py"
    bare.write_text(BARE_APP)
    tradeday = [sys.executable, "-c", "from cli.main import main; main()"]
    c = ["-c", str(config)]
    return {
        "bare": [sys.executable, str(bare), "--help"],
        "help": [*tradeday, "--help"],
        "status": [*tradeday, "status", *c],
        "calendar": [*tradeday, "calendar", "--date", DAY, "--json", *c],
        "calendar-cold": [*tradeday, "calendar", "--date", DAY, "--json", *c],
        "precheck": [*tradeday, "precheck", *c],
        "run --dry-run": [*tradeday, "run", "--dry-run", *c],
        "report": [*tradeday, "report", REPORT_DAY, "--no-carry", *c],
    }


FAILED: dict[str, str] = {}


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_run(name: str, argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run (CPU: user + system of the process and its children)."""
    cpu0, t0 = cpu_of_children(), time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    took, cpu = time.perf_counter() - t0, cpu_of_children() - cpu0
    if done.returncode not in (0, 1) and name not in FAILED:  # precheck's 1 (a check failed) is a start-up too
        FAILED[name] = f"exit {done.returncode}: {done.stdout.decode(errors='replace').strip().splitlines()[-1:]}"
    return took, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", default="", help="comma-separated command names (bare is always run)")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="keep this environment's PYTHONDONTWRITEBYTECODE / pycache settings as they are")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config = demo_config(tmp)
        argvs = commands(tmp, config)
        if args.only:
            wanted = {"bare", *(n.strip() for n in args.only.split(","))}
            argvs = {n: a for n, a in argvs.items() if n in wanted}
        env = {**os.environ, "TRADEDAY_CACHE_DIR": str(tmp / "cache"), "PYTHONPATH": str(REPO)}
        env.pop("TRADEDAY_CONFIG", None)
        if not args.no_bytecode_cache:
            # As installed: pip writes the .pyc files, or the first run does. With
            # PYTHONDONTWRITEBYTECODE set (some shells and CI runners) and no __pycache__,
            # every start compiles tradeday's ~150 modules again (~130 ms of CPU): a cost of the
            # environment, not of the program. The cache goes to the temporary folder.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        cold = 0

        def env_for(name: str) -> dict[str, str]:
            nonlocal cold
            if name != "calendar-cold":
                return env
            cold += 1
            return {**env, "TRADEDAY_CACHE_DIR": str(tmp / f"cold-{cold}")}

        for name, argv in argvs.items():  # warm the OS caches and the session cache
            time_run(name, argv, env_for(name))
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in argvs}
        for _ in range(args.runs):
            for name, argv in argvs.items():
                times[name].append(time_run(name, argv, env_for(name)))
    medians = {name: statistics.median(w for w, _ in t) for name, t in times.items()}
    cpus = {name: statistics.median(c for _, c in t) for name, t in times.items()}
    base, base_cpu = medians["bare"], cpus["bare"]
    cache = "no bytecode cache (caller's settings)" if args.no_bytecode_cache else "bytecode cached"
    print(f"medians over {args.runs} runs, each command a fresh process, {cache} ({os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}); the target is on the wall-time ratio, CPU is the "
          "steadier figure on a busy machine")
    print(f"{'command':<16} {'wall':>8} {'ratio':>7} {'CPU':>8} {'ratio':>7}  target")
    for name, median in medians.items():
        ratio = median / base
        target = TARGETS.get(name)
        verdict = "" if target is None else f"<= {target}x {'OK' if ratio <= target else 'OVER TARGET'}"
        if name in FAILED:  # a broken command's time says nothing about start-up
            verdict = f"FAILED ({FAILED[name]}): not a measurement"
        print(f"{name:<16} {median * 1000:5.0f} ms {ratio:6.2f}x {cpus[name] * 1000:5.0f} ms "
              f"{cpus[name] / base_cpu:6.2f}x  {verdict}")


if __name__ == "__main__":
    main()
