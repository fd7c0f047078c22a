"""The outbox: notifications that could not be delivered, kept as JSON lines until a later
tradeday command delivers them.

One line per (message, channel). Every writer holds a file lock (filelock, so it works
across processes and is released if the holder dies), appends or rewrites atomically,
and never drops a line it cannot parse: a damaged line stays for a human to read.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.fsutil import atomic_write_text
from core.redact import GLOBAL_REDACTOR
from session.notify.message import NotificationMessage

log = logging.getLogger("tradeday.notify")

LOCK_TIMEOUT = 10.0


def new_entry_id() -> str:
    return uuid.uuid4().hex


def _redacted(value: Any) -> Any:
    # The outbox is a file on disk: a secret an engine printed into its message stays out.
    if isinstance(value, str):
        return GLOBAL_REDACTOR(value)
    if isinstance(value, dict):
        return {GLOBAL_REDACTOR(str(k)): _redacted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v) for v in value]
    return value


def make_entry(
    *,
    entry_id: str,
    channel: str,
    channel_type: str,
    message: NotificationMessage,
    attempts: int,
    error: str,
    permanent: bool,
) -> dict[str, Any]:
    return {
        "id": entry_id,
        "channel": channel,
        "type": channel_type,
        "queued_at": datetime.now(UTC).isoformat(),
        "attempts": attempts,
        "error": error,
        "permanent": permanent,
        "message": _redacted(message.to_record()),
    }


class Outbox:
    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lock_timeout = lock_timeout

    def _lock(self) -> Any:
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.lock_path), timeout=self.lock_timeout)

    def append(self, entries: Iterable[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(e, ensure_ascii=False, default=str) + "\n" for e in entries)
        if not lines:
            return
        from filelock import Timeout

        try:
            with self._lock():
                self._append_text(lines)
        except Timeout:
            # Losing the messages is worse than racing a rewrite: O_APPEND writes of
            # whole lines do not interleave.
            log.error("outbox lock %s busy for %.0fs; appending without it", self.lock_path, self.lock_timeout)
            self._append_text(lines)

    def _append_text(self, lines: str) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())

    def _read_lines(self) -> list[str]:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as fh:
                return [line for line in fh.read().splitlines() if line.strip()]
        except FileNotFoundError:
            return []

    @staticmethod
    def _parse(line: str) -> dict[str, Any] | None:
        try:
            entry = json.loads(line)
        except ValueError:
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not isinstance(entry.get("message"), dict):
            return None
        return entry

    def read(self) -> list[dict[str, Any]]:
        """Parsed entries, oldest first (damaged lines are skipped, not removed)."""
        with self._lock():
            lines = self._read_lines()
        return [e for e in (self._parse(line) for line in lines) if e is not None]

    def remove(self, ids: Collection[str]) -> int:
        """Remove the entries with these ids (atomic rewrite); returns how many went."""
        if not ids:
            return 0
        wanted = set(ids)
        with self._lock():
            lines = self._read_lines()
            kept = []
            for line in lines:
                entry = self._parse(line)
                if entry is None or entry["id"] not in wanted:
                    kept.append(line)
            removed = len(lines) - len(kept)
            if removed:
                if kept:
                    atomic_write_text(self.path, "\n".join(kept) + "\n")
                else:
                    self.path.unlink(missing_ok=True)
        return removed

    def pending_by_channel(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.read():
            name = str(entry.get("channel"))
            counts[name] = counts.get(name, 0) + 1
        return counts
