"""Alert levels and the public event names tradeday emits, with their default levels."""
from __future__ import annotations

from enum import Enum


class AlertLevel(Enum):
    """Severity of a notification, ordered INFO < WARNING < CRITICAL.

    The values are copilot_quant's lower-case names, so ``AlertLevel("warning")`` and
    ``level.value`` keep working for code written against it.
    """

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def parse(cls, value: object) -> AlertLevel:
        """Accept an AlertLevel or its name in any case (``"Warning"``, ``"CRITICAL"``)."""
        if value.__class__ is AlertLevel:
            return value
        if isinstance(value, str):
            level = _BY_NAME.get(value) or _BY_NAME.get(value.strip().lower())
            if level is not None:
                return level
        raise ValueError(f"'{value}' is not a level; use info, warning or critical")

    def __lt__(self, other: object) -> bool:
        if other.__class__ is not AlertLevel:
            return NotImplemented
        return _RANK[self] < _RANK[other]

    def __le__(self, other: object) -> bool:
        if other.__class__ is not AlertLevel:
            return NotImplemented
        return _RANK[self] <= _RANK[other]

    def __gt__(self, other: object) -> bool:
        if other.__class__ is not AlertLevel:
            return NotImplemented
        return _RANK[self] > _RANK[other]

    def __ge__(self, other: object) -> bool:
        if other.__class__ is not AlertLevel:
            return NotImplemented
        return _RANK[self] >= _RANK[other]


_RANK = {AlertLevel.INFO: 0, AlertLevel.WARNING: 1, AlertLevel.CRITICAL: 2}
_BY_NAME = {level.value: level for level in AlertLevel}
LEVELS_ASCENDING: tuple[AlertLevel, ...] = (AlertLevel.INFO, AlertLevel.WARNING, AlertLevel.CRITICAL)

# --- Events tradeday itself emits (names are public: configs filter on them) ---
PRECHECK_FAILED = "precheck_failed"
PRECHECK_WARNED = "precheck_warned"
NO_SESSION = "no_session"
SESSION_STARTED = "session_started"
ENGINE_RESTARTED = "engine_restarted"
ENGINE_HUNG = "engine_hung"
ENGINE_FATAL = "engine_fatal"
SESSION_CLOSED = "session_closed"
DAILY_SUMMARY = "daily_summary"
EOD_FAILED = "eod_failed"
CONFIG_RELOADED = "config_reloaded"
CONFIG_REJECTED = "config_rejected"
INTERRUPTED = "interrupted"
LATE_START = "late_start"
DISK_FULL = "disk_full"
LOSS_LIMIT = "loss_limit"
ENGINE_CONTROL = "engine_control"
TEST = "test"

# --- Events an engine reports through the ``@tradeday {json}`` stdout line protocol ---
FILL = "fill"
ORDER_ERROR = "order_error"
RISK = "risk"
CIRCUIT_BREAKER = "circuit_breaker"
MESSAGE = "message"

ENGINE_EVENTS: frozenset[str] = frozenset({FILL, ORDER_ERROR, RISK, CIRCUIT_BREAKER, MESSAGE})

EVENT_DEFAULT_LEVELS: dict[str, AlertLevel] = {
    PRECHECK_FAILED: AlertLevel.CRITICAL,
    PRECHECK_WARNED: AlertLevel.WARNING,
    NO_SESSION: AlertLevel.INFO,
    SESSION_STARTED: AlertLevel.INFO,
    ENGINE_RESTARTED: AlertLevel.WARNING,
    ENGINE_HUNG: AlertLevel.WARNING,
    ENGINE_FATAL: AlertLevel.CRITICAL,
    SESSION_CLOSED: AlertLevel.INFO,
    DAILY_SUMMARY: AlertLevel.INFO,
    EOD_FAILED: AlertLevel.CRITICAL,
    CONFIG_RELOADED: AlertLevel.INFO,
    CONFIG_REJECTED: AlertLevel.WARNING,
    INTERRUPTED: AlertLevel.WARNING,
    LATE_START: AlertLevel.WARNING,
    DISK_FULL: AlertLevel.CRITICAL,
    LOSS_LIMIT: AlertLevel.CRITICAL,
    ENGINE_CONTROL: AlertLevel.WARNING,
    TEST: AlertLevel.INFO,
    FILL: AlertLevel.INFO,
    ORDER_ERROR: AlertLevel.WARNING,
    RISK: AlertLevel.WARNING,
    CIRCUIT_BREAKER: AlertLevel.CRITICAL,
    MESSAGE: AlertLevel.INFO,
}

KNOWN_EVENTS: frozenset[str] = frozenset(EVENT_DEFAULT_LEVELS)

# Off unless the config turns them on (``events: {no_session: true}``): a message on
# every holiday is noise for most people.
EVENTS_OFF_BY_DEFAULT: frozenset[str] = frozenset({NO_SESSION})


def default_level(event: str) -> AlertLevel:
    """The level an event has when the emitter does not give one (INFO for unknown events)."""
    return EVENT_DEFAULT_LEVELS.get(event, AlertLevel.INFO)
