"""Claims on outbox entries: a process claims an entry before it sends it, so that two
tradeday processes draining one outbox deliver each entry once (issue 10).

A claim is a small JSON file (0600) in the outbox's claims folder, written and read under
the outbox's file lock. It names its claimant: pid, the process's start time, where it
runs (host, boot and pid namespace: a pid means something only there), a token unique to
the process, and when the claim expires.

A claim stops holding when any of these is true:

- it has expired: the claimant set the expiry past the longest its send can take, so a
  claim left by a process that cannot be checked (another host, another container) frees
  itself;
- its claimant ran where this process runs and is gone: the pid is dead, a zombie, or
  belongs to a process started at another time (a reused pid), or is this process's own
  pid with another token (pid 1 of an earlier container run sharing the namespace);
- the file cannot be read as a claim (a damaged claim must not block delivery forever).
"""
from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.fsutil import atomic_write_text

# Two process start times closer than this are the same process (psutil rounds them).
_START_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class Claimant:
    pid: int
    started: float | None  # the process's start time (epoch seconds), to tell a reused pid
    where: str  # host, boot and pid namespace; pids compare only within one
    token: str  # unique to the process: tells this process from an earlier one with its pid


@dataclass(frozen=True)
class Claim:
    claimant: Claimant
    expires: float  # epoch seconds

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self.claimant), "expires": self.expires}

    @classmethod
    def from_json(cls, data: Any) -> Claim | None:
        if not isinstance(data, dict):
            return None
        try:
            started = data.get("started")
            claimant = Claimant(
                pid=int(data["pid"]),
                started=float(started) if started is not None else None,
                where=str(data["where"]),
                token=str(data["token"]),
            )
            return cls(claimant, float(data["expires"]))
        except (KeyError, TypeError, ValueError):
            return None


def _read_first_line(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.readline().strip()
    except OSError:
        return ""


def _where() -> str:
    parts = [socket.gethostname(), _read_first_line("/proc/sys/kernel/random/boot_id")]
    try:
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    except OSError:
        parts.append("")
    return "/".join(parts)


def _start_time(pid: int) -> float | None:
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


_ME: Claimant | None = None


def me() -> Claimant:
    """This process as a claimant (computed once; a forked child gets its own)."""
    global _ME
    if _ME is None or _ME.pid != os.getpid():
        pid = os.getpid()
        _ME = Claimant(pid=pid, started=_start_time(pid), where=_where(), token=uuid.uuid4().hex)
    return _ME


def _process_alive(claimant: Claimant) -> bool:
    import psutil

    try:
        proc = psutil.Process(claimant.pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if claimant.started is not None and abs(proc.create_time() - claimant.started) > _START_TOLERANCE_S:
            return False  # the pid was reused
    except psutil.NoSuchProcess:
        return False
    except (psutil.Error, OSError):
        return True  # cannot tell: the expiry will free it
    return True


def holds(claim: Claim, now: float | None = None) -> bool:
    """Whether ``claim`` still keeps every other process from sending its entry."""
    mine = me()
    if claim.claimant.token == mine.token:
        return True
    if (time.time() if now is None else now) >= claim.expires:
        return False
    if claim.claimant.where != mine.where:
        return True  # its pid means nothing here: wait for the expiry
    if claim.claimant.pid == mine.pid:
        return False  # an earlier process that had this pid
    return _process_alive(claim.claimant)


def read_claim(path: Path) -> Claim | None:
    """The claim in ``path``; None if there is none or it is damaged."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError:
        return None
    try:
        return Claim.from_json(json.loads(text))
    except ValueError:
        return None


def write_claim(path: Path, ttl: float) -> None:
    """Claim for this process until ``ttl`` seconds from now (atomic, 0600)."""
    claim = Claim(me(), time.time() + max(ttl, 0.0))
    atomic_write_text(path, json.dumps(claim.to_json()) + "\n", mode=0o600)
