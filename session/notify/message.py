"""The one message type every channel formats: copilot_quant's NotificationMessage, extended."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from session.notify.levels import MESSAGE, AlertLevel


def _aware(ts: datetime) -> datetime:
    # A naive timestamp (copilot_quant used datetime.now()) is local time.
    return ts if ts.tzinfo is not None else ts.astimezone()


@dataclass
class NotificationMessage:
    """A notification: what happened (title, message, fields), how bad (level), when.

    ``metadata`` holds the key facts shown as fields (``fields`` is an alias).
    ``event`` names the event (see ``session.notify.levels``); ``key`` groups messages
    for de-duplication (default: event, title and message, so only identical messages
    are folded; give a key to fold messages whose text varies); ``late`` marks a message re-sent from
    the outbox; ``repeated`` counts identical messages suppressed since the last one sent.
    """

    title: str
    message: str
    level: AlertLevel = AlertLevel.INFO
    timestamp: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    event: str = MESSAGE
    key: str | None = None
    late: bool = False
    repeated: int = 0

    def __post_init__(self) -> None:
        if self.level.__class__ is not AlertLevel:
            self.level = AlertLevel.parse(self.level)
        self.timestamp = _aware(self.timestamp) if self.timestamp is not None else datetime.now(UTC)
        if self.metadata is None:
            self.metadata = {}
        self.title = str(self.title)
        self.message = "" if self.message is None else str(self.message)

    @property
    def fields(self) -> dict[str, Any]:
        return self.metadata

    @property
    def dedup_key(self) -> str:
        return self.key if self.key else f"{self.event}\x1f{self.title}\x1f{self.message}"

    def to_dict(self) -> dict[str, Any]:
        """copilot_quant's dictionary form (plus ``event``)."""
        assert self.timestamp is not None
        return {
            "title": self.title,
            "message": self.message,
            "level": self.level.value,
            "timestamp": self.timestamp.isoformat(),
            "metadata": dict(self.metadata),
            "event": self.event,
        }

    def to_record(self) -> dict[str, Any]:
        """Everything needed to rebuild the message later (the outbox stores this)."""
        record = self.to_dict()
        record.update({"key": self.key, "late": self.late, "repeated": self.repeated})
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> NotificationMessage:
        ts = record.get("timestamp")
        return cls(
            title=str(record.get("title", "")),
            message=str(record.get("message", "")),
            level=AlertLevel.parse(record.get("level", "info")),
            timestamp=datetime.fromisoformat(ts) if isinstance(ts, str) else None,
            metadata=dict(record.get("metadata") or {}),
            event=str(record.get("event") or MESSAGE),
            key=record.get("key"),
            late=bool(record.get("late", False)),
            repeated=int(record.get("repeated") or 0),
        )
