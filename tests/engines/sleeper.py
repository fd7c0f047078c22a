"""A well-behaved idle engine: prints its pid, exits 0 on SIGTERM."""
import os
import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"sleeper pid={os.getpid()} ppid={os.getppid()}", flush=True)
while True:
    time.sleep(1)
