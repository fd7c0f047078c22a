"""What tradeday's pydantic models share: the time-of-day field type, the error a validator
raises for a rule, and the wording of pydantic's errors as one-line messages.

Used by the config models (``session.config``) and the calendar data models (the special
session, the overlay file), which is why it lives outside both packages. Only modules that
define pydantic models import it, so the pydantic import here costs nothing extra.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from typing import Annotated, Any

from pydantic import BeforeValidator

from core.durations import parse_time_of_day
from core.suggest import close_matches

TimeOfDay = Annotated[time, BeforeValidator(parse_time_of_day)]

Loc = tuple[str | int, ...]


class RuleViolation(ValueError):
    """A rule a validator enforces, raised inside pydantic validation.

    pydantic keeps the exception in the error's context, so the message, the hint (what to do)
    and ``at`` (the key path below the validated value where the fault is, e.g.
    ``("breaks", 0)``) all reach the one-line message built by :func:`error_parts`.
    """

    def __init__(self, message: str, *, hint: str | None = None, at: Loc = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.at = at

    def under(self, *parts: str | int) -> RuleViolation:
        """The same violation, seen from a value further up: ``parts`` lead to this one."""
        return RuleViolation(self.message, hint=self.hint, at=(*parts, *self.at))


def loc_text(loc: Loc) -> str:
    """``("engines", 1, "command")`` -> ``engines[1].command``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def friendly(err: Mapping[str, Any]) -> str:
    """pydantic's message for one error, in the words of a config error."""
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid value"))
    ctx = err.get("ctx") or {}
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be an integer"
    if kind in ("float_parsing", "float_type"):
        return "must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind == "missing":
        return "is required"
    # A pydantic dataclass (the special session) reports an unknown key as an unexpected argument.
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return "unknown key"
    if kind in ("list_type",):
        return "must be a list"
    if kind in ("dict_type", "model_type", "model_attributes_type", "dataclass_type"):
        return "must be a mapping (key: value)"
    if kind in ("string_type",):
        return "must be a string"
    if kind in ("literal_error", "enum"):
        return _not_one_of(err.get("input"), str(ctx.get("expected", "")))
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return "must be a date written YYYY-MM-DD"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return msg[0].lower() + msg[1:] if msg else msg
    if kind == "union_tag_invalid":
        return _not_one_of(ctx.get("tag"), str(ctx.get("expected_tags", "")))
    if kind == UNION_MISMATCH:
        return msg
    if kind == "union_tag_not_found":
        return f"needs '{ctx.get('discriminator', 'type')}'"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return msg


def error_parts(err: Mapping[str, Any]) -> tuple[Loc, str, str | None]:
    """(key path, message, hint) of one pydantic error; a RuleViolation adds its own path and hint."""
    loc: Loc = tuple(err.get("loc", ()))
    ctx = err.get("ctx") or {}
    rule = ctx.get("error")
    if isinstance(rule, RuleViolation):
        return (*loc, *rule.at), rule.message, rule.hint
    if err.get("type") == "union_tag_invalid":
        # The message is about the tag's key (``type``), so is its line.
        key = str(ctx.get("discriminator", "")).strip("'")
        if key.isidentifier():
            loc = (*loc, key)
    return loc, friendly(err), None


# --- values out of a list, and unions ------------------------------------------------------------

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
UNION_MISMATCH = "tradeday_union_mismatch"  # made by collapse_unions: no branch fits the value's shape


def _not_one_of(value: Any, expected: str) -> str:
    """``'kitee' is not one of none, kite, ibkr; did you mean kite?`` (pydantic writes the
    allowed values as ``'none', 'kite' or 'ibkr'``)."""
    allowed = _QUOTED.findall(expected)
    listed = ", ".join(allowed) if allowed else expected
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or not allowed:
        return f"must be one of {listed}"
    text = f"{value!r} is not one of {listed}"
    near = close_matches(str(value), allowed)
    return f"{text}; did you mean {near[0]}?" if near else text


