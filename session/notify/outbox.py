"""The outbox: notifications that could not be delivered, kept as JSON lines until a later
tradeday command delivers them.

One line per (message, channel). Every writer holds a file lock (filelock, so it works
across processes and is released if the holder dies), appends or rewrites atomically,
and never drops a line it cannot parse: a damaged line stays for a human to read.

A sender claims an entry before it sends it (``claim``; see ``claims``), so two processes
draining the same outbox deliver each entry once. Everything here is private: files
0600, folders 0700 (the outbox holds what the day went through, and engines' texts).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import sys
import uuid
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.fileperms import set_folder_mode, widened
from core.fsutil import atomic_write_text
from core.redact import GLOBAL_REDACTOR
from session.notify import claims
from session.notify.message import NotificationMessage

log = logging.getLogger("tradeday.notify")

LOCK_TIMEOUT = 10.0
# How long a claim holds when its claimant gives no bound of its own.
DEFAULT_CLAIM_TTL = 15 * 60.0
FILE_MODE = 0o600
DIR_MODE = 0o700
_CLAIM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _private_dir(path: Path) -> None:
    path.mkdir(mode=widened(DIR_MODE), parents=True, exist_ok=True)  # widened: paths.group


def _tighten(fd_or_path: int | Path) -> None:
    """Take group/other permissions off a file an older tradeday left open."""
    if sys.platform == "win32":  # ACLs, not mode bits, decide there
        return
    try:
        if isinstance(fd_or_path, int):
            if stat.S_IMODE(os.fstat(fd_or_path).st_mode) & 0o077:
                os.fchmod(fd_or_path, widened(FILE_MODE))
        elif stat.S_IMODE(fd_or_path.stat().st_mode) & 0o077:
            fd_or_path.chmod(widened(FILE_MODE))
    except OSError:
        pass  # not ours to change (another user's file): reading and writing still work


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
        # outbox.jsonl -> outbox.claims/
        self.claims_dir = self.path.with_name(self.path.stem + ".claims")
        self.lock_timeout = lock_timeout

    def _lock(self) -> Any:
        from filelock import FileLock

        _private_dir(self.path.parent)
        if self.lock_path.exists():
            _tighten(self.lock_path)
        return FileLock(str(self.lock_path), timeout=self.lock_timeout, mode=widened(FILE_MODE))

    def append(self, entries: Iterable[dict[str, Any]], *, claimed: Collection[str] = (),
               claim_ttl: float = DEFAULT_CLAIM_TTL) -> None:
        """Append ``entries``; those whose ids are in ``claimed`` are claimed for this
        process in the same step (a message still being sent when it had to be written)."""
        entries = list(entries)
        lines = "".join(json.dumps(e, ensure_ascii=False, default=str) + "\n" for e in entries)
        if not lines:
            return
        from filelock import Timeout

        try:
            with self._lock():
                self._append_text(lines)
                for entry_id in claimed:
                    try:
                        self._write_claim(entry_id, claim_ttl)
                    except OSError as exc:  # the entry is kept; at worst it is sent twice
                        log.warning("could not claim outbox entry %s: %s", entry_id, exc)
        except Timeout:
            # Losing the messages is worse than racing a rewrite: O_APPEND writes of
            # whole lines do not interleave. (Unclaimed: a claim needs the lock.)
            log.error("outbox lock %s busy for %.0fs; appending without it", self.lock_path, self.lock_timeout)
            self._append_text(lines)

    def _append_text(self, lines: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, widened(FILE_MODE))
        with open(fd, "a", encoding="utf-8") as fh:
            _tighten(fd)
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

    def _ids(self) -> set[str]:
        return {e["id"] for e in (self._parse(line) for line in self._read_lines()) if e is not None}

    def read(self) -> list[dict[str, Any]]:
        """Parsed entries, oldest first (damaged lines are skipped, not removed)."""
        with self._lock():
            lines = self._read_lines()
        return [e for e in (self._parse(line) for line in lines) if e is not None]

    def remove(self, ids: Collection[str]) -> int:
        """Remove the entries with these ids (atomic rewrite) and their claims; returns
        how many went."""
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
                    atomic_write_text(self.path, "\n".join(kept) + "\n", mode=FILE_MODE)
                else:
                    self.path.unlink(missing_ok=True)
            for entry_id in wanted:
                self._claim_path(entry_id).unlink(missing_ok=True)
        return removed

    def pending_by_channel(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.read():
            name = str(entry.get("channel"))
            counts[name] = counts.get(name, 0) + 1
        return counts

    # ------------------------------------------------------------ claims
    def _claim_path(self, entry_id: str) -> Path:
        # Ids are uuid4 hex; a hand-edited one could hold "/" or "..": hash it instead.
        name = entry_id if _CLAIM_NAME.fullmatch(entry_id) else hashlib.sha256(entry_id.encode("utf-8")).hexdigest()
        return self.claims_dir / f"{name}.json"

    def _write_claim(self, entry_id: str, ttl: float) -> None:
        _private_dir(self.claims_dir)
        _tighten_dir(self.claims_dir)
        claims.write_claim(self._claim_path(entry_id), ttl)

    def claim(self, entry_id: str, ttl: float = DEFAULT_CLAIM_TTL) -> bool:
        """Claim the entry for this process before sending it, for at most ``ttl`` seconds
        (set it past the longest the send can take). False if the entry is gone (someone
        sent it) or another live process holds it; True if this process now holds it."""
        with self._lock():
            if entry_id not in self._ids():
                return False
            path = self._claim_path(entry_id)
            current = claims.read_claim(path)
            if current is not None and claims.holds(current):
                return current.claimant.token == claims.me().token
            self._write_claim(entry_id, ttl)
            return True

    def release(self, ids: Collection[str]) -> None:
        """Give up this process's claims on these entries (they stay in the outbox)."""
        if not ids:
            return
        token = claims.me().token
        with self._lock():
            for entry_id in ids:
                path = self._claim_path(entry_id)
                current = claims.read_claim(path)
                if current is not None and current.claimant.token == token:
                    path.unlink(missing_ok=True)

    def sweep_claims(self) -> int:
        """Delete claims whose entry is gone or that no longer hold; returns how many."""
        if not self.claims_dir.is_dir():
            return 0
        swept = 0
        with self._lock():
            live_ids = {self._claim_path(entry_id).name for entry_id in self._ids()}
            for path in self.claims_dir.glob("*.json"):
                current = claims.read_claim(path)
                if path.name not in live_ids or current is None or not claims.holds(current):
                    path.unlink(missing_ok=True)
                    swept += 1
        return swept


def _tighten_dir(path: Path) -> None:
    if os.name != "posix":
        return
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            set_folder_mode(path)  # keeps the setgid bit of a paths.group folder
    except OSError:
        pass
