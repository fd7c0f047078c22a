"""Exit with a given code, like a crashing (or finishing) engine.

usage: crash.py [EXIT_CODE] [--after SECONDS]
Prints one line with TRADEDAY_RESTARTS and the wall time just before exiting, so a test
can measure how fast the supervisor noticed.
"""
import os
import sys
import time

args = sys.argv[1:]
after = 0.0
if "--after" in args:
    i = args.index("--after")
    after = float(args[i + 1])
    del args[i : i + 2]
code = int(args[0]) if args else 1
if after:
    time.sleep(after)
print(f"crash restarts={os.environ.get('TRADEDAY_RESTARTS')} exit={code} at={time.time():.6f}", flush=True)
sys.exit(code)
