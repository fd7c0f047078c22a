"""Streaming throughput and memory: engine output through the Supervisor vs `gen | tee log`.

    .venv/bin/python bench/bench_streaming.py                    # 1M lines of ~100 bytes, 3 rounds
    .venv/bin/python bench/bench_streaming.py --lines 2000000 --buffering block,line
    .venv/bin/python bench/bench_streaming.py --lines 10000000   # 10M lines: peak RSS of the supervisor
    .venv/bin/python bench/bench_streaming.py --console pipe     # the console copy made (see below)

The same generator (a Python script writing ~100-byte lines) feeds both, started with the SAME
environment (``PATH`` only, plus ``PYTHONUNBUFFERED=1`` for the line-buffered engine: one write per
line, as a Python engine started from a shell that sets it would do):
* tee:        gen | tee LOG >/dev/null, wired by this script; tee's own CPU time comes from wait4.
* supervisor: a child process runs Supervisor([gen N]) with the console on /dev/null and the
              engine's log file; time from start() until stop_all() returned; it reports its own
              CPU time (all threads, not the engine) and peak RSS (VmHWM).
The console (``--console``): ``devnull`` (the default) is `tradeday run >/dev/null`, as under cron
with its output thrown away: tee still writes its copy to /dev/null, the supervisor makes none
(session/streaming.py: the kernel would drop it). ``pipe`` is a console someone reads (a terminal,
cron's mail, the journal): both sides write their copy to a pipe drained by `cat >/dev/null`
(``gen | tee LOG | cat``), whose CPU is counted on neither side.
Variants: no on_line; on_line with on_line_prefix=b"@tradeday " (what `tradeday run` uses);
on_line for every line (no prefix).
Each figure is the best of the rounds and, after it, the median; ratios compare like with like.
Targets: supervisor wall time <= 1.5x tee's; CPU <= 1.2x tee's for the block-buffered engine at 2M
lines (issue 15); RSS < 80 MB.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GENERATOR = r"""
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
pad = b"x" * 80
for i in range(n):
    out.write(b"%09d tick %s\n" % (i, pad))
"""


def gen_argv(tmp: Path, lines: int) -> list[str]:
    script = tmp / "gen.py"
    script.write_text(GENERATOR)
    return [sys.executable, str(script), str(lines)]


def engine_env(buffering: str) -> dict[str, str]:
    """The generator's environment, identical for tee and the supervisor."""
    env = {"PATH": os.environ.get("PATH", "")}
    if buffering == "line":
        env["PYTHONUNBUFFERED"] = "1"
    return env


def run_tee(tmp: Path, lines: int, buffering: str, console: str = "devnull") -> tuple[float, float]:
    """(wall seconds, tee's CPU seconds, user + system) for gen | tee LOG >/dev/null (or | cat)."""
    log = tmp / "tee.log"
    began = time.perf_counter()
    gen = subprocess.Popen(gen_argv(tmp, lines), stdout=subprocess.PIPE, env=engine_env(buffering))
    drain = _drain() if console == "pipe" else None
    tee = subprocess.Popen(["tee", str(log)], stdin=gen.stdout,
                           stdout=drain.stdin if drain is not None else subprocess.DEVNULL)
    assert gen.stdout is not None
    gen.stdout.close()  # tee holds the read end now
    if drain is not None:
        assert drain.stdin is not None
        drain.stdin.close()  # and the write end of the console pipe
    _, status, usage = os.wait4(tee.pid, 0)
    tee.returncode = os.waitstatus_to_exitcode(status)
    gen.wait()
    if drain is not None:
        drain.wait()
    took = time.perf_counter() - began
    assert tee.returncode == 0 and gen.returncode == 0
    assert log.stat().st_size > lines * 90
    log.unlink()
    return took, usage.ru_utime + usage.ru_stime


def _drain() -> subprocess.Popen[bytes]:
    """A console someone reads: a pipe to `cat >/dev/null`."""
    return subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)


