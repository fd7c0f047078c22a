"""The user's calendar files, ``{root}/calendars/<NAME>.yaml``: an exchange's published list
as ``tradeday calendar import`` writes it (or as written by hand), in the bundled overlay's
schema, applied on top of the bundled overlay.

A calendar reads the file named like its pmc name and the one named like the configured name
(``NSE.yaml`` and ``XNSE.yaml`` both serve a config that says ``XNSE``: they are one calendar);
on a date both list, the configured name's file wins.

On a date the user's file and the bundled overlay both list, the user's entry wins, with one
exception: a holiday on a date the bundled overlay has a session for names that session's
holiday instead of closing the day. Exchanges list their Muhurat day as a holiday (NSE's
"Diwali Laxmi Pujan"), so an imported list must not erase the Muhurat session; to cancel a
session, ``market.extra_holidays`` in the config wins over every file.
"""
from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError
from session.calendar.overlay import CalendarOverlay, load_overlay
from session.calendar.zones import CalendarIdentity

if TYPE_CHECKING:
    from session.calendar.special import SpecialSession

CALENDARS_FOLDER = "calendars"


def calendars_dir(root: Path) -> Path:
    """Where a config's calendar files live: ``{root}/calendars``."""
    return root / CALENDARS_FOLDER


def calendar_file(folder: Path, identity: CalendarIdentity) -> Path:
    """The file ``tradeday calendar import`` writes for a calendar: ``<folder>/<name>.yaml``."""
    return folder / f"{identity.name}.yaml"


def check_calendar_field(written: str, path: Path, identity: CalendarIdentity) -> None:
    """A user file's ``calendar:`` (``written``) names the calendar it is for (any alias of it)."""
    from session.calendar.pmc import identify_calendar

    try:
        pmc_name = identify_calendar(written).pmc_name
    except ConfigError:
        pmc_name = None
    if pmc_name != identity.pmc_name:
        raise ConfigError(
            f"{path}: calendar: says '{written}' but the file is for '{identity.name}'",
            hint=f"fix the calendar: line, or move the file to {path.parent / (written + '.yaml')}",
        )


def local_overlays(folder: Path | None, identity: CalendarIdentity) -> list[CalendarOverlay]:
    """The user's files for this calendar, lowest layer first; none when there are none."""
    if folder is None:
        return []
    layers = []
    for name in dict.fromkeys((identity.pmc_name, identity.name)):
        path = folder / f"{name}.yaml"
        if path.is_file():
            # The full path in errors: "XNSE.yaml" alone could be the bundled data or any root's.
            overlay = load_overlay(path, label=str(path))
            check_calendar_field(overlay.calendar, path, identity)
            layers.append(overlay)
    return layers


def combine(base: CalendarOverlay | None, layers: list[CalendarOverlay]) -> CalendarOverlay | None:
    """The bundled overlay with the user's files on top (see the module's docstring)."""
    if not layers:
        return base
    holidays: dict[date, str] = dict(base.holidays) if base else {}
    specials: dict[date, SpecialSession] = dict(base.special_sessions) if base else {}
    sources = dict(base.sources) if base else {}
    throughs = [base.known_through] if base and base.known_through is not None else []
    years: set[int] = set(base.known_years) if base else set()
    for layer in layers:
        for day, name in layer.holidays.items():
            below = specials.get(day)
            if below is not None:
                specials[day] = _named(below, below.holiday or name)
            else:
                holidays[day] = name
        for day, spec in layer.special_sessions.items():
            below_name = holidays.pop(day, None) or (specials[day].holiday if day in specials else None)
            specials[day] = _named(spec, spec.holiday or below_name)
        sources.update(layer.sources)
        if layer.known_through is not None:
            throughs.append(layer.known_through)
        years |= layer.known_years
    top = layers[-1]
    return CalendarOverlay(
        calendar=base.calendar if base else top.calendar,
        known_through=max(throughs) if throughs else None,
        holidays=holidays,
        special_sessions=specials,
        sources=sources,
        path=top.path,
        known_years=frozenset(years),
    )


def _named(spec: SpecialSession, holiday: str | None) -> SpecialSession:
    return spec if spec.holiday == holiday else dataclasses.replace(spec, holiday=holiday)
