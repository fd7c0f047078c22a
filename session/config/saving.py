"""What ``ConfigManager.save`` writes: the user's file, changed only where the config object
differs from the file it was loaded from.

The config object is compared with the config the file gives, key by key (``view``); only
the keys whose values differ are written, at the place the file has them (copilot_quant's
``broker.port`` for the model's ``broker.ibkr.port``). Defaults are never written out.
A changed scalar is replaced in the text itself, so every other byte of the file (comments,
quoting, indentation, blank lines) stays as it was; adding or removing keys, or replacing a
list or a mapping, goes through ruamel.yaml's round-trip mode, which keeps comments and key
order.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from session.config.sections import plain
from session.validation import Loc

if TYPE_CHECKING:
    from session.config.models import TradedayConfig
    from session.yamlsource import YamlSource

DELETE = object()  # the marker of a key the config object no longer has


class Unwritable(ValueError):
    """A change at a key the file writes in another form (copilot_quant's short notifications:
    ``channels: [slack]`` where the model has a channel object)."""

    def __init__(self, loc: Loc) -> None:
        super().__init__(loc)
        self.loc = loc

Change = tuple[Loc, Any]
_COPILOT_IBKR_KEYS = ("host", "port", "client_id", "probe_client_id", "timeout")
_WHOLE_MINUTE = re.compile(r"^[0-2][0-9]:[0-5][0-9]:00$")
_PLAIN_WORD = re.compile(r"^[A-Za-z0-9_./@+-][A-Za-z0-9_./@+ -]*$")


def view(config: TradedayConfig, *, minimal: bool = False) -> dict[str, Any]:
    """The config as plain data, keyed as the file keys it (``minimal``: without defaults)."""
    data = plain(config.model_dump(mode="json", by_alias=True, exclude_defaults=minimal, warnings=False))
    if config.engine_options is not None:
        data["engines"] = plain(config.engine_options)  # kite-algo-minimal's mapping, as written
    return data


def changes(old: Any, new: Any, loc: Loc = ()) -> list[Change]:
    """Where ``new`` differs from ``old``: the deepest keys that differ, lists item by item
    when they have the same length (else the whole list)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[Change] = []
        for key in old:
            if key not in new:
                out.append(((*loc, key), DELETE))
        for key, value in new.items():
            out.extend(changes(old[key], value, (*loc, key)) if key in old else [((*loc, key), value)])
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new, strict=True)) for c in changes(a, b, (*loc, i))]
    return [] if old == new and type(old) is type(new) else [(loc, new)]


def at(data: Any, loc: Loc) -> tuple[bool, Any]:
    """(found, value) at ``loc`` in plain data."""
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return False, None
    return True, node


def written_value(loc: Loc, value: Any, minimal: Mapping[str, Any]) -> Any:
    """A new mapping or list is written without its defaults (an added engine gets the keys
    its author set, not every field tradeday has); a time of day of tradeday's as ``09:30``."""
    if isinstance(value, (dict, list)):
        found, small = at(minimal, loc)
        if found:
            return small
    return _short_times(value) if loc[:1] != ("engines",) else value


def _short_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _short_times(v) for k, v in value.items()}
    if isinstance(value, str) and _WHOLE_MINUTE.match(value):
        return value[:5]
    return value


def file_changes(edits: list[Change], file_data: Mapping[str, Any], minimal: Mapping[str, Any]) -> list[Change]:
    """The model's key paths as the file writes them. A key whose section the file lacks is
    written as that section, without defaults: a new ``market`` section keeps the calendar the
    file implied (session/config/models.py infers it only without one)."""
    found = file_data.get("broker")
    broker: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    copilot_broker = "broker_type" in broker
    found = broker.get("ibkr")
    file_ibkr: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    found = file_data.get("session")
    kite_hours = "market" not in file_data and isinstance(found, Mapping) and "market_open_ist" in found
    out: list[Change] = []
    for loc, value in edits:
        if copilot_broker and loc == ("broker", "kind"):
            loc = ("broker", "broker_type")
        elif (copilot_broker and len(loc) == 3 and loc[:2] == ("broker", "ibkr") and loc[2] in _COPILOT_IBKR_KEYS
              and loc[2] not in file_ibkr):
            loc = ("broker", loc[2])
        elif kite_hours and len(loc) == 3 and loc[:2] == ("market", "hours"):
            loc = ("session", f"market_{loc[2]}_ist")  # kite-algo-minimal's IST hours
        missing = _first_missing(file_data, loc)
        if missing is not None and missing != loc:
            loc, value = missing, _short_times(at(minimal, missing)[1])
        if (loc, value) not in out:
            out.append((loc, value))
    return out


