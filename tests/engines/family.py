"""An engine with children that try to outlive it; all of them hold its stdout pipe.

usage: family.py [--exit-after SECONDS] [--stubborn] [--escape] [--anonymous]
  --stubborn   a child in the engine's group that ignores SIGTERM
  --escape     a grandchild that calls setsid() and is re-parented (double fork): neither a
               descendant nor in the group, only the TRADEDAY_ENGINE_INSTANCE token finds it
  --anonymous  like --escape but with an empty environment (no token): undiscoverable; it
               holds the pipe for 30 s
Each process prints "family <role> <pid>" once it is set up (signal dispositions included);
the engine prints "family ready" after all of them did and its own SIGTERM handler is in
place, so a test may stop it from then on and know what it is stopping.
"""
import os
import signal
import subprocess
import sys
import time

args = sys.argv[1:]
exit_after = float(args[args.index("--exit-after") + 1]) if "--exit-after" in args else None

# Children report "set up" by closing their copy of this pipe's write end: the engine reads
# until EOF, which comes once every child (and grandchild) has closed it.
ready_read, ready_write = os.pipe()

# Children write their line with one os.write: two processes print at the same time, and
# print() may split a line into two writes that interleave.
STUBBORN = (
    "import os,signal,sys,time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "os.write(1, f'family stubborn {os.getpid()}\\n'.encode())\n"
    "os.close(int(sys.argv[1]))\n"
    "while True: time.sleep(1)\n"
)


def spawn_stubborn() -> None:
    subprocess.Popen([sys.executable, "-c", STUBBORN, str(ready_write)], pass_fds=(ready_write,))


def spawn_escaped(env: dict | None, seconds: float | None) -> None:
    # Double fork: the middle process exits at once, so the grandchild is re-parented.
    code = (
        "import os,sys,time,signal\n"
        "ready = int(sys.argv[1])\n"
        "os.setsid()\n"
        "if os.fork():\n"
        "    os._exit(0)\n"
        + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if seconds is None else "")
        + "os.write(1, f'family escaped {os.getpid()}\\n'.encode())\n"
        + "os.close(ready)\n"
        + (f"time.sleep({seconds})\n" if seconds is not None else "while True: time.sleep(1)\n")
    )
    middle = subprocess.Popen([sys.executable, "-c", code, str(ready_write)], env=env, pass_fds=(ready_write,))
    middle.wait()


print(f"family engine {os.getpid()}", flush=True)
if "--stubborn" in args:
    spawn_stubborn()
if "--escape" in args:
    spawn_escaped(None, None)
if "--anonymous" in args:
    spawn_escaped({"PATH": os.environ.get("PATH", "")}, 30.0)
os.close(ready_write)
while os.read(ready_read, 1):  # EOF: every child has printed its pid and set itself up
    pass
os.close(ready_read)
if exit_after is None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("family ready", flush=True)
if exit_after is not None:
    time.sleep(exit_after)
    sys.exit(0)
while True:
    time.sleep(1)
