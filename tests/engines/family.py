"""An engine with children that try to outlive it; all of them hold its stdout pipe.

usage: family.py [--exit-after SECONDS] [--stubborn] [--escape] [--anonymous]
  --stubborn   a child in the engine's group that ignores SIGTERM
  --escape     a grandchild that calls setsid() and is re-parented (double fork): neither a
               descendant nor in the group, only the TRADEDAY_ENGINE_INSTANCE token finds it
  --anonymous  like --escape but with an empty environment (no token): undiscoverable; it
               holds the pipe for 30 s
Prints "family <role> <pid>" for each process, then "family ready".
"""
import os
import signal
import subprocess
import sys
import time

args = sys.argv[1:]
exit_after = float(args[args.index("--exit-after") + 1]) if "--exit-after" in args else None

SLEEPER = "import signal,time\n{ignore}\nwhile True: time.sleep(1)"


def spawn_stubborn() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SLEEPER.format(ignore="signal.signal(signal.SIGTERM, signal.SIG_IGN)")]
    )
    print(f"family stubborn {proc.pid}", flush=True)


def spawn_escaped(env: dict | None, seconds: float | None) -> None:
    # Double fork: the middle process exits at once, so the grandchild is re-parented.
    code = (
        "import os,sys,time,signal\n"
        "os.setsid()\n"
        "pid = os.fork()\n"
        "if pid:\n"
        "    print(f'family escaped {pid}', flush=True); os._exit(0)\n"
        + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if seconds is None else "")
        + (f"time.sleep({seconds})\n" if seconds is not None else "while True: time.sleep(1)\n")
    )
    middle = subprocess.Popen([sys.executable, "-c", code], env=env)
    middle.wait()


print(f"family engine {os.getpid()}", flush=True)
if "--stubborn" in args:
    spawn_stubborn()
if "--escape" in args:
    spawn_escaped(None, None)
if "--anonymous" in args:
    spawn_escaped({"PATH": os.environ.get("PATH", "")}, 30.0)
time.sleep(0.2)  # let the children print their pids before "ready"
print("family ready", flush=True)
if exit_after is not None:
    time.sleep(exit_after)
    sys.exit(0)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(1)
