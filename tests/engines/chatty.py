"""A chatty engine for the console settings: ordinary lines and error lines on both streams,
a Python traceback on stderr, lines that only look close to errors, a protocol line, then
enough filler to span many reads. Exits 0.

usage: chatty.py NAME [FILLER_LINES] [--until FILE]
  --until FILE: after the fixed lines, print "waiting" lines until FILE exists, then "AFTER"
  and exit (a test changes the console setting in between).
Every line carries NAME so a test can tell the engines apart on a shared console.
"""
import json
import os
import sys
import time

name = sys.argv[1]
filler = int(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else 0
until = sys.argv[sys.argv.index("--until") + 1] if "--until" in sys.argv else None
out, err = sys.stdout, sys.stderr

print(f"{name} plain stdout line", file=out, flush=True)
print(f"{name} plain stderr line", file=err, flush=True)
print(f"12:00:01 ERROR {name} order rejected: margin", file=out, flush=True)
print(f"{name} CRITICAL broker session lost", file=err, flush=True)
print(f"{name} FATAL: cannot continue", file=out, flush=True)
print(f"{name} ERRORS: 0, TERRORIST alerts 0, error rate low", file=out, flush=True)  # not error lines
print(f"{name} INFO logging writes every level to stderr", file=err, flush=True)
print(f"{name} Traceback (most recent call last):", file=err, flush=True)
print(f'  File "{name}.py", line 3, in <module>', file=err, flush=True)
print("    raise ValueError('boom')", file=err, flush=True)
print(f"ValueError: boom {name}", file=err, flush=True)
print(f"{name} after the traceback", file=err, flush=True)
print("@tradeday " + json.dumps({"event": "message", "level": "info", "title": f"BUY 10 AAPL {name}"}), flush=True)
for i in range(filler):
    out.write(f"{name} filler {i:07d} {'x' * 60}\n")
out.flush()
if until:
    while not os.path.exists(until):
        print(f"{name} waiting", flush=True)
        time.sleep(0.02)
    print(f"{name} AFTER the change", flush=True)
print(f"{name} done", file=out, flush=True)
