"""The config of what tradeday runs: engines (``engines:``) and end-of-day steps, with their
command lines, environments and restart policy."""
from __future__ import annotations

import re
import string
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from session.config.fields import Duration, Model, SignalName

_PLACEHOLDERS = {"mode", "config", "date", "python"}
_ENGINE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _split_command(value: Any) -> Any:
    if isinstance(value, str):
        import shlex

        value = shlex.split(value)
    if isinstance(value, list) and not value:
        raise ValueError("must name a program to run")
    return value


def _check_placeholders(value: list[str]) -> list[str]:
    for arg in value:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(arg) if f is not None]
        except ValueError:
            raise ValueError(f"'{arg}' has an unmatched brace; write {{{{ and }}}} for literal braces") from None
        unknown = [f for f in fields if f not in _PLACEHOLDERS]
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}; use {{mode}} {{config}} {{date}} {{python}}")
    return value


def _env_strings(value: Any) -> Any:
    # YAML turns `DEBUG: yes` into True; the environment only holds text.
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in value.items()}
    return value


Command = Annotated[list[str], BeforeValidator(_split_command), AfterValidator(_check_placeholders)]
EnvMap = Annotated[dict[str, str], BeforeValidator(_env_strings)]


class BackoffConfig(Model):
    initial: Duration = 1.0
    factor: float = Field(default=2.0, ge=1.0)
    max: Duration = 60.0
    jitter: float = Field(default=0.1, ge=0.0, le=1.0)


class EngineConfig(Model):
    name: str
    command: Command
    cwd: str | None = None
    env: EnvMap = Field(default_factory=dict)
    enabled: bool = True
    restart: Literal["never", "on-failure", "always"] = "on-failure"
    max_restarts: int = Field(default=5, ge=0)
    backoff: BackoffConfig = Field(default_factory=BackoffConfig)
    no_restart_exit_codes: list[int] = Field(default_factory=lambda: [78])
    start_secs: Duration = 10.0
    hang_timeout: Duration = 300.0
    stop_signal: SignalName = "SIGTERM"
    stop_timeout: Duration = 30.0
    parent_death_signal: SignalName | None = "SIGTERM"
    # Which of its lines reach the terminal (all go to its log): true, false, or errors
    # (session/streaming.py ErrorLines; docs/ENGINE.md).
    console: Literal[True, False, "errors"] = True

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _ENGINE_NAME.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-' (it names the engine's log file)")
        return value


class StepConfig(Model):
    command: Command
    timeout: Duration = 300.0
    cwd: str | None = None
    env: EnvMap = Field(default_factory=dict)
    enabled: bool = True
