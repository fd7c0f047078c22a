"""The import contract between tradeday's layers, and its size limits, read from the source.

Layers run one way: ``tradeday`` (the Python API) may import ``session``, ``reports`` and
``core``, and nothing imports it; ``cli`` may import ``session``, ``reports`` and ``core``; ``session``
imports ``reports`` and ``core``; ``reports`` imports only ``core``; ``core`` imports nothing
of the project but itself. Nothing outside ``cli`` imports ``cli``. Every import counts:
at module level, inside functions, under ``if TYPE_CHECKING:``, relative ones, and
``importlib.import_module("...")`` with a literal name.

Limits: no product module over 600 lines, no function over 100 lines.
"""
from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

PRODUCT_PACKAGES = ("core", "cli", "session", "reports", "templates", "tradeday")
# Top-level names that are the project's own.
PROJECT_NAMES = frozenset(PRODUCT_PACKAGES)
# Which project packages each layer may import (its own included).
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset({"core"}),
    "reports": frozenset({"core", "reports"}),
    "session": frozenset({"core", "reports", "session"}),
    "cli": frozenset({"core", "reports", "session", "cli", "templates"}),
    "templates": frozenset({"templates"}),
    # The Python API re-exports what is below it; no layer imports it (not even cli).
    "tradeday": frozenset({"core", "reports", "session", "tradeday"}),
}
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 100


@dataclass(frozen=True)
class Import:
    module: str  # dotted, absolute
    line: int

    @property
    def top(self) -> str:
        return self.module.split(".", 1)[0]


def product_files() -> list[Path]:
    return sorted(p for pkg in PRODUCT_PACKAGES for p in (REPO / pkg).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> Iterator[Import]:
    """Every module ``source`` imports, wherever the statement sits."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield Import(target, node.lineno)
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield Import(first.value, node.lineno)


def _is_import_module(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id in ("import_module", "__import__")


@functools.cache  # one walk for every layer's test
def layer_violations() -> list[str]:
    problems = []
    for path in product_files():
        name = module_name(path)
        layer = name.split(".", 1)[0]
        for imp in imports_of(path.read_text(encoding="utf-8"), name, is_package=path.name == "__init__.py"):
            if imp.top in PROJECT_NAMES and imp.top not in ALLOWED[layer]:
                problems.append(f"{path.relative_to(REPO)}:{imp.line}: {layer} imports {imp.module}")
    return problems


def long_modules() -> list[str]:
    found = []
    for path in product_files():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{path.relative_to(REPO)}: {lines} lines")
    return found


def long_functions() -> list[str]:
    found = []
    for path in product_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.name} is {length} lines")
    return found


# --- the walker itself -------------------------------------------------------------------------

def test_the_walker_sees_every_kind_of_import() -> None:
    source = '''
from __future__ import annotations
import json, session.config as cfg
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from cli.common import load
def later():
    import reports.pnl
    from . import sibling
    from ..core import errors
    importlib.import_module("templates")
class K:
    async def run(self):
        from .deep.mod import thing
'''
    found = {(i.module, i.line) for i in imports_of(source, "session.notify.hub")}
    assert found == {
        ("__future__", 2), ("json", 3), ("session.config", 3), ("typing", 4), ("cli.common", 6),
        ("reports.pnl", 8), ("session.notify", 9), ("session.core", 10), ("templates", 11),
        ("session.notify.deep.mod", 14),
    }
    in_package = {i.module for i in imports_of("from . import x\nfrom .y import z\n", "session.checks", is_package=True)}
    assert in_package == {"session.checks", "session.checks.y"}


def test_the_walk_covers_every_layer() -> None:
    layers = {module_name(p).split(".", 1)[0] for p in product_files()}
    assert layers == set(PRODUCT_PACKAGES)
    assert len(product_files()) > 40


# --- the contract --------------------------------------------------------------------------------

@pytest.mark.parametrize("layer", ["core", "reports", "session", "templates", "cli", "tradeday"])
def test_layers_import_only_downwards(layer: str) -> None:
    problems = [p for p in layer_violations() if p.split("/", 1)[0] == layer]
    assert not problems, "layer crossed:\n" + "\n".join(problems)


def test_nothing_outside_cli_imports_cli() -> None:
    problems = [p for p in layer_violations() if p.endswith(" imports cli") or " imports cli." in p]
    assert not problems, "\n".join(problems)


def test_no_module_over_600_lines() -> None:
    found = long_modules()
    assert not found, "split these along their ideas:\n" + "\n".join(found)


def test_no_function_over_100_lines() -> None:
    found = long_functions()
    assert not found, "split these into named steps:\n" + "\n".join(found)
