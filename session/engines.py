"""From an engine's config entry to what gets executed: placeholders, cwd, environment, and
the supervisor's EngineSpec (engine_spec), whose reloadable part is engine_policy."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from session.config import EngineConfig, StepConfig, TradedayConfig
    from session.supervisor.spec import EnginePolicy, EngineSpec


def expand_command(command: list[str], *, mode: str, config_path: Path | None, day: date) -> list[str]:
    """Substitute ``{mode} {config} {date} {python}`` (validated at config load)."""
    values = {
        "mode": mode,
        "config": str(config_path) if config_path else "",
        "date": day.isoformat(),
        "python": sys.executable,
    }
    return [arg.format(**values) for arg in command]


def command_cwd(config: TradedayConfig, entry: EngineConfig | StepConfig) -> Path:
    return config.resolve(entry.cwd) if entry.cwd else config.root_dir


def command_env(base: Mapping[str, str], entry: EngineConfig | StepConfig) -> dict[str, str]:
    env = dict(base)
    env.update(entry.env)
    return env


def engine_base_env(config: TradedayConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """tradeday's environment as an engine inherits it: without the variables the config's
    ``notifications`` section consumed (webhook URLs, bot tokens, SMTP passwords via ``${VAR}``).

    Those are tradeday's secrets; an engine that prints its environment, or a crash dump of it,
    must not leak them. ``engines[].env`` can pass one back explicitly. Broker variables
    (``KITE_*``, ``IBKR_*``) always stay: the engine trades with them.
    """
    hidden = {name for name in config.notification_env_vars if not name.startswith(_BROKER_PREFIXES)}
    return {k: v for k, v in environ.items() if k not in hidden}


_BROKER_PREFIXES = ("KITE_", "IBKR_")


def engine_policy(entry: EngineConfig) -> EnginePolicy:
    """The part of an engine's config entry that a hot reload applies to the running engine.

    The one mapping from config keys to the supervisor's policy fields: ``tradeday run`` builds
    each EngineSpec with it (engine_spec) and applies a changed one on reload.
    """
    from session.supervisor.spec import EnginePolicy

    return EnginePolicy(
        restart=entry.restart,
        max_restarts=entry.max_restarts,
        backoff_initial=entry.backoff.initial,
        backoff_factor=entry.backoff.factor,
        backoff_max=entry.backoff.max,
        backoff_jitter=entry.backoff.jitter,
        no_restart_exit_codes=tuple(entry.no_restart_exit_codes),
        start_secs=entry.start_secs,
        hang_timeout=entry.hang_timeout,
        stop_timeout=entry.stop_timeout,
        console=entry.console,
    )


def engine_spec(
    config: TradedayConfig,
    entry: EngineConfig,
    *,
    mode: str,
    day: date,
    session_open: datetime,
    session_close: datetime | None,
    environ: Mapping[str, str],
    log_file: Path,
    heartbeat: Path,
    journal: Path,
) -> EngineSpec:
    """The supervisor's spec of one engine for one session: command, cwd, environment, policy."""
    import signal

    from session.supervisor.spec import EngineSpec, engine_environment

    if config.path is None:
        raise ValueError("engines need a config loaded from a file: its path is TRADEDAY_CONFIG")
    env = engine_environment(
        command_env(engine_base_env(config, environ), entry), mode=mode, config_path=config.path, day=day,
        open=session_open, close=session_close, engine=entry.name, journal=journal, heartbeat=heartbeat,
    )
    death_signal = int(getattr(signal, entry.parent_death_signal)) if entry.parent_death_signal else None
    return EngineSpec(
        name=entry.name,
        argv=expand_command(entry.command, mode=mode, config_path=config.path, day=day),
        cwd=command_cwd(config, entry),
        env=env,
        log_file=log_file,
        heartbeat_file=heartbeat,
        stop_signal=int(getattr(signal, entry.stop_signal)),
        parent_death_signal=death_signal,
        log_max_bytes=config.session.log_max_size,
        log_backups=config.session.log_backups,
        **engine_policy(entry).changes(),
    )


@dataclass
class Resolution:
    ok: bool
    message: str
    hint: str = ""


_CHECK_MODULE = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 3)"


def resolve_command(argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float = 10.0) -> Resolution:
    """Can ``argv`` start? The executable is found; ``python -m mod`` finds ``mod`` with that
    interpreter, cwd and environment; ``python script.py`` finds the script."""
    if not cwd.is_dir():
        return Resolution(False, f"working directory {cwd} does not exist", "create it or fix the engine's cwd")
    program = argv[0]
    if os.sep in program or (os.altsep and os.altsep in program):
        exe_path = Path(program) if Path(program).is_absolute() else cwd / program
        exe = str(exe_path) if exe_path.is_file() and os.access(exe_path, os.X_OK) else None
    else:
        exe = shutil.which(program, path=env.get("PATH", os.defpath))
    if exe is None:
        return Resolution(False, f"program '{program}' not found or not executable",
                          "install it, put it on PATH, or give its full path")
    name = Path(exe).name.lower()
    if name.startswith("python") and len(argv) >= 2:
        if argv[1] == "-m" and len(argv) >= 3:
            try:
                proc = subprocess.run([exe, "-c", _CHECK_MODULE, argv[2]], cwd=cwd, env=dict(env),
                                      capture_output=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                return Resolution(False, f"'{exe} -m {argv[2]}' did not answer within {timeout:g}s")
            except OSError as exc:
                return Resolution(False, f"cannot run {exe}: {exc.strerror}")
            if proc.returncode != 0:
                return Resolution(False, f"module '{argv[2]}' not found by {exe} (cwd {cwd})",
                                  "install the engine's package in that interpreter or set cwd/env PYTHONPATH")
            return Resolution(True, f"{exe} -m {argv[2]}")
        script = argv[1]
        if not script.startswith("-"):
            script_path = Path(script) if Path(script).is_absolute() else cwd / script
            if not script_path.is_file():
                return Resolution(False, f"script {script_path} not found", "fix the engine's command or cwd")
            return Resolution(True, f"{exe} {script_path}")
    return Resolution(True, exe)
