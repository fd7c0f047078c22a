"""``tradeday notify test``: send a test message through every channel (or one) now, then
re-send what earlier runs left in the outbox for the channels that just worked.

``run_notify_test`` does the work and returns a ``NotifyTestReport``; ``cli/notify_cmd.py``
only prints it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import UsageError
from core.exitcodes import ExitCode
from session.notify.config import NotificationsConfig
from session.notify.diagnostics import ChannelTestResult, send_test
from session.notify.levels import AlertLevel

NO_CHANNELS = ("no notification channels are configured (add notifications.channels to the config; "
               "see docs/NOTIFICATIONS.md)")


@dataclass(frozen=True)
class OutboxResend:
    """The outbox before and after re-sending its entries for the working channels."""

    path: str
    pending_before: dict[str, int]
    resent: int
    pending: dict[str, int]

    @property
    def pending_total(self) -> int:
        return sum(self.pending.values())

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "pending_before": self.pending_before, "resent": self.resent,
                "pending": self.pending}


@dataclass(frozen=True)
class NotifyTestReport:
    enabled: bool  # notifications.enabled: the test sends anyway, the day would not
    level: AlertLevel
    channels: tuple[ChannelTestResult, ...]
    outbox: OutboxResend

    @property
    def failed(self) -> list[ChannelTestResult]:
        return [r for r in self.channels if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        """0 every channel worked, 1 one failed (README "Exit codes")."""
        return ExitCode.OK if self.ok else ExitCode.PRECHECK_FAILED

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "enabled": self.enabled,
            "level": self.level.value,
            "channels": [
                {"name": r.name, "type": r.type, "ok": r.ok, "latency_ms": r.latency_ms, "error": r.error or None}
                for r in self.channels
            ],
            "outbox": self.outbox.to_json(),
        }


def run_notify_test(notifications: NotificationsConfig, outbox_path: Path, channel: str | None,
                    level: str) -> NotifyTestReport:
    """Send a test notification through every channel (or ``channel``) at ``level``, then
    re-send the outbox for the channels that worked. Raises UsageError (exit 2) for an
    unknown level, no configured channel, or a ``channel`` that names none."""
    try:
        alert_level = AlertLevel.parse(level)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not notifications.channels:
        raise UsageError(NO_CHANNELS)
    results = send_test(notifications, channel, alert_level)
    outbox = _resend_outbox(notifications, Path(outbox_path), [r.name for r in results if r.ok])
    return NotifyTestReport(bool(notifications.enabled), alert_level, tuple(results), outbox)


def _resend_outbox(notifications: NotificationsConfig, outbox_path: Path, working: list[str]) -> OutboxResend:
    """Re-send what earlier runs left in the outbox for the channels that just worked."""
    from session.notify.hub import NotificationHub
    from session.notify.outbox import Outbox

    outbox = Outbox(outbox_path)
    before = outbox.pending_by_channel() if outbox.path.exists() else {}
    targets = [name for name in working if before.get(name)]
    if not notifications.enabled or not targets:
        return OutboxResend(str(outbox.path), before, 0, before)
    subset = notifications.model_copy(update={"channels": [c for c in notifications.channels if c.label in targets]})
    hub = NotificationHub(subset, outbox.path)
    try:
        hub.drain_outbox()
        hub.flush(notifications.flush_timeout)
    finally:
        hub.close(flush_timeout=0)
    after = outbox.pending_by_channel() if outbox.path.exists() else {}
    return OutboxResend(str(outbox.path), before, hub.stats.late_sent, after)
