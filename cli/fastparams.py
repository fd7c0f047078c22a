"""Command-line values without pydantic where typer's answer is plain (issue 15, cold start).

typer 0.29 coerces every parameter of the command being run through a pydantic TypeAdapter,
built on first use, for defaults too (``None``, an enum default): importing pydantic for that
costs ~0.1 s of a start. Each typer parameter builds its coercion in one lazy slot
(``_TyperParameter._runtime_param``); :func:`install` fills that slot with a coercion that
answers the cases whose result is typer's by construction, running typer's own functions:

- an enum value that is a member already (a default): typer's choice coercion returns it as is;
  a text for an enum goes through typer's ``coerce_cli_choice`` (the adapter's validator);
- a text for a ``str``; a text for a ``Path``: ``Path(text)``, which is what pydantic makes of
  any text, and then typer's ``coerce_cli_path`` (its exists/dir/file checks);
- an ``int`` for an ``int``.

Everything else, and every value typer would refuse, goes to the coercion typer builds itself,
so its errors are typer's, word for word. Without these typer internals (another typer), nothing
is installed and typer does it all. tests/cli/test_fastparams.py compares both on each command's
parameters.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path
    from typer.core import _TyperParameter
except ImportError:  # another typer: it coerces everything itself
    RuntimeParam = None  # type: ignore[assignment,misc]


def _plain(descriptor: Any) -> bool:
    info = descriptor.parameter_info
    return info.parser is None and descriptor.file_annotation is None


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class PlainRuntimeParam(RuntimeParam):
        """typer's coercion of one parameter, without pydantic for the plain cases."""

        descriptor: TypeDescriptor = field(default=None)  # type: ignore[assignment]
        _typers: list[Any] = field(default_factory=list)  # typer's own coercion, once built

        def _typer(self) -> Any:
            if not self._typers:
                self._typers.append(build_runtime_param(self.descriptor))
            return self._typers[0]

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            fast = _fast(self.descriptor, value, param, ctx)
            if fast is not _NO:
                return fast
            return self._typer()._coerce_value(value, param=param, ctx=ctx)


_NO = object()


def _fast(descriptor: Any, value: Any, param: Any, ctx: Any) -> Any:
    """typer's result for ``value``, or _NO when typer's own coercion must answer."""
    annotation, info = descriptor.annotation, descriptor.parameter_info
    if param.multiple or param.nargs != 1 or not _plain(descriptor) or not isinstance(annotation, type):
        return _NO
    if issubclass(annotation, enum.Enum):
        choices = tuple(annotation)
        if any(value is choice for choice in choices):
            return value
        if isinstance(value, str):
            try:
                return coerce_cli_choice(value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx)
            except ValueError:
                return _NO  # typer words the error
        return _NO
    if annotation is str:
        return value if type(value) is str else _NO
    if annotation is bool:
        return value if type(value) is bool else _NO
    if annotation is int:
        return value if type(value) is int else _NO
    if issubclass(annotation, Path) and info.path_type is None:
        if type(value) is str:
            value = annotation(value)  # pydantic's Path of any text
        if isinstance(value, annotation):
            return coerce_cli_path(value, info, path_type=annotation, param=param, ctx=ctx)
    return _NO


def _fill(param: Any) -> None:
    if (isinstance(param, _TyperParameter) and getattr(param, "_runtime_param", _NO) is None
            and isinstance(getattr(param, "type_descriptor", None), TypeDescriptor)):
        d = param.type_descriptor
        param._runtime_param = PlainRuntimeParam(parameter_info=d.parameter_info, annotation=d.annotation,
                                                 descriptor=d)


def install(command: Any) -> None:
    """Fill the coercion slot of every typer parameter of ``command`` and its subcommands, and
    of the help option each makes when it parses (``--help``/``-h``, a bool flag)."""
    if RuntimeParam is None:
        return
    for param in getattr(command, "params", []):
        _fill(param)
    made = getattr(command, "get_help_option", None)
    if callable(made):
        def get_help_option(ctx: Any, made: Any = made) -> Any:
            option = made(ctx)
            if option is not None:
                _fill(option)
            return option

        command.get_help_option = get_help_option
    for sub in (getattr(command, "commands", None) or {}).values():
        install(sub)
