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


def overlay_path(pmc_name: str) -> Path:
    """Where the overlay for a pmc calendar lives: ``NSE`` -> ``session/data/nse_overlay.yaml``."""
    safe = "".join(ch if ch.isalnum() else "_" for ch in pmc_name.lower())
    return DATA_DIR / f"{safe}_overlay.yaml"


def load_overlay(path: str | Path) -> CalendarOverlay:
    """Read and validate an overlay file; any defect is a ConfigError naming the entry."""
    import yaml  # lazy: only needed when a calendar with an overlay is used
    from pydantic import ValidationError

    from session.calendar.overlay_file import OverlayFile, overlay_error

    path = Path(path)
    label = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read the calendar overlay ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: not valid YAML ({str(exc).splitlines()[0]})") from None
    try:
        parsed = OverlayFile.model_validate(raw)
    except ValidationError as exc:
        raise overlay_error(exc, label) from None
    return CalendarOverlay(
        calendar=parsed.calendar,
        known_through=parsed.known_through,
        holidays={day: holiday.name for day, holiday in parsed.holidays.items()},
        special_sessions=dict(parsed.special_sessions),
        sources=parsed.sources,
        path=path,
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
