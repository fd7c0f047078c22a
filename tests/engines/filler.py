"""An engine that appends fills to TRADEDAY_JOURNAL (with flock, as docs/ENGINE.md asks).

usage: filler.py [--rounds N] [--interval S] [--losing]
  default     N rounds of partial fills, a flip through zero and a short left open, then
              prints "filler paused <fills>" and idles until SIGTERM (exit 0)
  --losing    losing round trips (buy 100, sell 95, fees) every S seconds until SIGTERM, long
              in between; on SIGTERM it flattens (journals a closing sell at 94) and exits 0
Prints "filler wrote <n>" after each fill it journaled.
"""
import fcntl
import os
import signal
import sys
import time
from datetime import UTC, datetime

args = sys.argv[1:]
rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
interval = float(args[args.index("--interval") + 1]) if "--interval" in args else 0.01
losing = "--losing" in args
journal = os.environ["TRADEDAY_JOURNAL"]
tag = f"{os.environ.get('TRADEDAY_ENGINE', 'filler')}-{os.getpid()}"
count = 0
position = 0
stopping = False


def fill(symbol: str, side: str, qty: str, price: str, fees: str) -> None:
    global count, position
    count += 1
    now = datetime.now(UTC).astimezone().isoformat(timespec="microseconds")
    line = f"{now},{tag.split('-')[0]},{symbol},{side},{qty},{price},{fees},O{count},{tag}-{count}\n"
    with open(journal, "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if fh.tell() == 0:
            fh.write("time,strategy,symbol,side,quantity,price,fees,order_id,trade_id\n")
        fh.write(line)
        fh.flush()
    position += int(float(qty)) * (1 if side == "BUY" else -1)
    print(f"filler wrote {count}", flush=True)


def on_term(*_):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)
if losing:  # long most of the time: a round trip closes and the next one opens at once
    fill("LOSS", "BUY", "10", "100", "0.5")
    while not stopping:
        time.sleep(interval)
        if stopping:
            break
        fill("LOSS", "SELL", "10", "95", "0.5")
        fill("LOSS", "BUY", "10", "100", "0.5")
    if position:
        fill("LOSS", "SELL" if position > 0 else "BUY", str(abs(position)), "94", "0.5")  # flatten
    sys.exit(0)
for r in range(rounds):
    sym = f"S{r}"
    fill(sym, "BUY", "10", "100", "0.2")
    fill(sym, "SELL", "4", "101.25", "0.1")     # partial
    fill(sym, "SELL", "10", "99.5", "0.3")      # through zero: short 4
    fill(sym, "BUY", "4", "98", "0")            # flat
    fill(sym, "SELL", "3", "50.125", "0.05")    # a short left open
    time.sleep(interval)
print(f"filler paused {count}", flush=True)
while not stopping:
    time.sleep(0.05)
sys.exit(0)
