"""What the supervisor holds per engine (EngineRecord) and per start of it (EngineRun).

Both are mutated only under the Supervisor's lock, except the fields an EngineRun's
waiter thread sets under ``EngineRun.lock`` (returncode, exit times, cleanup_claimed).
"""
from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass, field
from datetime import datetime

import psutil

from session.proctree import StopResult
from session.streaming import EngineLog, OutputCounters, PipeReader
from session.supervisor.spec import EngineSpec
from session.supervisor.states import EngineState


@dataclass(eq=False)
class EngineRun:
    """One start of an engine."""

    proc: subprocess.Popen[bytes]
    number: int  # 1 for the first start
    token: str
    started_monotonic: float
    started_wall: datetime
    readers: list[PipeReader] = field(default_factory=list)
    exited: threading.Event = field(default_factory=threading.Event)
    returncode: int | None = None
    exit_monotonic: float | None = None
    exit_wall: datetime | None = None
    stop_reason: str | None = None  # "hung" | "stop" once tradeday decided to stop it
    cleanup_claimed: bool = False  # by the waiter (exited by itself) or a stopper
    cleanup_done: threading.Event = field(default_factory=threading.Event)
    stop_result: StopResult | None = None
    exit_handled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    psutil_cache: dict[int, psutil.Process] = field(default_factory=dict)
    # The hang watchdog's view of the heartbeat file (monotonic times; see watchdog.py).
    heartbeat_mtime_ns: int | None = None  # the mtime last seen; at spawn, the one before this start
    heartbeat_checked_monotonic: float = float("-inf")
    last_beat_monotonic: float | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid


class EngineRecord:
    """One supervised engine across the session: its spec, state, current run and counters."""

    def __init__(self, spec: EngineSpec, log: EngineLog) -> None:
        self.spec = spec
        self.log = log
        self.state = EngineState.STOPPED
        self.run: EngineRun | None = None
        self.starts = 0
        self.restarts = 0
        self.counters = OutputCounters()
        self.next_start_monotonic = 0.0
        self.exit_code: int | None = None
        self.last_exit_code: int | None = None
        self.stopped_at: datetime | None = None
        self.runtime_done = 0.0
        self.fatal_reason: str | None = None
        self.failure: str | None = None
        self.last_decision_monotonic: float | None = None  # when the last exit was acted on
        # session/supervisor/control.py: why it is kept stopped ("stopped by operator"), None when
        # it is not; an operator's start waiting for the stop to finish; why it is in its state.
        self.held: str | None = None
        self.start_requested = False
        self.reason: str | None = None
