"""From an engine's config entry to what gets executed: placeholders, cwd, environment."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from session.config import EngineConfig, StepConfig, TradedayConfig


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
