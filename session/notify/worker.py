"""The queue and sender thread of one notification channel (the hub has one per channel).

Messages wait in one deque per level, so that a full queue drops the oldest message of a
lower level first; the thread sends them in arrival order, within the channel's rate
limit, retrying by the policy in ``delivery``, and writes what still fails to the outbox.
Late items (re-sent from the outbox) wait in ``backlog`` behind every live message.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.redact import GLOBAL_REDACTOR
from session.notify.channels import Transport, scrub
from session.notify.config import ChannelConfig
from session.notify.delivery import DeliveryResult, deliver
from session.notify.levels import LEVELS_ASCENDING, AlertLevel
from session.notify.message import NotificationMessage
from session.notify.outbox import make_entry, new_entry_id

if TYPE_CHECKING:
    from session.notify.hub import NotificationHub

log = logging.getLogger("tradeday.notify")

RATE_WINDOW = 60.0
# A late (outbox) message gets fewer tries: if the channel is still down it stays in
# the outbox anyway, and live messages wait behind it.
LATE_MAX_ATTEMPTS = 2
# Beyond the longest a send can take by the config (connect, read and the bounded body
# read per attempt, plus the waits): name resolution is not covered by timeouts.
CLAIM_MARGIN = 120.0


@dataclass
class QueueItem:
    seq: int
    message: NotificationMessage
    # Its outbox id, given when it is first written there (uuid4 is too slow for emit).
    entry_id: str | None = None
    # For a late item: the outbox entry being re-sent.
    late_entry: dict[str, Any] | None = None


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.sent: deque[float] = deque()

    def delay(self) -> float:
        now = self.clock()
        while self.sent and now - self.sent[0] >= RATE_WINDOW:
            self.sent.popleft()
        if len(self.sent) < self.per_minute:
            return 0.0
        return RATE_WINDOW - (now - self.sent[0])

    def record(self) -> None:
        self.sent.append(self.clock())


class ChannelWorker:
    """The queue and sender thread of one channel."""

    def __init__(self, hub: NotificationHub, config: ChannelConfig, transport: Transport) -> None:
        self.hub = hub
        self.config = config
        self.transport = transport
        self.name = config.label
        self.cond = threading.Condition(threading.RLock())
        # One deque per level keeps "drop the oldest lower-level message" O(1); the
        # sequence number restores arrival order across them.
        self.queues: dict[AlertLevel, deque[QueueItem]] = {level: deque() for level in AlertLevel}
        self.size = 0
        self.backlog: deque[QueueItem] = deque()
        self.inflight: QueueItem | None = None
        self.inflight_settled = False  # its send is over and the sender is recording the outcome
        self.closing = False
        self.abandoned = False
        # Set by close() once it has written an abandoned worker's messages to the outbox.
        self.stranded_written = threading.Event()
        self.dropped = 0
        self.late_refusals = 0
        self.limiter = RateLimiter(config.rate_limit, hub.clock)
        self.thread = threading.Thread(target=self._run, name=f"tradeday-notify-{self.name}", daemon=True)

    # ----------------------------------------------------------- producer side
    def accepts(self, message: NotificationMessage) -> bool:
        if message.level < self.config.min_level:
            return False
        return not self.config.events or message.event in self.config.events

    def put(self, item: QueueItem) -> None:
        level = item.message.level
        with self.cond:
            if self.closing:
                return
            if self.size >= self.hub.config.queue_size and not self._make_room(level):
                self._count_drop()
                return
            self.queues[level].append(item)
            self.size += 1
            self.cond.notify_all()

    def _make_room(self, level: AlertLevel) -> bool:
        victims: deque[QueueItem] | None = None
        for lower in LEVELS_ASCENDING:
            if lower is level:
                break
            if self.queues[lower]:
                victims = self.queues[lower]  # the oldest lower-level message goes first
                break
        if victims is None:
            if not self.queues[level]:
                return False  # everything queued is more important than this
            victims = self.queues[level]
        victims.popleft()
        self.size -= 1
        self._count_drop()
        return True

    def _count_drop(self) -> None:
        self.dropped += 1
        first = self.hub._count_drop(self.name)
        if first:
            log.warning("%s: notification queue full (%d); dropping lower-level messages", self.name, self.hub.config.queue_size)

    def _pop(self) -> QueueItem | None:
        heads = [q[0] for q in self.queues.values() if q]
        if not heads:
            return None
        oldest = min(heads, key=lambda it: it.seq)
        self.queues[oldest.message.level].popleft()
        self.size -= 1
        return oldest

    def take_all(self) -> list[QueueItem]:
        with self.cond:
            items = sorted((it for q in self.queues.values() for it in q), key=lambda it: it.seq)
            for q in self.queues.values():
                q.clear()
            self.size = 0
            return items

    # ----------------------------------------------------------- sender thread
    def _run(self) -> None:
        try:
            while True:
                with self.cond:
                    while not (self.size or self.closing or self.backlog):
                        self.cond.wait()
                    if self.abandoned:
                        return
                    item = self._pop()
                    if item is None and self.backlog and not self.closing:
                        item = self.backlog.popleft()
                    if item is None:
                        return  # closing and nothing left
                    self.inflight = item
                    self.inflight_settled = False
                if self.hub._past_deadline():
                    with self.cond:
                        self.inflight = None
                        # If close() already abandoned us, it wrote these itself.
                        stranded = [] if self.abandoned else [item, *self.take_all()]
                        self.cond.notify_all()
                    self.give_up(stranded, "no time left before exit")
                    return
                try:
                    if item.late_entry is not None:
                        self._send_late(item)
                    else:
                        self._send_live(item)
                finally:
                    with self.cond:
                        self.inflight = None
                        self.cond.notify_all()
        except Exception as exc:  # never die silently with messages queued
            log.error("%s: sender thread failed: %s: %s", self.name, type(exc).__name__, scrub(str(exc)))
            self.give_up(self.take_all(), "sender thread failed")
        finally:
            self.transport.close()

    def _wait_for_rate_slot(self) -> bool:
        while True:
            delay = self.limiter.delay()
            if delay <= 0:
                return True
            limit = self.hub._deadline
            if limit is not None and time.monotonic() + delay > limit:
                return False
            # Short slices: the clock may be a test's, and close() may set a deadline.
            self.hub._wait(min(delay, 1.0))

    def _deliver(self, item: QueueItem, max_attempts: int) -> DeliveryResult:
        cfg = self.hub.config
        return deliver(
            self.transport,
            item.message,
            timeout=cfg.timeout,
            max_attempts=max_attempts,
            backoff=cfg.backoff,
            max_retry_wait=cfg.max_retry_wait,
            deadline=lambda: self.hub._deadline,
            wait=self.hub._wait,
        )

    def _send_live(self, item: QueueItem) -> None:
        if not self._wait_for_rate_slot():
            self.give_up([item], f"rate limit ({self.config.rate_limit}/min) left no time before exit")
            return
        self.limiter.record()
        result = self._deliver(item, self.hub.config.max_attempts)
        with self.cond:
            abandoned = self.abandoned
            if not abandoned:
                # Its outcome is ours to record from here: a close() giving up on this
                # sender while it writes to the outbox must not write the message as well
                # (kept twice, it would be sent twice). Still in flight for flush() until
                # it is recorded.
                self.inflight_settled = True
        if abandoned:
            # close() gave up waiting and writes this message to the outbox, claimed
            # for this process so that no other drains it meanwhile.
            if not self.stranded_written.wait(self.hub.outbox.lock_timeout + 5.0):
                return  # close() is stuck writing it: it stays (delivery is at least once)
            if item.entry_id:
                if result.ok:
                    self.hub.outbox.remove([item.entry_id])
                else:
                    self._release([item.entry_id])
            return
        if result.ok:
            self.hub._count("sent")
            log.debug("%s: sent %r", self.name, item.message.title)
            return
        kind = "refused" if result.permanent else f"failed after {result.attempts} attempt(s)"
        log.error(
            "%s: notification %r %s (%s); kept in the outbox %s",
            self.name, GLOBAL_REDACTOR(item.message.title), kind, result.error, self.hub.outbox.path,
        )
        self._to_outbox([item], attempts=result.attempts, error=result.error, permanent=result.permanent)

    def claim_ttl(self, attempts: int) -> float:
        """How long a claim must hold for a send of ``attempts`` tries to end."""
        cfg = self.hub.config
        return attempts * 3 * cfg.timeout + max(attempts - 1, 0) * cfg.max_retry_wait + CLAIM_MARGIN

    def _claim(self, entry_id: str, ttl: float) -> bool:
        from filelock import Timeout

        try:
            return self.hub.outbox.claim(entry_id, ttl)
        except (OSError, Timeout) as exc:
            # Sending unclaimed could deliver it twice; it stays for a later drain.
            log.warning("%s: could not claim outbox entry %s (%s); left for later", self.name, entry_id, exc)
            return False

    def _send_late(self, item: QueueItem) -> None:
        if not self._wait_for_rate_slot():
            return  # stays in the outbox
        attempts = min(LATE_MAX_ATTEMPTS, self.hub.config.max_attempts)
        entry_id = item.entry_id or ""
        if not self._claim(entry_id, self.claim_ttl(attempts)):
            return  # another process is sending it, or has sent it
        sent = False
        try:
            self.limiter.record()
            result = self._deliver(item, attempts)
            if result.ok:
                self.hub.outbox.remove([entry_id])  # its claim goes with it
                sent = True
        finally:
            if not sent:
                self._release([entry_id])
        if sent:
            self.late_refusals = 0
            self.hub._count("late_sent")
        else:
            self._late_failed(item, result)

    def _release(self, ids: list[str]) -> None:
        from filelock import Timeout

        try:
            self.hub.outbox.release(ids)
        except (OSError, Timeout) as exc:  # the claim expires by itself
            log.warning("%s: could not release outbox claim(s) (%s)", self.name, exc)

    def _late_failed(self, item: QueueItem, result: DeliveryResult) -> None:
        if result.permanent:
            # The service refused this one message (say, a 400 for its content): skip it,
            # so one bad entry cannot block every later one. Two refusals in a row mean
            # the channel itself is refused (revoked webhook): stop.
            self.late_refusals += 1
            if self.late_refusals < 2:
                log.warning("%s: late notification %r refused (%s); left in the outbox", self.name, item.message.title, result.error)
                return
        with self.cond:
            left = len(self.backlog) + 1
            self.backlog.clear()
        log.warning("%s: still failing (%s); %d late notification(s) stay in the outbox", self.name, result.error, left)

    def give_up(self, items: list[QueueItem], reason: str, *, still_sending: QueueItem | None = None) -> None:
        """Write ``items`` to the outbox; ``still_sending`` (one of them, in flight) is
        written claimed, so no other process sends it while this one still might."""
        live = [it for it in items if it.late_entry is None]  # late ones are still in the outbox
        if live:
            self._to_outbox(live, attempts=0, error=reason, permanent=False, still_sending=still_sending)
            log.warning("%s: %d notification(s) not sent (%s); kept in the outbox %s", self.name, len(live), reason, self.hub.outbox.path)

    def _to_outbox(self, items: list[QueueItem], *, attempts: int, error: str, permanent: bool,
                   still_sending: QueueItem | None = None) -> None:
        for it in items:
            it.entry_id = it.entry_id or new_entry_id()
        entries = [
            make_entry(
                entry_id=it.entry_id or "",
                channel=self.name,
                channel_type=self.config.type,
                message=it.message,
                attempts=attempts,
                error=error,
                permanent=permanent,
            )
            for it in items
        ]
        claimed = [still_sending.entry_id] if still_sending is not None and still_sending.entry_id else []
        try:
            self.hub.outbox.append(entries, claimed=claimed, claim_ttl=self.claim_ttl(self.hub.config.max_attempts))
        except OSError as exc:
            log.error("%s: could not write %d notification(s) to the outbox: %s", self.name, len(entries), exc)
            return
        self.hub._count("to_outbox", len(entries))
