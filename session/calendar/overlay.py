"""The bundled overlay per exchange (``session/data/<pmc name>_overlay.yaml``): loading, checking
and caching it. What a valid file holds is the model in ``overlay_file``; yaml and pydantic
are imported when a file is read, not when this module is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError

if TYPE_CHECKING:
    from session.calendar.overlay_file import OverlayFile
    from session.calendar.special import SpecialSession

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class CalendarOverlay:
    calendar: str
    known_through: int | None
    holidays: dict[date, str]
    # open/close are None while the exchange has announced a session but not yet its times.
    special_sessions: dict[date, SpecialSession]
    sources: dict[str, dict[str, Any]]
    path: Path
    # Years known besides pmc's and up to known_through: those an imported list covers.
    known_years: frozenset[int] = frozenset()


def overlay_path(pmc_name: str) -> Path:
    """Where the overlay for a pmc calendar lives: ``NSE`` -> ``session/data/nse_overlay.yaml``."""
    safe = "".join(ch if ch.isalnum() else "_" for ch in pmc_name.lower())
    return DATA_DIR / f"{safe}_overlay.yaml"


def read_overlay_file(path: str | Path, *, label: str | None = None) -> OverlayFile:
    """An overlay file as its model (sources and entries as written); any defect is a
    ConfigError naming the file (``label``, default its name) and the entry."""
    import yaml  # lazy: only needed when a calendar with an overlay is used
    from pydantic import ValidationError

    from session.calendar.overlay_file import OverlayFile, overlay_error

    path = Path(path)
    label = label or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read the calendar overlay ({exc.strerror})") from None
    try:
        # libyaml's parser (the same safe constructors): the bundled overlay is read by every
        # command that needs the calendar, and the pure-Python parser took ~20 ms of it.
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        try:  # the pure-Python parser's message, which names the line the way the docs show
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{label}: not valid YAML ({str(exc).splitlines()[0]})") from None
    try:
        return OverlayFile.model_validate(raw)
    except ValidationError as exc:
        raise overlay_error(exc, label) from None


def load_overlay(path: str | Path, *, label: str | None = None) -> CalendarOverlay:
    """Read and validate an overlay file; any defect is a ConfigError naming the entry."""
    path = Path(path)
    parsed = read_overlay_file(path, label=label)
    return CalendarOverlay(
        calendar=parsed.calendar,
        known_through=parsed.known_through,
        holidays={day: holiday.name for day, holiday in parsed.holidays.items()},
        special_sessions=dict(parsed.special_sessions),
        sources=parsed.sources,
        path=path,
        known_years=frozenset(parsed.known_years),
    )


_OVERLAYS: dict[str, CalendarOverlay | None] = {}


def overlay_for(pmc_name: str) -> CalendarOverlay | None:
    """The bundled overlay of a pmc calendar, loaded once per process; None if it has none."""
    if pmc_name not in _OVERLAYS:
        path = overlay_path(pmc_name)
        overlay = load_overlay(path) if path.is_file() else None
        if overlay is not None and overlay.calendar != pmc_name:
            raise ConfigError(f"{path.name}: calendar: says '{overlay.calendar}' but the file is for '{pmc_name}'")
        _OVERLAYS[pmc_name] = overlay
    return _OVERLAYS[pmc_name]
