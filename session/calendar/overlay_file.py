"""The overlay file's model (``session/data/<pmc name>_overlay.yaml``): what a valid file holds.

Special sessions are the one ``SpecialSession`` model; the rules that belong to the file
(every entry names a source listed under ``sources``, a date is a holiday or a session, not
both) are checked here. Each rule raises a RuleViolation naming its key path, so the loader
reports ``nse_overlay.yaml: special_sessions.2024-11-01: ...`` as before the model existed.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import ConfigError
from session.calendar.special import SpecialSession
from session.calendar.values import DATE_HINT, parse_day
from session.validation import RuleViolation, error_parts, loc_text

KEYS = ("calendar", "known_through", "known_years", "sources", "holidays", "special_sessions")


def _dated(value: Any) -> Any:
    """A mapping keyed by dates, keys made ISO text so that errors below name the day as written."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RuleViolation("must map dates (YYYY-MM-DD) to entries")
    out: dict[str, Any] = {}
    for key, entry in value.items():
        day = parse_day(key)
        if day is None:
            raise RuleViolation(f"'{key}' is not a date", hint=DATE_HINT)
        out[day.isoformat()] = entry
    return out


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _overlay_session(value: Any) -> Any:
    """An overlay entry names its session (and its holiday, when it has one) in plain text."""
    if not isinstance(value, dict) or _text(value.get("name")) is None:
        raise RuleViolation("needs a name, open, close and a source")
    return {**value, "name": _text(value["name"]), "holiday": _text(value.get("holiday"))}


class Holiday(BaseModel):
    """A closure the overlay names: ``{name: <text>, source: <id under sources>}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str
    source: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _named(cls, value: Any) -> Any:
        if not isinstance(value, dict) or _text(value.get("name")) is None:
            raise RuleViolation("needs a name and a source")
        return {**value, "name": _text(value["name"])}


OverlaySession = Annotated[SpecialSession, BeforeValidator(_overlay_session)]


class OverlayFile(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    calendar: str = Field(default="", validate_default=True)
    known_through: int | None = None
    # Years whose whole list the file holds though they need not follow known_through
    # (``tradeday calendar import`` writes them); each one is known.
    known_years: list[int] = Field(default_factory=list)
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)
    holidays: Annotated[dict[date, Holiday], BeforeValidator(_dated)] = Field(default_factory=dict)
    special_sessions: Annotated[dict[date, OverlaySession], BeforeValidator(_dated)] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise RuleViolation("must be a mapping with calendar, sources, holidays, special_sessions")
        unknown = set(value) - set(KEYS)
        if unknown:
            raise RuleViolation(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        return value

    @field_validator("calendar", mode="before")
    @classmethod
    def _pmc_name(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            raise RuleViolation("must name the pmc calendar, e.g. NSE")
        return value

    @field_validator("known_through", mode="before")
    @classmethod
    def _year(cls, value: Any) -> Any:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise RuleViolation("must be a year such as 2026")
        return value

    @field_validator("known_years", mode="before")
    @classmethod
    def _years(cls, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list) or any(isinstance(y, bool) or not isinstance(y, int) for y in value):
            raise RuleViolation("must be a list of years such as [2027]")
        return value

    @field_validator("sources", mode="before")
    @classmethod
    def _sources(cls, value: Any) -> Any:
        if not value:
            return {}
        if not isinstance(value, dict):
            raise RuleViolation("must map a source id to its date, title and url")
        for key, info in value.items():
            if not isinstance(info, dict) or not info.get("title") or not info.get("date"):
                raise RuleViolation("needs at least a title and a date", at=(key,))
        return value

    @model_validator(mode="after")
    def _cross_references(self) -> OverlayFile:
        for day, holiday in self.holidays.items():
            self._check_source(holiday.source, ("holidays", day.isoformat()))
        for day, spec in self.special_sessions.items():
            at = ("special_sessions", day.isoformat())
            if day in self.holidays:
                raise RuleViolation("the date is also under holidays; keep one", at=at)
            self._check_source(spec.source, at)
            try:
                spec.check()
            except RuleViolation as rule:
                raise rule.under(*at) from None
        return self

    def _check_source(self, ref: str | None, at: tuple[str, str]) -> None:
        if not isinstance(ref, str) or ref not in self.sources:
            raise RuleViolation(f"'{ref}' is not one of the ids under sources", at=(*at, "source"))


def overlay_error(exc: ValidationError, label: str) -> ConfigError:
    """The first problem of a file as ``<file>: <key path>: <what is wrong>``."""
    loc, text, hint = error_parts(exc.errors()[0])
    if loc and loc[-1] == "[key]":  # the key itself is wrong: name the mapping it is in
        loc = loc[:-2]
    where = loc_text(loc)
    return ConfigError(f"{label}: {where}: {text}" if where else f"{label}: {text}", hint=hint)
