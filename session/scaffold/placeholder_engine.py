#!/usr/bin/env python3
"""A placeholder engine, written by `tradeday init`: it trades nothing. Replace it with yours.

It is here so that a first `tradeday run` works end to end, and it keeps the engine contract
(docs/ENGINE.md in tradeday's repository) that your engine will keep too:

* prints its "starting" line once its SIGTERM handler is in place, one line per event, flushed;
* touches $TRADEDAY_HEARTBEAT every few seconds, so that the hang watchdog knows it is alive;
* on SIGTERM (the close) or SIGINT it stops and exits 0; it also stops if the process that
  started it goes away (where the kernel's parent-death signal does not exist);
* in live mode it refuses to start with exit 78, which tradeday treats as FATAL (no restart):
  a placeholder must never pass for a live engine.

Standard library only; run by tradeday's own interpreter (`{python}` in the config).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

EX_CONFIG = 78  # sysexits.h: a configuration error; tradeday does not restart the engine
STEP_SECONDS = 0.2  # how quickly a stop signal is noticed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="tradeday placeholder engine (trades nothing)")
    parser.add_argument("--mode", default=os.environ.get("TRADEDAY_MODE", "paper"), help="paper or live")
    parser.add_argument("--heartbeat-every", type=float, default=5.0, help="seconds between heartbeat touches")
    parser.add_argument("--say-every", type=float, default=60.0, help="seconds between 'still here' lines")
    args = parser.parse_args(argv)
    name = os.environ.get("TRADEDAY_ENGINE", "placeholder")
    if args.mode != "paper":
        print(f"placeholder engine {name}: refusing mode {args.mode!r}: replace engines/placeholder_engine.py "
              "with your own engine (see `engines:` in the config) before trading live", flush=True)
        return EX_CONFIG

    stop: list[str] = []

    def request_stop(signum: int, _frame: object) -> None:
        stop.append(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    parent = os.getppid()
    heartbeat = os.environ.get("TRADEDAY_HEARTBEAT")
    print(f"placeholder engine {name} starting: mode=paper pid={os.getpid()} "
          f"restarts={os.environ.get('TRADEDAY_RESTARTS', '0')}; it trades nothing (replace it with your engine)",
          flush=True)
    began = last_beat = last_said = time.monotonic()
    if heartbeat:
        Path(heartbeat).touch()
    while not stop:
        if os.getppid() != parent:
            stop.append("the supervisor is gone")
            break
        now = time.monotonic()
        if heartbeat and now - last_beat >= args.heartbeat_every:
            Path(heartbeat).touch()
            last_beat = now
        if now - last_said >= args.say_every:
            print(f"placeholder engine {name}: still here after {now - began:.0f}s; nothing to do", flush=True)
            last_said = now
        time.sleep(STEP_SECONDS)
    print(f"placeholder engine {name} stopping ({stop[0]}): no positions, nothing to flatten", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