def _first_missing(data: Any, loc: Loc) -> Loc | None:
    """The shortest prefix of ``loc`` that the file does not have (None: it has all of it)."""
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, Mapping) and any(str(k) == str(part) for k in node):
            node = next(v for k, v in node.items() if str(k) == str(part))
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return loc[:i + 1]
    return None


# --- changing the text in place ---------------------------------------------------------------


def scalar_text(value: Any) -> str | None:
    """``value`` as a YAML scalar that reads back as the same value anywhere (block or flow),
    or None when it is not a scalar."""
    import yaml

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, str):
        text = value if _PLAIN_WORD.match(value) and value == value.strip() else json.dumps(value, ensure_ascii=False)
    else:
        return None
    try:
        same = yaml.safe_load(text) == value and type(yaml.safe_load(text)) is type(value)
    except yaml.YAMLError:
        same = False
    return text if same else json.dumps(value, ensure_ascii=False) if isinstance(value, str) else None


def patched_text(source: YamlSource, edits: list[Change]) -> str | None:
    """The text with each edit's scalar replaced where it stands; None when an edit is not a
    scalar replacing a scalar the file has (then the caller edits the structure)."""
    import yaml

    spans: list[tuple[int, int, str]] = []
    for loc, value in edits:
        node = source.node_at(loc)
        replacement = None if value is DELETE else scalar_text(value)
        if not isinstance(node, yaml.ScalarNode) or replacement is None or node.style in ("|", ">"):
            return None
        if isinstance(value, str) and node.style == '"':
            replacement = json.dumps(value, ensure_ascii=False)  # quoted as the file quoted it
        elif isinstance(value, str) and node.style == "'":
            replacement = "'" + value.replace("'", "''") + "'"
        spans.append((node.start_mark.index, node.end_mark.index, replacement))
    text = source.text
    for start, end, replacement in sorted(spans, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


# --- changing the structure (ruamel.yaml round trip) --------------------------------------------


def _key(mapping: Any, part: str | int) -> Any:
    """The mapping's own key for ``part`` (a date key reads as its text)."""
    for key in mapping:
        if key == part or str(key) == str(part):
            return key
    return None


def restructured_text(text: str, edits: list[Change]) -> str:
    """The text with ``edits`` applied through ruamel.yaml's round-trip loader and dumper."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    _data, seq_indent, offset = load_yaml_guess_indent(text)
    yml = YAML()
    yml.preserve_quotes = True
    yml.width = 4096
    mapping_indent = _mapping_indent(text)
    yml.indent(mapping=mapping_indent, sequence=seq_indent or mapping_indent, offset=offset or 0)
    yml.representer.add_representer(type(None), lambda rep, _v: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    doc = yml.load(text)
    for loc, value in edits:
        _apply(doc, loc, _quoted_where_needed(value))
    out = io.StringIO()
    yml.dump(doc, out)
    return out.getvalue()


def _quoted_where_needed(value: Any) -> Any:
    """Strings that tradeday's reader (YAML 1.1) would take for something else (``15:30:00``
    is a number there, ``on`` a boolean) are written quoted; ruamel.yaml writes YAML 1.2."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(value, dict):
        return {k: _quoted_where_needed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_quoted_where_needed(v) for v in value]
    if isinstance(value, str) and (scalar_text(value) or "").startswith('"'):
        return DoubleQuotedScalarString(value)
    return value


def _mapping_indent(text: str) -> int:
    """The indentation of the first nested key: what the user's file uses."""
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if line.startswith(" ") and stripped and not stripped.startswith(("#", "-")) and ":" in stripped:
            return len(line) - len(stripped)
    return 2


def _apply(doc: Any, loc: Loc, value: Any) -> None:
    node = doc
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if not isinstance(node, (dict, list)) or (isinstance(node, list) and not isinstance(part, int)):
            raise Unwritable(loc)
        if isinstance(node, list):
            index = int(part)
            if not 0 <= index < len(node):
                raise Unwritable(loc)
            if last:
                if value is DELETE:
                    del node[index]
                else:
                    node[index] = value
                return
            node = node[index]
            continue
        key = _key(node, part)
        if last:
            if value is DELETE:
                if key is not None:
                    del node[key]
            else:
                node[part if key is None else key] = value
            return
        if key is None:
            node[part] = {}
            key = part
        node = node[key]