# pydantic names a union's branches in the error location: literal['a','b'], list[str],
# function-after[...], int, or a model's class name.
_BRANCH_TAG = re.compile(r"\[|^(str|int|float|bool|bytes|none|function-[a-z]+)$|^[A-Z]")
_SHAPE = frozenset({"list_type", "dict_type", "string_type", "int_type", "float_type", "bool_type", "model_type",
                    "model_attributes_type", "dataclass_type", "is_instance_of", "tuple_type", "set_type"})


def _branch_index(loc: Loc, data: Any, kind: str) -> int | None:
    """Where in ``loc`` pydantic named a union branch: the first part that is not in the
    document and reads like a branch tag."""
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            last_missing = i == len(loc) - 1 and kind == "missing"
            return i if isinstance(part, str) and not last_missing and _BRANCH_TAG.search(part) else None
    return None


def _shape_mismatch(err: Mapping[str, Any]) -> bool:
    """The value is not even of the branch's kind (a name given to the list branch)."""
    kind = str(err.get("type", ""))
    if kind in ("literal_error", "enum"):
        return not isinstance(err.get("input"), (str, int, float))
    return kind in _SHAPE


def _describe_branch(tag: str) -> str:
    literal = re.fullmatch(r"literal\[(.*)\]", tag)
    if literal:
        return "one of " + ", ".join(_QUOTED.findall(literal.group(1)))
    listed = re.fullmatch(r"(?:list|tuple|set)\[(.*)\]", tag)
    if listed:
        return "a list of " + _describe_branch(listed.group(1)).removeprefix("one of ")
    simple = {"str": "text", "int": "an integer", "float": "a number", "bool": "true or false"}
    return simple.get(tag, "a mapping" if tag.startswith("dict[") or tag[:1].isupper() else tag)


def _branch_score(errors: list[dict[str, Any]], depth: int) -> tuple[bool, int]:
    """(about content rather than shape, how far past the union it reached)."""
    return not all(_shape_mismatch(e) for e in errors), max(len(e["loc"]) - depth for e in errors)


def _one_branch(loc: Loc, branches: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The errors of the branch the value was meant for, or one error saying what would fit."""
    if len(branches) == 1:
        return next(iter(branches.values()))
    best = max(branches.values(), key=lambda errors: _branch_score(errors, len(loc)))
    if _branch_score(best, len(loc))[0]:
        return best
    wanted = ", or ".join(_describe_branch(tag) for tag in branches)
    return [{"type": UNION_MISMATCH, "loc": loc, "msg": f"must be {wanted}"}]


def collapse_unions(errors: list[dict[str, Any]], data: Any) -> list[dict[str, Any]]:
    """pydantic reports a union's mistake once per branch (``broker.kind.literal[...]`` and
    ``broker.kind.list[...]``). Keep the branch the value was meant for, the one whose errors
    are about content rather than shape and reach deepest, without the branch's name in the
    location; when no branch fits the value's shape, one error saying what would."""
    groups: dict[Loc, dict[str, list[dict[str, Any]]]] = {}
    order: list[dict[str, Any] | Loc] = []  # errors as they came, a union where its first error was
    for err in errors:
        loc: Loc = tuple(err.get("loc", ()))
        i = _branch_index(loc, data, str(err.get("type", "")))
        if i is None:
            order.append(err)
            continue
        if loc[:i] not in groups:
            groups[loc[:i]] = {}
            order.append(loc[:i])
        groups[loc[:i]].setdefault(str(loc[i]), []).append({**err, "loc": loc[:i] + loc[i + 1:]})
    result: list[dict[str, Any]] = []
    for item in order:
        result.extend(_one_branch(item, groups[item]) if isinstance(item, tuple) else [item])
    return result


def join_loc(where: str, loc: Loc) -> str:
    """``where`` followed by a key path: ``("market.special_sessions.2025-01-02", ("breaks", 0))``
    -> ``market.special_sessions.2025-01-02.breaks[0]``."""
    tail = loc_text(loc)
    if not tail or not where:
        return where or tail
    return where + tail if tail.startswith("[") else f"{where}.{tail}"
