"""Secrets out of sight: the config as data with secrets masked (``config show``), and the
masked difference between two config versions (``config diff``)."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from core.redact import GLOBAL_REDACTOR

if TYPE_CHECKING:
    from session.config.models import TradedayConfig
    from session.config_history import ConfigHistory

# Keys whose values are secrets wherever they appear (config show/diff mask them).
SECRET_KEY_PATTERN = re.compile(r"(token|password|secret|api_key|webhook_url|apikey|passwd)", re.IGNORECASE)


def masked_data(config: TradedayConfig) -> dict[str, Any]:
    """The config as plain data with every secret replaced by ``***`` (for show/diff)."""

    def mask(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: mask(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v, key) for v in value]
        if isinstance(value, str):
            if SECRET_KEY_PATTERN.search(key) and value:
                return "***"
            return GLOBAL_REDACTOR(value)
        return value

    masked: dict[str, Any] = mask(config.model_dump(mode="json", by_alias=True))
    return masked


def masked_lines(text: str) -> list[str]:
    """Mask values of secret-looking keys line by line, keeping comments and layout."""
    secret_line = re.compile(
        rf"^(\s*-?\s*[\w.-]*(?:{SECRET_KEY_PATTERN.pattern})[\w.-]*\s*:\s*)(\S.*)$", re.IGNORECASE
    )
    out_lines = []
    for line in text.splitlines(keepends=True):
        m = secret_line.match(line.rstrip("\n"))
        out_lines.append(f"{m.group(1)}***\n" if m else line)
    return out_lines


def masked_diff(history: ConfigHistory, a: str, b: str) -> list[str]:
    """The unified diff from version (or file) ``a`` to ``b``, secrets masked, one line each
    without its newline; empty when they do not differ."""
    import difflib

    label_a, text_a = history.resolve(a)
    label_b, text_b = history.resolve(b)
    lines = difflib.unified_diff(masked_lines(text_a), masked_lines(text_b), label_a, label_b)
    return [GLOBAL_REDACTOR(line.rstrip("\n")) for line in lines]
