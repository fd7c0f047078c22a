"""NotificationHub: tradeday's non-blocking, retrying, nothing-lost notification sender.

``emit`` only puts the message on each matching channel's bounded queue and returns; a
daemon thread per channel sends it (so a hanging Slack does not hold back Telegram),
retries by the policy in ``delivery``, and appends what still fails to the outbox, which
the next hub re-sends (``drain_outbox``). ``close`` flushes for at most ``flush_timeout``
and moves what is left to the outbox.
"""
from __future__ import annotations

import atexit
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.redact import GLOBAL_REDACTOR, mask_url
from session.notify.channels import Transport, make_transport, scrub
from session.notify.config import ChannelConfig, NotificationsConfig, secret_values
from session.notify.delivery import deliver
from session.notify.diagnostics import check_channel_config
from session.notify.levels import EVENTS_OFF_BY_DEFAULT, LEVELS_ASCENDING, AlertLevel, default_level
from session.notify.message import NotificationMessage
from session.notify.outbox import Outbox, make_entry, new_entry_id

log = logging.getLogger("tradeday.notify")

RATE_WINDOW = 60.0
# A late (outbox) message gets fewer tries: if the channel is still down it stays in
# the outbox anyway, and live messages wait behind it.
LATE_MAX_ATTEMPTS = 2
PING_TIMEOUT_MAX = 5.0
PING_BODY_MAX = 10_000
# Keys older than the dedup window are forgotten once this many are held.
DEDUP_PRUNE_AT = 2000
PING_KINDS = ("start", "success", "fail")


@dataclass
class _Item:
    seq: int
    message: NotificationMessage
    # Its outbox id, given when it is first written there (uuid4 is too slow for emit).
    entry_id: str | None = None
    # For a late item: the outbox entry being re-sent.
    late_entry: dict[str, Any] | None = None


@dataclass
class _DedupState:
    sent_at: float
    suppressed: int = 0
    last: NotificationMessage | None = None


@dataclass
class HubStats:
    sent: int = 0
    late_sent: int = 0
    to_outbox: int = 0
    dropped: int = 0
    suppressed: int = 0
    per_channel_dropped: dict[str, int] = field(default_factory=dict)


class _RateLimiter:
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


class _ChannelWorker:
    """The queue and sender thread of one channel."""

    def __init__(self, hub: NotificationHub, config: ChannelConfig, transport: Transport) -> None:
        self.hub = hub
        self.config = config
        self.transport = transport
        self.name = config.label
        self.cond = threading.Condition(threading.RLock())
        # One deque per level keeps "drop the oldest lower-level message" O(1); the
        # sequence number restores arrival order across them.
        self.queues: dict[AlertLevel, deque[_Item]] = {level: deque() for level in AlertLevel}
        self.size = 0
        self.backlog: deque[_Item] = deque()
        self.inflight: _Item | None = None
        self.closing = False
        self.abandoned = False
        self.dropped = 0
        self.late_refusals = 0
        self.limiter = _RateLimiter(config.rate_limit, hub.clock)
        self.thread = threading.Thread(target=self._run, name=f"tradeday-notify-{self.name}", daemon=True)

    # ----------------------------------------------------------- producer side
    def accepts(self, message: NotificationMessage) -> bool:
        if message.level < self.config.min_level:
            return False
        return not self.config.events or message.event in self.config.events

    def put(self, item: _Item) -> None:
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
        victims: deque[_Item] | None = None
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

    def _pop(self) -> _Item | None:
        heads = [q[0] for q in self.queues.values() if q]
        if not heads:
            return None
        oldest = min(heads, key=lambda it: it.seq)
        self.queues[oldest.message.level].popleft()
        self.size -= 1
        return oldest

    def take_all(self) -> list[_Item]:
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
                if self.hub._past_deadline():
                    with self.cond:
                        self.inflight = None
                        # If close() already abandoned us, it wrote these itself.
                        stranded = [] if self.abandoned else [item, *self.take_all()]
                        self.cond.notify_all()
                    self._give_up(stranded, "no time left before exit")
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
            self._give_up(self.take_all(), "sender thread failed")
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

    def _deliver(self, item: _Item, max_attempts: int) -> Any:
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

    def _send_live(self, item: _Item) -> None:
        if not self._wait_for_rate_slot():
            self._give_up([item], f"rate limit ({self.config.rate_limit}/min) left no time before exit")
            return
        self.limiter.record()
        result = self._deliver(item, self.hub.config.max_attempts)
        with self.cond:
            abandoned = self.abandoned
        if abandoned:
            # close() gave up waiting and already wrote this message to the outbox.
            if result.ok and item.entry_id:
                self.hub.outbox.remove([item.entry_id])
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

    def _send_late(self, item: _Item) -> None:
        if not self._wait_for_rate_slot():
            return  # stays in the outbox
        self.limiter.record()
        result = self._deliver(item, min(LATE_MAX_ATTEMPTS, self.hub.config.max_attempts))
        if result.ok:
            self.late_refusals = 0
            self.hub.outbox.remove([item.entry_id or ""])
            self.hub._count("late_sent")
            return
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

    def _give_up(self, items: list[_Item], reason: str) -> None:
        live = [it for it in items if it.late_entry is None]  # late ones are still in the outbox
        if live:
            self._to_outbox(live, attempts=0, error=reason, permanent=False)
            log.warning("%s: %d notification(s) not sent (%s); kept in the outbox %s", self.name, len(live), reason, self.hub.outbox.path)

    def _to_outbox(self, items: list[_Item], *, attempts: int, error: str, permanent: bool) -> None:
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
        try:
            self.hub.outbox.append(entries)
        except OSError as exc:
            log.error("%s: could not write %d notification(s) to the outbox: %s", self.name, len(entries), exc)
            return
        self.hub._count("to_outbox", len(entries))


