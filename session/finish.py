"""The last thing ``tradeday run`` does: send the notifications still queued, within
``notifications.flush_timeout``, unless a stop signal says to stop now."""
from __future__ import annotations

import threading
from typing import Any


def flush_notifications(hub: Any, timeout: float, signal_received: list[int], seen: int) -> int | None:
    """Close ``hub`` (a NotificationHub, or None) on a thread, waiting at most ``timeout``.

    A signal appended to ``signal_received`` past its first ``seen`` entries (the stop handlers
    append; ``seen``: how many had come when the day's work was done) cuts the flush short: what
    is unsent goes to the outbox for the next run, as at the flush timeout. Returns that
    signal's number, or None when none came.
    """
    if hub is None:
        return None
    closer = threading.Thread(target=hub.close, args=(timeout,), name="tradeday-notify-flush", daemon=True)
    closer.start()
    while closer.is_alive():
        closer.join(0.1)
        if len(signal_received) > seen:
            hub.cut_short()
            closer.join()  # writing the outbox: quick
    return signal_received[seen] if len(signal_received) > seen else None
