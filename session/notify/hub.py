"""NotificationHub: tradeday's non-blocking, retrying, nothing-lost notification sender.

``emit`` only puts the message on each matching channel's bounded queue and returns; a
daemon thread per channel sends it (so a hanging Slack does not hold back Telegram),
retries by the policy in ``delivery``, and appends what still fails to the outbox, which
the next hub re-sends (``drain_outbox``). ``close`` flushes for at most ``flush_timeout``
and moves what is left to the outbox.

Its parts: ``worker`` (one channel's queue and sender thread), ``dedup`` (folding
repeats) and ``ping`` (the health-check pings).
"""
from __future__ import annotations

import atexit
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.redact import GLOBAL_REDACTOR
from session.notify.channels import make_transport, scrub
from session.notify.config import NotificationsConfig, secret_values
from session.notify.dedup import Deduplicator
from session.notify.diagnostics import check_channel_config
from session.notify.levels import EVENTS_OFF_BY_DEFAULT, AlertLevel, default_level
from session.notify.message import NotificationMessage
from session.notify.outbox import Outbox, new_entry_id
from session.notify.ping import ping_healthcheck
from session.notify.worker import ChannelWorker, QueueItem

log = logging.getLogger("tradeday.notify")


@dataclass
class HubStats:
    sent: int = 0
    late_sent: int = 0
    to_outbox: int = 0
    dropped: int = 0
    suppressed: int = 0
    per_channel_dropped: dict[str, int] = field(default_factory=dict)


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
        self._dedup = Deduplicator(config.dedup_window, clock)
        self._closed = False
        self._closing = threading.Event()
        self._deadline: float | None = None
        self._cut_short = False
        self._workers: list[ChannelWorker] = []
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
            self._workers.append(ChannelWorker(self, channel, make_transport(channel)))
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
            if not self._dedup.admit(message):
                self.stats.suppressed += 1
                return
        self._fan_out(message)

    def _fan_out(self, message: NotificationMessage) -> None:
        for worker in self._workers:
            if worker.accepts(message):
                worker.put(QueueItem(next(self._seq), message))

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
            self.outbox.sweep_claims()  # claims of dead processes and of entries gone
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
                worker.backlog.append(QueueItem(next(self._seq), message, entry["id"], late_entry=entry))
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
        """Signal the dead-man's switch (``start``, ``success``, ``fail``); see ``ping``.
        Waits at most the ping timeout, never raises; True if the service answered 2xx."""
        return ping_healthcheck(self.config, kind, body)

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
        self._deadline = time.monotonic() + (0.0 if self._cut_short else timeout)
        for worker in self._workers:
            with worker.cond:
                worker.closing = True
                worker.backlog.clear()  # late entries not yet re-sent simply stay in the outbox
                worker.cond.notify_all()
        self._closing.set()
        for worker in self._workers:
            # In slices: cut_short() (a stop signal) may bring the deadline forward.
            while worker.thread.is_alive() and time.monotonic() < self._deadline:
                worker.thread.join(min(0.1, max(0.0, self._deadline - time.monotonic())))
            worker.thread.join(0.05)
        for worker in self._workers:
            if worker.thread.is_alive():
                # Stuck in a request past the deadline: write its queue and the message
                # in flight to the outbox ourselves, the one in flight claimed (no other
                # process may send it while this one still might). If that send does
                # succeed later, the thread removes the entry again (once it is written:
                # ``stranded_written``). Not written under the worker's lock: emit must
                # never wait for a disk.
                with worker.cond:
                    worker.abandoned = True
                    inflight = worker.inflight
                    if inflight is not None and (inflight.late_entry is not None or worker.inflight_settled):
                        inflight = None  # still in the outbox, or being written there by the sender
                    stranded = ([inflight] if inflight else []) + worker.take_all()
                    for item in stranded:  # ids now, so the thread can find them later
                        item.entry_id = item.entry_id or new_entry_id()
                try:
                    worker.give_up(stranded, f"still sending after flush_timeout {timeout:g}s", still_sending=inflight)
                finally:
                    worker.stranded_written.set()
        s = self.stats
        log.info(
            "notifications: %d sent, %d re-sent from the outbox, %d kept in the outbox, %d dropped (queue full), %d folded as repeats",
            s.sent, s.late_sent, s.to_outbox, s.dropped, s.suppressed,
        )

    def cut_short(self) -> None:
        """End a close() now, from another thread (tradeday got a stop signal while flushing):
        what is not sent yet goes to the outbox, as at the flush timeout."""
        self._cut_short = True
        if self._deadline is not None:
            self._deadline = time.monotonic()

    def _release_suppressed(self) -> None:
        # A repeat folded into the dedup window would otherwise never be reported.
        with self._lock:
            pending = self._dedup.take_suppressed()
        for message, count in pending:
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
