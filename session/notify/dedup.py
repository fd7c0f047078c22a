"""De-duplication: identical messages inside ``dedup_window`` are folded into one.

The first message of a key is sent; repeats inside the window are counted, and the next
one sent after the window carries the count (``repeated``). At close the hub re-sends the
last folded repeat of each key, so that a repeat is never lost unreported.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from session.notify.message import NotificationMessage

# Keys older than the dedup window are forgotten once this many are held.
DEDUP_PRUNE_AT = 2000


@dataclass
class _DedupState:
    sent_at: float
    suppressed: int = 0
    last: NotificationMessage | None = None


class Deduplicator:
    """Not thread-safe by itself: the hub calls it under its own lock."""

    def __init__(self, window: float, clock: Callable[[], float]) -> None:
        self.window = window
        self.clock = clock
        self._seen: dict[str, _DedupState] = {}
        self._prune_at = DEDUP_PRUNE_AT

    def admit(self, message: NotificationMessage) -> bool:
        """True to send ``message`` (marked with the repeats folded since the last one),
        False if it repeats one sent inside the window."""
        window = self.window
        if window <= 0:
            return True
        now = self.clock()
        key = message.dedup_key
        state = self._seen.get(key)
        if state is not None and now - state.sent_at < window:
            state.suppressed += 1
            state.last = message
            return False
        if state is not None and state.suppressed:
            message.repeated = state.suppressed
        if len(self._seen) >= self._prune_at:
            for old in [k for k, s in self._seen.items() if now - s.sent_at >= window and not s.suppressed]:
                del self._seen[old]
            # Amortised: a flood of distinct keys inside the window must not make every
            # emit scan them all.
            self._prune_at = max(DEDUP_PRUNE_AT, 2 * len(self._seen))
        self._seen[key] = _DedupState(sent_at=now)
        return True

    def take_suppressed(self) -> list[tuple[NotificationMessage, int]]:
        """The last folded repeat of each key and how many were folded; resets the counts."""
        pending = [(s.last, s.suppressed) for s in self._seen.values() if s.suppressed and s.last is not None]
        for state in self._seen.values():
            state.suppressed = 0
        return [(message, count) for message, count in pending if message is not None]
