"""A small supervising process, for tests and benchmarks that need tradeday's side to be a
real process (to SIGKILL it, SIGTERM it, or measure its memory).

usage: supervise.py JSON
  {"specs": [EngineSpec fields...], "quiet": bool, "console": path or null,
   "deadline_s": seconds or null, "on_line_prefix": str or null}
Prints "ready <json {engine: pid}>" once engines are started, and at the end one line
"result <json>" with the run_until reason, the statuses, its peak RSS (VmHWM) and the
stop signal's exit code. Exit status: 143/130 when stopped by SIGTERM/SIGINT, 4 if an
engine failed, else 0.
"""
import json
import resource
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from session.supervisor import EngineSpec, Supervisor, install_stop_signals  # noqa: E402


def peak_rss_kib() -> int:
    """This process's peak RSS. On Linux VmHWM: ru_maxrss survives exec, so a child forked
    from a big parent (pytest) would report the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS reports bytes


def main() -> int:
    options = json.loads(sys.argv[1])
    specs = [EngineSpec(**spec) for spec in options["specs"]]
    console_path = options.get("console")
    console = open(console_path, "wb") if console_path else None  # noqa: SIM115
    stop_requested = threading.Event()
    kill_now = threading.Event()
    signals = install_stop_signals(stop_requested, kill_now)
    prefix = options.get("on_line_prefix")
    supervisor = Supervisor(
        specs,
        console=console,
        quiet=bool(options.get("quiet")),
        on_line=(lambda engine, line: True) if prefix else None,
        on_line_prefix=prefix.encode() if prefix else None,
    )
    supervisor.start()
    pids = {s.name: s.pid for s in supervisor.snapshot()}
    print("ready " + json.dumps(pids), flush=True)
    deadline_s = options.get("deadline_s")
    deadline = datetime.now(UTC) + timedelta(seconds=deadline_s) if deadline_s is not None else None
    reason = supervisor.run_until(deadline, stop_requested)
    supervisor.stop_all(kill_now=kill_now)
    signals()
    result = {
        "reason": reason,
        "statuses": [s.to_json() for s in supervisor.snapshot()],
        "maxrss_kib": peak_rss_kib(),
        "signal_exit_code": signals.exit_code,
    }
    print("result " + json.dumps(result), flush=True)
    if console is not None:
        console.close()
    if signals.exit_code:
        return signals.exit_code
    return 4 if supervisor.any_failed() else 0


if __name__ == "__main__":
    sys.exit(main())
