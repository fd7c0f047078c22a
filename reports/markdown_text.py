"""Values in Markdown reports: escaped so that no value can add a heading, a table row, a link,
code or HTML to the report (issue 11: an analytics hook's JSON is data, not Markdown).

The Markdown templates are rendered with :func:`finalize` on every ``{{ ... }}``: text is
escaped, numbers pass as they are, and what a filter already made safe (:class:`MarkdownText`
from ``md`` / ``md_code``, or ``| safe`` for a template author who means it) is left alone.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

# Every line break CommonMark knows (\r\n, \n, \r) and those str.splitlines() and some viewers
# also break on; a value is one line in a report.
_LINE_BREAKS = re.compile(r"[ \t]*(?:\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029])\s*")
# Backslash first (it escapes the others); then what makes structure: headings (#), tables
# (|), code (`), HTML and autolinks (< >), links and images ([ ]).
_SPECIAL = re.compile(r"([\\`#|<>\[\]])")
# Any character either pattern could act on: text without one is printed as it is (one search
# instead of two substitutions; most printed values are plain numbers and names).
_ACTS_ON = re.compile(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\\`#|<>\[\]]")


class MarkdownText(str):
    """Text that is already Markdown-safe: :func:`finalize` does not escape it again."""


def escape_markdown(value: Any) -> str:
    """``value`` as literal text on one line of Markdown: line breaks become spaces and
    ``\\ ` # | < > [ ]`` are backslash-escaped (CommonMark shows them as typed)."""
    text = str(value)
    if _ACTS_ON.search(text) is None:
        return text
    text = _LINE_BREAKS.sub(" ", text)
    return _SPECIAL.sub(r"\\\1", text)


def md_filter(value: Any) -> MarkdownText:
    """The ``md`` filter: escape a value (a table cell, a name, anything)."""
    return value if isinstance(value, MarkdownText) else MarkdownText(escape_markdown(value))


def md_code(value: Any) -> MarkdownText:
    """The ``md_code`` filter: ``value`` as an inline code span, whatever backticks it holds."""
    text = _LINE_BREAKS.sub(" ", str(value))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return MarkdownText(f"{fence}{pad}{text}{pad}{fence}")


def finalize(value: Any) -> Any:
    """Jinja ``finalize`` of the Markdown templates: every printed value goes through here."""
    if value is None or isinstance(value, (bool, int, float, Decimal, MarkdownText)):
        return value
    if getattr(value, "__html__", None) is not None:  # markupsafe.Markup: `| safe`, on purpose
        return value
    return escape_markdown(value)
