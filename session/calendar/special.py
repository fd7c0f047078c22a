"""The one special-session model, shared by the bundled overlay, the config's
``market.special_sessions`` and ``MarketCalendar``: calendars as data, validated by one model.

Fields are parsed when a session is made (times from ``"HH:MM"``, breaks from
``[["HH:MM", "HH:MM"], ...]``); the rules between fields (open before close, breaks inside
the session) are :meth:`SpecialSession.check`, which each user runs and reports in its own
terms (a file and key, or a config path). A session made in code with its open after its
close is therefore an error where it is used, not where it is written.

This module imports pydantic: ``session.calendar`` loads it only when a special session is
used (``session.calendar.SpecialSession``, the overlay, a config with special sessions).
"""
from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, SerializerFunctionWrapHandler, ValidationError, model_serializer
from pydantic.dataclasses import dataclass

from core.durations import parse_time_of_day
from core.errors import ConfigError
from session.validation import RuleViolation, TimeOfDay, error_parts, join_loc

DEFAULT_NAME = "Special session"
NEEDS_TIMES_HINT = 'e.g. {open: "18:00", close: "19:00", name: "Muhurat Trading"}'


def _break_pairs(value: Any) -> Any:
    """``breaks`` as (start, end) pairs of times; whether they fit the session is check()'s job."""
    if value is None or value == []:
        return ()
    if not isinstance(value, (list, tuple)):
        raise RuleViolation("must be a list of [start, end] pairs", hint='e.g. breaks: [["10:00", "11:30"]]')
    pairs: list[tuple[time, time]] = []
    for i, pair in enumerate(value):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise RuleViolation("must be a [start, end] pair", hint='e.g. ["10:00", "11:30"]', at=(i,))
        try:
            pairs.append((parse_time_of_day(pair[0]), parse_time_of_day(pair[1])))
        except ValueError as exc:
            raise RuleViolation(str(exc), at=(i,)) from None
    return tuple(pairs)


Breaks = Annotated[tuple[tuple[time, time], ...], BeforeValidator(_break_pairs)]


@dataclass(frozen=True, config=ConfigDict(extra="forbid", hide_input_in_errors=True))
class SpecialSession:
    """A session at non-regular times: a weekend or Muhurat session, or replaced hours.

    ``breaks`` lists pauses inside [open, close), e.g. NSE's 2024 disaster-recovery drills
    traded 09:15-10:00 and 11:30-12:30. ``open``/``close`` are None while the exchange has
    announced the session but not yet its times (the day is then reported unknown; only the
    overlay may say so). ``holiday`` names the holiday the session falls on; ``source`` is
    the id, under the overlay's ``sources``, of the circular that announced it.
    """

    open: TimeOfDay | None = None
    close: TimeOfDay | None = None
    name: str = DEFAULT_NAME
    breaks: Breaks = ()
    holiday: str | None = None
    source: str | None = None

    @property
    def timed(self) -> bool:
        """Whether the times are known (announced sessions may lack them)."""
        return self.open is not None and self.close is not None

    def check(self) -> None:
        """Raise RuleViolation for what no single field can say: open and close go together,
        open comes before close, each break lies inside the session after the previous one."""
        if (self.open is None) != (self.close is None):
            raise RuleViolation("give both open and close, or neither while the times are unannounced")
        if self.open is None or self.close is None:
            return
        if self.open >= self.close:
            raise RuleViolation(f"open {self.open:%H:%M} must be before close {self.close:%H:%M}")
        previous_end = self.open
        for i, (start, end) in enumerate(self.breaks):
            if not previous_end < start < end < self.close:
                raise RuleViolation(
                    f"break {start:%H:%M}-{end:%H:%M} must lie inside the session, after the previous break",
                    hint=f"the session runs {self.open:%H:%M}-{self.close:%H:%M}",
                    at=("breaks", i),
                )
            previous_end = end

    @model_serializer(mode="wrap")
    def _as_written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A config entry has open, close and name; the overlay's extras are dumped only when
        # set, so `config show` prints a special session the way the config spells it.
        data: dict[str, Any] = handler(self)
        if not self.breaks:
            data.pop("breaks", None)
        for key in ("holiday", "source"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


def checked_session(spec: Any, where: str) -> SpecialSession:
    """``spec`` (a SpecialSession, or anything with ``open``, ``close`` and ``name``, times as
    ``time`` or text) as a SpecialSession with known times that passes check(); otherwise a
    ConfigError naming ``where`` (e.g. ``market.special_sessions.2025-01-02``) and the field."""
    if not isinstance(spec, SpecialSession):
        try:
            given = {"open": spec.open, "close": spec.close, "name": spec.name}
        except AttributeError:
            raise ConfigError(f"{where}: needs open, close and name", hint=NEEDS_TIMES_HINT) from None
        given["breaks"] = getattr(spec, "breaks", None) or ()
        given["holiday"] = getattr(spec, "holiday", None)
        given["name"] = _label(given["name"])
        try:
            spec = SpecialSession(**given)
        except ValidationError as exc:
            loc, text, hint = error_parts(exc.errors()[0])
            raise ConfigError(f"{join_loc(where, loc)}: {text}", hint=hint) from None
    if not spec.timed:
        raise ConfigError(f"{where}: needs open, close and name", hint=NEEDS_TIMES_HINT)
    try:
        spec.check()
    except RuleViolation as rule:
        raise ConfigError(f"{join_loc(where, rule.at)}: {rule.message}", hint=rule.hint) from None
    label = _label(spec.name)
    if label != spec.name:
        spec = SpecialSession(spec.open, spec.close, label, spec.breaks, spec.holiday, spec.source)
    return spec


def _label(name: Any) -> str:
    return name.strip() if isinstance(name, str) and name.strip() else DEFAULT_NAME
