"""Package ``__init__``s that load their names on first use (PEP 562), so that importing one
submodule does not import the whole package: ``tradeday status`` reads
``reports.pnl.currency`` without loading the FIFO, numpy's callers or the report writer.

A package declares its names once, as ``{name: submodule}``, calls :func:`lazy_exports` and
imports the same names under ``if TYPE_CHECKING:`` so type checkers see them (and only them:
the loader is not visible to mypy, so a misspelt name is still an error)::

    _EXPORTS = {"compute_day": "reports.pnl.day"}
    __all__ = sorted(_EXPORTS)
    lazy_exports(__name__, _EXPORTS)
    if TYPE_CHECKING:
        from reports.pnl.day import compute_day
"""
from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from typing import Any


class _LazyPackage(types.ModuleType):
    """A package module whose exported names are imported when first looked up."""

    _lazy_exports: Mapping[str, str]

    def __getattr__(self, name: str) -> Any:  # only called for names not set yet
        exports = self.__dict__.get("_lazy_exports", {})
        module = exports.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module), name)
            self.__dict__[name] = value  # later lookups are plain attribute reads
            return value
        # A submodule not imported yet: `import reports.pnl as p; p.day` worked when the
        # package imported everything, so it keeps working.
        try:
            return importlib.import_module(f"{self.__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{self.__name__}.{name}":
                raise
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        # The import system sets ``package.sub`` to the submodule once it is loaded. When an
        # exported name equals its submodule's (``reports.pnl.reconcile`` the function, in
        # ``reports/pnl/reconcile.py``), the name must stay the function, as it did when the
        # package imported it eagerly.
        exports = self.__dict__.get("_lazy_exports", {})
        if (isinstance(value, types.ModuleType) and exports.get(name) == value.__name__
                and value.__name__ == f"{self.__name__}.{name}"):
            value = getattr(value, name)
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(self.__dict__) | set(self.__dict__.get("_lazy_exports", {})))


def lazy_exports(package: str, exports: Mapping[str, str]) -> None:
    """Make ``package`` (its ``__name__``) load each of ``exports`` from its submodule on first use."""
    module = sys.modules[package]
    module.__dict__["_lazy_exports"] = dict(exports)
    module.__class__ = _LazyPackage
