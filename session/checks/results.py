"""What a preflight check says: a result (stable id, level, message, hint) and the report of
a whole precheck run."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Level(IntEnum):
    INFO = 20
    WARNING = 30
    ERROR = 40


@dataclass
class CheckResult:
    id: str
    level: Level
    message: str
    hint: str = ""
    check: str = ""
    duration_ms: float = 0.0
    silenced: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "check": self.check,
            "level": self.level.name,
            "message": self.message,
            "hint": self.hint,
            "duration_ms": round(self.duration_ms, 1),
            "silenced": self.silenced,
        }


def info(id: str, message: str, hint: str = "") -> CheckResult:
    return CheckResult(id, Level.INFO, message, hint)


def warning(id: str, message: str, hint: str = "") -> CheckResult:
    return CheckResult(id, Level.WARNING, message, hint)


def error(id: str, message: str, hint: str = "") -> CheckResult:
    return CheckResult(id, Level.ERROR, message, hint)


@dataclass
class PrecheckReport:
    mode: str
    session: dict[str, Any]
    results: list[CheckResult]
    strict: bool = False

    def failures(self) -> list[CheckResult]:
        worst = Level.WARNING if self.strict else Level.ERROR
        return [r for r in self.results if r.level >= worst and not r.silenced]

    @property
    def ok(self) -> bool:
        return not self.failures()

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mode": self.mode,
            "session": self.session,
            "checks": [r.to_json() for r in self.results],
        }
