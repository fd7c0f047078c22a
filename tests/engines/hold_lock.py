"""Take the day lock and hold it until killed.

usage: hold_lock.py ARTIFACTS YYYY-MM-DD [--child]
--child also starts a long-lived child with close_fds=False (like an engine) and prints
"child PID": if the lock's descriptor were inheritable, the child would keep the lock
after this process is SIGKILLed.
"""
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from session.lock import acquire_day_lock  # noqa: E402

lock = acquire_day_lock(Path(sys.argv[1]), date.fromisoformat(sys.argv[2]))
if "--child" in sys.argv:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], close_fds=False)
    print(f"child {child.pid}", flush=True)
print("locked", flush=True)
while True:
    time.sleep(1)
