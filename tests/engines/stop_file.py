"""An engine deaf to stop signals that stops only when tradeday creates its TRADEDAY_STOP_FILE.

It ignores SIGTERM (and SIGBREAK, Windows' Ctrl+Break), so only the stop file (or the hard kill
after stop_timeout) ends it. It prints "ready pid=N" after its first look at the file, so
"ready" also means "no stale stop file was there"; "stop file seen" when the file appears; then
exits 0. With --child it first starts a child of the same kind (its pid in the ready line), so
a test can see that the request reaches the whole tree.
"""
import os
import signal
import subprocess
import sys
import time

for name in ("SIGTERM", "SIGBREAK"):
    if hasattr(signal, name):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
stop_file = os.environ["TRADEDAY_STOP_FILE"]
child = None
if "--child" in sys.argv:
    child = subprocess.Popen([sys.executable, __file__], stdout=subprocess.DEVNULL)
first = True
while not os.path.exists(stop_file):
    if first:
        extra = f" child={child.pid}" if child else ""
        print(f"ready pid={os.getpid()}{extra}", flush=True)
        first = False
    time.sleep(0.05)
print("stop file seen" if not first else "stop file was there at the start", flush=True)
if child is not None:
    child.wait()
sys.exit(0)
