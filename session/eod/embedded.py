"""A hook's JSON document (analytics, backtest), read to be embedded in the daily report."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from session.eod.paths import show_path

if TYPE_CHECKING:
    from session.config import TradedayConfig

# An analytics/backtest document larger than this is not embedded in the report.
MAX_EMBED_BYTES = 5 * 1024 * 1024


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (write null)")


def read_embedded(path: Path, config: TradedayConfig) -> tuple[dict[str, Any] | None, str | None]:
    """A hook's JSON document, or (None, a one-line problem)."""
    shown = show_path(config, path)
    try:
        size = path.stat().st_size
        if size > MAX_EMBED_BYTES:
            return None, f"{shown} is {size / 1024**2:.1f} MB, more than the {MAX_EMBED_BYTES // 1024**2} MB a report embeds"
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read {shown}: {getattr(exc, 'strerror', None) or exc}"
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return None, f"{shown}:{exc.lineno} is not valid JSON: {exc.msg} (column {exc.colno})"
    except ValueError as exc:
        return None, f"{shown}: {exc}"
    if not isinstance(doc, dict):
        return None, f"{shown}: must hold a JSON object ({{...}}), not a {type(doc).__name__}"
    return doc, None
