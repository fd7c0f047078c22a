"""What tradeday's pydantic models share: the time-of-day field type, the error a validator
raises for a rule, and the wording of pydantic's errors as one-line messages.

Used by the config models (``session.config``) and the calendar data models (the special
session, the overlay file), which is why it lives outside both packages. Only modules that
define pydantic models import it, so the pydantic import here costs nothing extra.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Annotated, Any

from pydantic import BeforeValidator

from core.durations import parse_time_of_day

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
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return "must be a date written YYYY-MM-DD"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return msg[0].lower() + msg[1:] if msg else msg
    if kind == "union_tag_invalid":
        return f"unknown type; use one of {ctx.get('expected_tags', '')}"
    if kind == "union_tag_not_found":
        return f"needs '{ctx.get('discriminator', 'type')}'"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return msg


def error_parts(err: Mapping[str, Any]) -> tuple[Loc, str, str | None]:
    """(key path, message, hint) of one pydantic error; a RuleViolation adds its own path and hint."""
    loc: Loc = tuple(err.get("loc", ()))
    rule = (err.get("ctx") or {}).get("error")
    if isinstance(rule, RuleViolation):
        return (*loc, *rule.at), rule.message, rule.hint
    return loc, friendly(err), None


def join_loc(where: str, loc: Loc) -> str:
    """``where`` followed by a key path: ``("market.special_sessions.2025-01-02", ("breaks", 0))``
    -> ``market.special_sessions.2025-01-02.breaks[0]``."""
    tail = loc_text(loc)
    if not tail or not where:
        return where or tail
    return where + tail if tail.startswith("[") else f"{where}.{tail}"
