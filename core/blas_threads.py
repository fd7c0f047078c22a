"""numpy loads with one BLAS thread in the ``tradeday`` process, not one per core.

numpy's OpenBLAS starts a thread per core as the library loads, and each spins for about
0.1 s of CPU waiting for work that never comes: tradeday does no linear algebra (its numpy
is sums, sorts and integer arithmetic on one day's fills). That spin was a tenth of
``tradeday report``'s CPU for a two-month range, on every command that reads fills.

OpenBLAS reads ``OPENBLAS_NUM_THREADS`` only while it loads, and tradeday passes its
environment on to the engines and hooks it starts, which may well do linear algebra. So
the variable is set only while numpy loads and removed right after: a child started later
never sees it. A value the person set is left alone (and kept). The environment is touched
only while this is the process's only thread (a thread reading it meanwhile, e.g. a
resolver in a notification, could see it half changed); otherwise numpy loads as it would
have, threads and all.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

VARIABLE = "OPENBLAS_NUM_THREADS"


def install() -> None:
    """Load numpy with one BLAS thread when something first imports it (the CLI's main calls this)."""
    if "numpy" in sys.modules or any(isinstance(f, _NumpyFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _NumpyFinder())


class _NumpyFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "numpy":
            return None
        sys.meta_path.remove(self)  # once: the rest of numpy is found the usual way
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _OneThreadLoader(spec.loader)
        return spec


class _OneThreadLoader(importlib.abc.Loader):
    """numpy's own loader, with the variable set while ``numpy/__init__`` runs (it loads OpenBLAS)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._inner.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        # numpy's module records its real loader, not this wrapper.
        module.__loader__ = self._inner
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        ours = VARIABLE not in os.environ and threading.active_count() == 1
        if ours:
            os.environ[VARIABLE] = "1"
        try:
            self._inner.exec_module(module)
        finally:
            if ours:
                os.environ.pop(VARIABLE, None)
