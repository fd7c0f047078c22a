"""cli/fastparams.py answers typer's coercion without pydantic only where the answer is typer's:
for every parameter of every tradeday command, the same values through both give the same value
or the same error (tests/cli/test_status_snapshot.py runs `status` without pydantic)."""
from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

from cli import fastparams
from cli.main import app


def _params() -> list[tuple[Any, Any]]:
    root = typer.main.get_command(app)
    found = []

    def walk(command: Any) -> None:
        for p in command.params:
            found.append((command, p))
        for sub in (getattr(command, "commands", None) or {}).values():
            walk(sub)

    walk(root)
    return found


def _outcome(runtime: Any, value: Any, param: Any, ctx: Context) -> tuple[str, Any]:
    try:
        return "value", runtime.coerce(value, param=param, ctx=ctx)
    except BadParameter as exc:
        return "error", exc.format_message()


def test_every_parameter_coerces_as_typer_does(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    params = _params()
    assert len(params) > 40
    compared = 0
    for command, param in params:
        ctx = Context(command, info_name=command.name)
        d = param.type_descriptor
        samples: list[Any] = [None, param.default, "", "x", "DEBUG", "debug", "paper", "Live", "7", "-1", "1.5",
                              str(tmp_path), str(tmp_path / "file.txt"), str(tmp_path / "none"), "-", True, 3]
        if isinstance(d.annotation, type) and issubclass(d.annotation, enum.Enum):
            samples += list(d.annotation) + [m.value for m in d.annotation] + [m.value.upper() for m in d.annotation]
        ours = fastparams.PlainRuntimeParam(parameter_info=d.parameter_info, annotation=d.annotation, descriptor=d)
        for value in samples:
            if (param.multiple or param.nargs != 1) and isinstance(value, str):
                value = (value,)
            try:
                theirs = _outcome(build_runtime_param(d), value, param, ctx)
            except Exception as exc:  # noqa: BLE001  typer's own failure must be ours too
                with pytest.raises(type(exc)):
                    ours.coerce(value, param=param, ctx=ctx)
                continue
            assert _outcome(ours, value, param, ctx) == theirs, (command.name, param.name, value)
            compared += 1
    assert compared > 500

