"""Broker probes: is the Kite Connect token valid, is TWS / IB Gateway reachable?

The probes are meant to run side by side in a precheck's thread pool. Each one must
return a result (never raise) within its own timeout, so that a hung broker makes one
check fail instead of stalling the whole morning.

Heavy client libraries (kiteconnect, ib_async) are imported inside the functions that
need them; importing this package must stay cheap.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_with_deadline(work: Callable[[], T], deadline_s: float, on_deadline: Callable[[], T], *, name: str) -> T:
    """Run ``work()`` in a daemon thread and wait at most ``deadline_s`` seconds for it.

    A backstop, not the primary timeout: the client libraries have their own timeouts,
    but those do not cover everything (DNS resolution, a server that trickles bytes, a
    library waiting on a step it did not put a timeout on). If the deadline passes, the
    worker is abandoned (it is a daemon and will end when its own timeout fires) and
    ``on_deadline()`` supplies the result. An exception raised by ``work`` is re-raised
    in the caller's thread.
    """
    value: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            value.append(work())
        except BaseException as exc:  # re-raised below in the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=target, name=name, daemon=True)
    worker.start()
    worker.join(deadline_s)
    if worker.is_alive():
        return on_deadline()
    if failure:
        raise failure[0]
    return value[0]
