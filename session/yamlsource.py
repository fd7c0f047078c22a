"""YAML with positions: load a file once, keep its node tree to answer "which line is key X on".

pydantic reports errors as key paths without line numbers (NOTES.md); the composed node tree
of PyYAML carries a start mark for every node, so a key path maps back to ``file:line``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError


def _located(path: Path, line: int | None, text: str) -> str:
    return f"{path}:{line} {text}" if line else f"{path}: {text}"


class YamlSource:
    """A parsed YAML document and the node tree it came from."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        try:
            self.root_node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            line = exc.problem_mark.line + 1 if exc.problem_mark else None
            problem = exc.problem or "YAML syntax error"
            raise ConfigError(
                _located(path, line, f"YAML syntax: {problem}"),
                hint="fix the YAML on that line (indentation, a missing colon or an unclosed quote or bracket)",
            ) from None
        except yaml.YAMLError as exc:  # pragma: no cover - non-marked scanner errors are rare
            raise ConfigError(f"{path}: YAML syntax: {exc}") from None
        if self.root_node is None:
            self.data: Any = {}
        else:
            loader = yaml.SafeLoader("")
            try:
                self.data = loader.construct_document(self.root_node)
            except yaml.constructor.ConstructorError as exc:
                line = exc.problem_mark.line + 1 if exc.problem_mark else None
                raise ConfigError(_located(path, line, f"YAML: {exc.problem}")) from None
            finally:
                loader.dispose()

    @classmethod
    def read(cls, path: Path) -> YamlSource:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"{path}: config file not found",
                hint="pass --config PATH or set TRADEDAY_CONFIG",
            ) from None
        except (UnicodeDecodeError, OSError) as exc:
            raise ConfigError(f"{path}: cannot read config file: {exc.__class__.__name__}") from None
        return cls(path, text)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """1-based line of the deepest node reachable along ``loc``.

        Path elements that are not in the document (pydantic adds union tags, a validator
        may have renamed a key) are skipped rather than ending the walk.
        """
        node = self.root_node
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in loc:
            child = _child(node, part)
            if child is None:
                continue
            key_node, node = child
            line = (key_node or node).start_mark.line + 1
        return line

    def locate(self, loc: Sequence[str | int], text: str) -> str:
        return _located(self.path, self.line_of(loc), text)

    def walk_scalars(self, visit: Callable[[yaml.ScalarNode, tuple[str | int, ...]], None]) -> None:
        """Call ``visit(node, key_path)`` for every scalar value node."""

        def rec(node: yaml.Node, path: tuple[str | int, ...]) -> None:
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    rec(v, path + (k.value,))
            elif isinstance(node, yaml.SequenceNode):
                for i, v in enumerate(node.value):
                    rec(v, path + (i,))
            elif isinstance(node, yaml.ScalarNode):
                visit(node, path)

        if self.root_node is not None:
            rec(self.root_node, ())


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                return k, v
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        if 0 <= part < len(node.value):
            return None, node.value[part]
    return None


# ${VAR} and ${VAR:-default}; $${ is a literal "${".
_INTERPOLATION = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MissingVariable(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def interpolate(value: str, environ: dict[str, str] | Any, found: list[str] | None = None) -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}``; raise MissingVariable for an unset one.

    Every substituted value is appended to ``found`` so the caller can treat it as secret.
    """

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        name, default = m.group(1), m.group(2)
        val = environ.get(name)
        if val is None or (val == "" and default is not None):
            if default is None:
                raise MissingVariable(name)
            return default  # written in the file itself, so not a secret from the environment
        if found is not None:
            found.append(val)
        return val

    return _INTERPOLATION.sub(sub, value)
