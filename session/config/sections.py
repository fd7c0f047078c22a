"""Engine-owned sections as copilot_quant's users read them: ``config.strategy.symbols``,
``config.risk.max_portfolio_drawdown = 0.1``.

A :class:`Section` is a plain ``dict`` (the engine's data: ``isinstance(x, dict)``, dict
access, ``json.dumps`` and YAML dumping keep working) that also reads and assigns its keys
as attributes. Keys named like a dict method (``items``, ``keys``, ``get``, ...) are read
with ``section["items"]``.
"""
from __future__ import annotations

from typing import Any

import yaml


class Section(dict[str, Any]):
    """A mapping of the engine's settings, readable and assignable by attribute."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.update(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and friends probe dunders: not keys
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"this section has no key '{name}'") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"this section has no key '{name}'") from None

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, wrap(value))

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Section, (dict(self),))


def wrap(value: Any) -> Any:
    """``value`` with every mapping in it (inside lists too) a Section."""
    if isinstance(value, Section):
        return value
    if isinstance(value, dict):
        return Section(value)
    if isinstance(value, list):
        return [wrap(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """``value`` with every Section a plain dict again (for libraries that check exact types)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# yaml.safe_dump looks representers up by exact type: a Section dumps as the mapping it is.
yaml.SafeDumper.add_representer(Section, yaml.representer.SafeRepresenter.represent_dict)
