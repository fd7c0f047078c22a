"""YAML with positions: load a file once, keep its node tree to answer "which line is key X on".

pydantic reports errors as key paths without line numbers (NOTES.md); the composed node tree
of PyYAML carries a start mark for every node, so a key path maps back to ``file:line``.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError, ConfigNotFoundError, ConfigValidationError

# A config holds settings, not data: the largest seed config is a few KiB. Reading stops
# one byte past the limit, so a huge file (or /dev/zero) costs at most this much.
MAX_CONFIG_BYTES = 1024 * 1024
# Nodes that aliases (``*name``, ``<<: *name``) may repeat in one document, all aliases
# together. Nested anchors multiply ("billion laughs": 9 levels of 9 aliases expand to
# 9**9 nodes), and everything after parsing walks the expanded tree.
MAX_ALIAS_NODES = 100_000


def _located(path: Path, line: int | None, text: str) -> str:
    return f"{path}:{line} {text}" if line else f"{path}: {text}"


def read_config_text(path: Path) -> str:
    """The text of a config file, refused (ConfigError) past MAX_CONFIG_BYTES or when unreadable."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
            if len(data) > MAX_CONFIG_BYTES:
                size = os.fstat(fh.fileno()).st_size
                how_big = f"{size} bytes" if size > MAX_CONFIG_BYTES else f"more than {MAX_CONFIG_BYTES} bytes"
                raise ConfigValidationError(
                    f"{path}: the config file is larger than the {MAX_CONFIG_BYTES // 1024**2} MiB limit ({how_big})",
                    hint="a config holds settings; keep large data in a file of its own that the engine reads",
                )
        return data.decode("utf-8")
    except FileNotFoundError:
        # Also a FileNotFoundError: code written for copilot_quant's ConfigManager catches that.
        raise ConfigNotFoundError(
            f"{path}: config file not found",
            hint="pass --config PATH or set TRADEDAY_CONFIG",
            filename=str(path),
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file", hint="pass --config PATH to a YAML file") from None
    except (UnicodeDecodeError, OSError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            raise ConfigValidationError(f"{path}: cannot read config file: {exc.__class__.__name__}") from None
        raise ConfigError(f"{path}: cannot read config file: {exc.__class__.__name__}") from None


class AliasLimitError(yaml.MarkedYAMLError):
    """An alias that would expand the document past MAX_ALIAS_NODES, or into itself."""


class BoundedSafeLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, counting while it composes the nodes every alias repeats.

    The composer shares an anchored node wherever it is referred to; every walk after it
    (construction, interpolation, validation, dumping) expands the sharing. Counting here
    costs one lookup per alias: each node's expanded size is computed once and kept.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._alias_nodes = 0
        self._sizes: dict[int, int] = {}
        self._open_anchors: list[str] = []

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            mark: Any = event.start_mark  # the pure-Python loader's Mark
            if event.anchor in self._open_anchors:
                raise AliasLimitError(None, None, f"alias *{event.anchor} refers to itself", mark)
            target = self.anchors.get(event.anchor)
            if target is not None:
                self._alias_nodes += self._expanded_size(target)
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise AliasLimitError(
                        None, None,
                        f"aliases expand to more than {MAX_ALIAS_NODES} nodes (at alias *{event.anchor})",
                        mark,
                    )
            return super().compose_node(parent, index)
        anchor = getattr(event, "anchor", None)
        if anchor is None or isinstance(event, yaml.ScalarEvent):
            return super().compose_node(parent, index)
        self._open_anchors.append(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._open_anchors.pop()

    def _expanded_size(self, node: yaml.Node) -> int:
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self._expanded_size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self._expanded_size(k) + self._expanded_size(v) for k, v in node.value)
        self._sizes[id(node)] = size
        return size


def compose_bounded(text: str) -> yaml.Node | None:
    """``yaml.compose`` with BoundedSafeLoader (one document)."""
    loader = BoundedSafeLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def compose_all_bounded(text: str) -> list[yaml.Node]:
    """``yaml.compose_all`` with BoundedSafeLoader; the alias budget spans all documents."""
    loader = BoundedSafeLoader(text)
    nodes: list[yaml.Node] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
    finally:
        loader.dispose()
    return nodes


class YamlSource:
    """A parsed YAML document and the node tree it came from."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        try:
            self.root_node = compose_bounded(text)
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(path, exc) from None
        except yaml.YAMLError as exc:  # pragma: no cover - non-marked scanner errors are rare
            raise ConfigValidationError(f"{path}: YAML syntax: {exc}") from None
        self.data: Any = {} if self.root_node is None else _construct(path, self.root_node)

    @classmethod
    def read(cls, path: Path) -> YamlSource:
        return cls(path, read_config_text(path))

    @classmethod
    def documents(cls, label: str, text: str) -> list[Any]:
        """Every document of a YAML stream (``config diff`` compares whole files, and an old
        version may hold several), under the same bounds; ConfigError names ``label:line``."""
        where = Path(label)
        try:
            nodes = compose_all_bounded(text)
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(where, exc) from None
        except yaml.YAMLError as exc:  # pragma: no cover - non-marked scanner errors are rare
            raise ConfigValidationError(f"{label}: YAML syntax: {exc}") from None
        return [_construct(where, node) for node in nodes]

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

    def node_at(self, loc: Sequence[str | int]) -> yaml.Node | None:
        """The value node at exactly ``loc``, or None when the document has no such key."""
        node = self.root_node
        for part in loc:
            child = _child(node, part) if node is not None else None
            if child is None:
                return None
            node = child[1]
        return node

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


def _syntax_error(path: Path, exc: yaml.MarkedYAMLError) -> ConfigError:
    line = exc.problem_mark.line + 1 if exc.problem_mark else None
    if isinstance(exc, AliasLimitError):
        return ConfigValidationError(_located(path, line, f"YAML: {exc.problem}"),
                           hint="write the repeated part out, or use fewer levels of anchors")
    return ConfigValidationError(
        _located(path, line, f"YAML syntax: {exc.problem or 'YAML syntax error'}"),
        hint="fix the YAML on that line (indentation, a missing colon or an unclosed quote or bracket)",
    )


def _construct(path: Path, node: yaml.Node) -> Any:
    """Python data of a composed document (the tree stays, for line numbers)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigValidationError(_located(path, line, f"YAML: {exc.problem}")) from None
    finally:
        loader.dispose()


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