def run_supervisor_child(tmp: Path, lines: int, variant: str, buffering: str, console: str = "devnull") -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(lines), "--tmp", str(tmp), "--variant", variant,
         "--buffering", buffering, "--console", console],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def peak_rss_mb() -> float:
    """Peak RSS of this process. Linux: VmHWM (ru_maxrss survives exec and may report the
    parent's size); elsewhere ru_maxrss (bytes on macOS)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def child(lines: int, tmp: Path, variant: str, buffering: str, console_kind: str = "devnull") -> None:
    """The supervising process: one engine, console to /dev/null (or a pipe), log file on disk."""
    from datetime import datetime, timedelta

    from session.supervisor import EngineSpec, Supervisor

    log = tmp / f"engine-{variant}.log"
    spec = EngineSpec(
        name="gen",
        argv=gen_argv(tmp, lines),
        cwd=tmp,
        env=engine_env(buffering),
        log_file=log,
        restart="never",
        start_secs=0.1,
        hang_timeout=0,
    )
    seen = [0]

    def on_line(engine: str, line: bytes) -> bool:
        if line.startswith(b"@tradeday "):
            seen[0] += 1
            return True
        return False

    kwargs: dict = {}
    if variant == "prefix":
        kwargs = {"on_line": on_line, "on_line_prefix": b"@tradeday "}
    elif variant == "every-line":
        kwargs = {"on_line": on_line}
    drain = _drain() if console_kind == "pipe" else None
    with open(os.devnull, "wb") if drain is None else drain.stdin as console:  # type: ignore[union-attr]
        sup = Supervisor([spec], console=console, **kwargs)
        began = time.perf_counter()
        cpu_began = resource.getrusage(resource.RUSAGE_SELF)
        sup.start()
        reason = sup.run_until(datetime.now(UTC) + timedelta(hours=1), threading.Event())
        sup.stop_all()
        took = time.perf_counter() - began
        cpu_end = resource.getrusage(resource.RUSAGE_SELF)
    if drain is not None:
        drain.wait()
    cpu = (cpu_end.ru_utime - cpu_began.ru_utime) + (cpu_end.ru_stime - cpu_began.ru_stime)
    status = sup.snapshot()[0]
    size = log.stat().st_size
    log.unlink()
    print(
        json.dumps(
            {
                "seconds": took,
                "cpu_seconds": cpu,
                "reason": reason,
                "lines_total": status.lines_total,
                "log_bytes": size,
                "maxrss_mb": peak_rss_mb(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default="plain,prefix,every-line")
    parser.add_argument("--buffering", default="block,line", help="engine stdout: block, line or both")
    parser.add_argument("--console", choices=("devnull", "pipe"), default="devnull",
                        help="where both sides' console copy goes (see above)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="plain", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.tmp, args.variant, args.buffering, args.console)
        return
    variants = args.variants.split(",")
    print(f"{args.lines:,} lines of ~100 bytes, {args.rounds} rounds, console {args.console} "
          f"(cpu count {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    with tempfile.TemporaryDirectory(prefix="tradeday-bench-") as name:
        tmp = Path(name)
        for buffering in args.buffering.split(","):
            tee_runs: list[tuple[float, float]] = []
            results: dict[str, list[dict]] = {v: [] for v in variants}
            for _ in range(args.rounds):  # interleaved, so machine load hits both alike
                tee_runs.append(run_tee(tmp, args.lines, buffering, args.console))
                for variant in variants:
                    result = run_supervisor_child(tmp, args.lines, variant, buffering, args.console)
                    assert result["lines_total"] == args.lines, result
                    results[variant].append(result)
            tee_wall = [w for w, _ in tee_runs]
            tee_cpu = [c for _, c in tee_runs]
            print(f"{buffering}-buffered engine (same environment on both sides); best / median:")
            tee_name = "gen | tee log | cat     " if args.console == "pipe" else "gen | tee log >/dev/null "
            print(f"  {tee_name}  wall {_pair(tee_wall)}                 cpu {_pair(tee_cpu)}")
            for variant in variants:
                wall = [r["seconds"] for r in results[variant]]
                cpu = [r["cpu_seconds"] for r in results[variant]]
                peak = max(r["maxrss_mb"] for r in results[variant])
                print(
                    f"  supervisor [{variant:10s}]  wall {_pair(wall)} {_ratio(wall, tee_wall)}   "
                    f"cpu {_pair(cpu)} {_ratio(cpu, tee_cpu)}   peak RSS {peak:5.1f} MB"
                )


def _pair(values: list[float]) -> str:
    return f"{min(values):5.2f} / {statistics.median(values):5.2f} s"


def _ratio(values: list[float], floor: list[float]) -> str:
    return f"{min(values) / min(floor):4.2f}x / {statistics.median(values) / statistics.median(floor):4.2f}x"


if __name__ == "__main__":
    main()
