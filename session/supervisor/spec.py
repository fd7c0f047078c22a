"""What to run for one engine (EngineSpec), the part of it a hot reload may change
(EnginePolicy), and the environment every engine gets (engine_environment)."""
from __future__ import annotations

import os
import random
import signal
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from session.streaming import ConsoleMode

RestartPolicy = Literal["never", "on-failure", "always"]
RESTART_POLICIES: tuple[str, ...] = ("never", "on-failure", "always")


@dataclass(frozen=True)
class EnginePolicy:
    """The fields of an EngineSpec that a hot reload may change on a live engine (update_policy).

    Applied at the engine's next decision (exit, restart, start timer, hang check, stop);
    everything else of a spec (command, cwd, environment, signals) needs a restart of
    ``tradeday run``. Validated where it is applied, like any EngineSpec.
    """

    restart: RestartPolicy
    max_restarts: int
    backoff_initial: float
    backoff_factor: float
    backoff_max: float
    backoff_jitter: float
    no_restart_exit_codes: tuple[int, ...]
    start_secs: float
    hang_timeout: float
    stop_timeout: float
    console: ConsoleMode = True  # which output lines reach the terminal (session/streaming.py)

    def changes(self) -> dict[str, Any]:
        """As keyword arguments for EngineSpec(...) and Supervisor.update_policy(...)."""
        return asdict(self)


# Fields that a hot reload may change on a live engine (update_policy): the one list.
POLICY_FIELDS = frozenset(f.name for f in fields(EnginePolicy))


@dataclass
class EngineSpec:
    """One engine, fully resolved: placeholders substituted, paths absolute."""

    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]  # the child's full environment (see engine_environment)
    log_file: Path  # {artifacts}/logs/{date}/{engine}.log
    heartbeat_file: Path | None = None  # the engine touches it; its mtime counts as life
    restart: RestartPolicy = "on-failure"
    max_restarts: int = 5  # per session
    backoff_initial: float = 1.0
    backoff_factor: float = 2.0
    backoff_max: float = 60.0
    backoff_jitter: float = 0.1  # fraction, +/-; 0 gives exact delays
    no_restart_exit_codes: tuple[int, ...] = (78,)  # such an exit is FATAL at once
    start_secs: float = 10.0  # an exit sooner is a failed start
    hang_timeout: float = 300.0  # 0 = off
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 30.0
    parent_death_signal: int | None = signal.SIGTERM  # Linux only (PR_SET_PDEATHSIG)
    log_max_bytes: int = 0  # rotate log_file at this size (session.log_max_size); 0 = never
    log_backups: int = 5  # rotated files kept: log_file.1 ... log_file.N
    stop_file: Path | None = None  # TRADEDAY_STOP_FILE; None: beside the heartbeat (else the log), NAME.stop
    console: ConsoleMode = True  # True: every output line on the console; False: none; "errors": error lines

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name.strip() != self.name:
            raise ValueError(f"engine name {self.name!r} must be non-empty, without '/' or surrounding spaces")
        if not self.argv or not all(isinstance(a, str) for a in self.argv):
            raise ValueError(f"engine {self.name}: argv must be a non-empty list of strings")
        self.argv = list(self.argv)
        self.cwd = Path(self.cwd)
        self.log_file = Path(self.log_file)
        if self.heartbeat_file is not None:
            self.heartbeat_file = Path(self.heartbeat_file)
        if self.restart not in RESTART_POLICIES:
            raise ValueError(f"engine {self.name}: restart must be one of {', '.join(RESTART_POLICIES)}")
        if not (isinstance(self.console, bool) or self.console == "errors"):
            raise ValueError(f"engine {self.name}: console must be true, false or errors")
        if self.max_restarts < 0:
            raise ValueError(f"engine {self.name}: max_restarts must not be negative")
        if self.log_max_bytes < 0 or self.log_backups < 0:
            raise ValueError(f"engine {self.name}: log_max_bytes and log_backups must not be negative")
        for name in ("backoff_initial", "backoff_max", "start_secs", "hang_timeout", "stop_timeout"):
            if getattr(self, name) < 0:
                raise ValueError(f"engine {self.name}: {name} must not be negative")
        if self.backoff_factor < 1:
            raise ValueError(f"engine {self.name}: backoff_factor must be at least 1")
        if not 0 <= self.backoff_jitter <= 1:
            raise ValueError(f"engine {self.name}: backoff_jitter must be a fraction between 0 and 1")
        self.no_restart_exit_codes = tuple(int(c) for c in self.no_restart_exit_codes)
        signal.Signals(self.stop_signal)  # ValueError for an unknown signal number
        if self.parent_death_signal is not None:
            signal.Signals(self.parent_death_signal)

    @property
    def stop_path(self) -> Path:
        """The file tradeday creates to ask this engine to stop (TRADEDAY_STOP_FILE)."""
        if self.stop_file is not None:
            return Path(self.stop_file)
        beside = self.heartbeat_file if self.heartbeat_file is not None else self.log_file
        return beside.with_name(f"{self.name}.stop")

    def backoff_delay(self, restarts_so_far: int, rng: random.Random | None = None) -> float:
        """Delay before restart number ``restarts_so_far + 1``: initial * factor^n, capped, +/- jitter."""
        base = self.backoff_initial * (self.backoff_factor ** min(restarts_so_far, 64))
        base = min(base, self.backoff_max)
        if self.backoff_jitter:
            base *= 1 + (rng or random).uniform(-self.backoff_jitter, self.backoff_jitter)
        return max(0.0, base)


def engine_environment(
    base_env: Mapping[str, str],
    *,
    mode: str,
    config_path: str | os.PathLike[str],
    day: date,
    open: datetime,  # noqa: A002 - the contract's word (TRADEDAY_SESSION_OPEN)
    close: datetime | None,
    engine: str,
    journal: str | os.PathLike[str],
    heartbeat: str | os.PathLike[str] | None,
) -> dict[str, str]:
    """The engine's environment: ``base_env`` plus the TRADEDAY_* contract (docs/ENGINE.md).

    TRADEDAY_RESTARTS and TRADEDAY_ENGINE_INSTANCE are added by the Supervisor at each start.
    PYTHONUNBUFFERED=1 is set unless ``base_env`` says otherwise: a Python engine's stdout
    is block-buffered on a pipe, which would delay its lines (and fool the hang watchdog).
    ``close`` is None only for a ``--start-now`` session on a day without one and without
    ``--duration``: it runs until stopped, and TRADEDAY_SESSION_CLOSE is not set.
    """
    env = {str(k): str(v) for k, v in base_env.items()}
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(
        {
            "TRADEDAY_MODE": str(mode),
            "TRADEDAY_CONFIG": os.path.abspath(os.fspath(config_path)),
            "TRADEDAY_SESSION_DATE": day.isoformat(),
            "TRADEDAY_SESSION_OPEN": open.isoformat(),
            "TRADEDAY_ENGINE": engine,
            "TRADEDAY_JOURNAL": os.path.abspath(os.fspath(journal)),
        }
    )
    if close is not None:
        env["TRADEDAY_SESSION_CLOSE"] = close.isoformat()
    else:
        env.pop("TRADEDAY_SESSION_CLOSE", None)
    if heartbeat is not None:
        env["TRADEDAY_HEARTBEAT"] = os.path.abspath(os.fspath(heartbeat))
    else:
        env.pop("TRADEDAY_HEARTBEAT", None)
    return env
