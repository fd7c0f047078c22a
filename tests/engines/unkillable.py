"""Ignore SIGTERM and SIGINT (supervisord's 'unkillable'): only SIGKILL stops it."""
import os
import signal
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
print(f"unkillable pid={os.getpid()}", flush=True)
while True:
    time.sleep(3600)
