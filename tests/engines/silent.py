"""Print one line, then stay silent (a hung engine) — optionally touching the heartbeat file.

usage: silent.py [--heartbeat-every SECONDS]
"""
import os
import sys
import time
from pathlib import Path

every = float(sys.argv[sys.argv.index("--heartbeat-every") + 1]) if "--heartbeat-every" in sys.argv else 0.0
print(f"silent pid={os.getpid()} restarts={os.environ.get('TRADEDAY_RESTARTS')}", flush=True)
heartbeat = os.environ.get("TRADEDAY_HEARTBEAT")
while True:
    if every and heartbeat:
        Path(heartbeat).touch()
        time.sleep(every)
    else:
        time.sleep(3600)