class NotificationHub:
    """Sends tradeday's notifications; see the module docstring.

    ``clock`` (monotonic seconds) drives de-duplication and rate limits; tests pass a
    fake one.
    """

    def __init__(
        self,
        config: NotificationsConfig,
        outbox_path: str | Path,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.clock = clock
        self.outbox = Outbox(outbox_path)
        self.stats = HubStats()
        self._lock = threading.RLock()
        self._seq = itertools.count()
        self._dedup: dict[str, _DedupState] = {}
        self._dedup_prune_at = DEDUP_PRUNE_AT
        self._closed = False
        self._closing = threading.Event()
        self._deadline: float | None = None
        self._workers: list[_ChannelWorker] = []
        self._loader: threading.Thread | None = None
        for secret in secret_values(config):
            GLOBAL_REDACTOR.add(secret)
        if not config.enabled:
            return
        for channel in config.channels:
            problems = check_channel_config(channel)
            if problems:
                log.warning("notification channel %s not used: %s", channel.label, "; ".join(problems))
                continue
            self._workers.append(_ChannelWorker(self, channel, make_transport(channel)))
        for worker in self._workers:
            worker.thread.start()
        atexit.register(self._close_at_exit)

    # ---------------------------------------------------------------- properties
    @property
    def enabled(self) -> bool:
        return self.config.enabled

    @property
    def channel_names(self) -> list[str]:
        """The channels this hub sends to (configured and usable)."""
        return [w.name for w in self._workers]

    def event_enabled(self, event: str) -> bool:
        return self.config.events.get(event, event not in EVENTS_OFF_BY_DEFAULT)

    # ---------------------------------------------------------------- emitting
    def emit(
        self,
        event: str,
        level: AlertLevel | str | None,
        title: str,
        message: str,
        fields: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> None:
        """Queue a notification and return at once; never blocks, never raises for
        delivery problems. ``level`` None means the event's default level."""
        if not self.config.enabled or self._closed:
            return
        try:
            resolved = default_level(event) if level is None else AlertLevel.parse(level)
        except ValueError:
            # A caller's typo must not lose the alert (or raise into the trading day).
            log.warning("notification %r: unknown level %r; using %s", title, level, default_level(event).name)
            resolved = default_level(event)
        self.emit_message(
            NotificationMessage(title=title, message=message, level=resolved, metadata=dict(fields or {}), event=event, key=key)
        )

    def emit_message(self, message: NotificationMessage) -> None:
        """Queue an already-built message (e.g. from ``parse_engine_line``)."""
        if not self.config.enabled or self._closed or not self.event_enabled(message.event):
            return
        with self._lock:
            if not self._dedup_admit(message):
                return
        self._fan_out(message)

    def _dedup_admit(self, message: NotificationMessage) -> bool:
        window = self.config.dedup_window
        if window <= 0:
            return True
        now = self.clock()
        key = message.dedup_key
        state = self._dedup.get(key)
        if state is not None and now - state.sent_at < window:
            state.suppressed += 1
            state.last = message
            self.stats.suppressed += 1
            return False
        if state is not None and state.suppressed:
            message.repeated = state.suppressed
        if len(self._dedup) >= self._dedup_prune_at:
            for old in [k for k, s in self._dedup.items() if now - s.sent_at >= window and not s.suppressed]:
                del self._dedup[old]
            # Amortised: a flood of distinct keys inside the window must not make every
            # emit scan them all.
            self._dedup_prune_at = max(DEDUP_PRUNE_AT, 2 * len(self._dedup))
        self._dedup[key] = _DedupState(sent_at=now)
        return True

    def _fan_out(self, message: NotificationMessage) -> None:
        for worker in self._workers:
            if worker.accepts(message):
                worker.put(_Item(next(self._seq), message))

    # ---------------------------------------------------------------- outbox
    def drain_outbox(self) -> None:
        """Start re-sending outbox entries for this hub's channels (oldest first, marked
        late) in the background. Live messages go first; a channel that still fails
        stops draining and keeps its entries. Returns at once."""
        if not self._workers or self._closed:
            return
        self._loader = threading.Thread(target=self._load_backlog, name="tradeday-notify-outbox", daemon=True)
        self._loader.start()

    def _load_backlog(self) -> None:
        try:
            entries = self.outbox.read()
        except Exception as exc:
            log.error("could not read the outbox %s: %s", self.outbox.path, scrub(str(exc)))
            return
        by_name = {w.name: w for w in self._workers}
        loaded = 0
        for entry in entries:
            worker = by_name.get(str(entry.get("channel")))
            if worker is None:
                continue  # that channel is not configured (or not usable) now: keep it
            try:
                message = NotificationMessage.from_record(entry["message"])
            except (TypeError, ValueError, KeyError) as exc:
                log.warning("outbox entry %s is damaged (%s); left in place", entry.get("id"), type(exc).__name__)
                continue
            message.late = True
            with worker.cond:
                if worker.closing:
                    continue
                worker.backlog.append(_Item(next(self._seq), message, entry["id"], late_entry=entry))
                worker.cond.notify_all()
            loaded += 1
        if loaded:
            log.info("re-sending %d notification(s) from the outbox %s", loaded, self.outbox.path)

    # ---------------------------------------------------------------- waiting
    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until every queue (and outbox backlog) is empty
        and nothing is being sent; True if it got there."""
        end = time.monotonic() + timeout
        if self._loader is not None:
            self._loader.join(max(0.0, end - time.monotonic()))
            if self._loader.is_alive():
                return False
        for worker in self._workers:
            with worker.cond:
                while not (worker.size == 0 and worker.inflight is None and not worker.backlog):
                    remaining = end - time.monotonic()
                    if remaining <= 0 or not worker.thread.is_alive():
                        return False
                    worker.cond.wait(min(remaining, 0.1))
        return True

    def _wait(self, seconds: float) -> bool:
        # Before close(): sleep, but wake when close() starts so the deadline is seen.
        # After: the deadline has been checked, so plain sleep (Event.wait would return
        # at once and spin).
        if not self._closing.is_set():
            return self._closing.wait(seconds)
        time.sleep(seconds)
        return False

    def _past_deadline(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + n)

    def _count_drop(self, channel: str) -> bool:
        with self._lock:
            self.stats.dropped += 1
            n = self.stats.per_channel_dropped.get(channel, 0) + 1
            self.stats.per_channel_dropped[channel] = n
            return n == 1

    # ---------------------------------------------------------------- health check
    def ping(self, kind: str = "success", body: str | None = None) -> bool:
        """Signal the dead-man's switch (healthchecks.io style): ``start`` -> URL/start,
        ``success`` -> URL, ``fail`` -> URL/fail. Waits at most the ping timeout, never
        raises; True if the service answered 2xx in time."""
        url = self.config.healthcheck_url
        if not self.config.enabled or not url:
            return False
        if kind not in PING_KINDS:
            log.error("unknown health-check ping %r (use start, success or fail)", kind)
            return False
        try:
            target = _ping_url(url, kind)
        except ValueError:
            log.warning("healthcheck_url is not a valid URL; ping skipped")
            return False
        timeout = min(self.config.timeout, PING_TIMEOUT_MAX)
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                import requests

                from session.notify.channels import _guard_urllib3_logs

                _guard_urllib3_logs()
                data = GLOBAL_REDACTOR(body)[:PING_BODY_MAX].encode("utf-8") if body else b""
                with requests.post(target, data=data, timeout=(timeout, timeout), headers={"User-Agent": "tradeday-notify/1"}) as r:
                    outcome["status"] = r.status_code
            except Exception as exc:
                from session.notify.channels import _describe_request_error

                outcome["error"] = _describe_request_error(exc, timeout)

        thread = threading.Thread(target=run, name="tradeday-healthcheck", daemon=True)
        thread.start()
        thread.join(timeout)
        status = outcome.get("status")
        if isinstance(status, int) and 200 <= status < 300:
            log.debug("health-check ping %s sent", kind)
            return True
        reason = outcome.get("error") or (f"HTTP {status}" if status else f"no answer within {timeout:g}s")
        log.warning("health-check ping %s to %s failed: %s", kind, mask_url(url), reason)
        return False

    # ---------------------------------------------------------------- closing
    def close(self, flush_timeout: float | None = None) -> None:
        """Send what is queued for at most ``flush_timeout`` seconds (default: the
        config's), then put whatever is left in the outbox. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self._close_at_exit)
        if not self._workers:
            return
        timeout = self.config.flush_timeout if flush_timeout is None else max(0.0, flush_timeout)
        self._release_suppressed()
        self._deadline = time.monotonic() + timeout
        for worker in self._workers:
            with worker.cond:
                worker.closing = True
                worker.backlog.clear()  # late entries not yet re-sent simply stay in the outbox
                worker.cond.notify_all()
        self._closing.set()
        for worker in self._workers:
            worker.thread.join(max(0.0, self._deadline - time.monotonic()) + 0.05)
        for worker in self._workers:
            if worker.thread.is_alive():
                # Stuck in a request past the deadline: write its queue and the message
                # in flight to the outbox ourselves. If that send does succeed later,
                # the thread removes the entry again.
                with worker.cond:
                    worker.abandoned = True
                    stranded = ([worker.inflight] if worker.inflight and worker.inflight.late_entry is None else []) + worker.take_all()
                    for item in stranded:  # ids now, so the thread can find them later
                        item.entry_id = item.entry_id or new_entry_id()
                worker._give_up(stranded, f"still sending after flush_timeout {timeout:g}s")
        s = self.stats
        log.info(
            "notifications: %d sent, %d re-sent from the outbox, %d kept in the outbox, %d dropped (queue full), %d folded as repeats",
            s.sent, s.late_sent, s.to_outbox, s.dropped, s.suppressed,
        )

    def _release_suppressed(self) -> None:
        # A repeat folded into the dedup window would otherwise never be reported.
        with self._lock:
            pending = [(s.last, s.suppressed) for s in self._dedup.values() if s.suppressed and s.last is not None]
            for state in self._dedup.values():
                state.suppressed = 0
        for message, count in pending:
            assert message is not None
            message.repeated = count
            self._fan_out(message)

    def _close_at_exit(self) -> None:
        try:
            self.close()
        except Exception as exc:  # at exit, log rather than raise
            log.error("closing notifications at exit failed: %s", scrub(str(exc)))

    def __enter__(self) -> NotificationHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ping_url(url: str, kind: str) -> str:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise ValueError("not a URL")
    if kind == "success":
        return urlunsplit(parts)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + kind))
