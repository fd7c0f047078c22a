"""Big report tables as text in one pass: what the templates' ``{% for %}`` loops print, faster.

A day that carries positions overnight prints ~1,000 open positions in the Markdown and the
HTML report, and Jinja spends ~10 us on each printed row (a context lookup, a filter call
and a ``finalize`` / autoescape per cell): half of a small day's report time. These filters
build the same rows in Python with one join and a cached escape per distinct text
(strategies and symbols repeat on every row). The bundled templates call them; the text is
byte for byte what the loop they replace printed (tests/reports/test_table_rows.py renders
both and compares).
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from reports.markdown_text import MarkdownText, escape_markdown, finalize


@functools.lru_cache(maxsize=4096)
def _md_text(text: str) -> str:
    return escape_markdown(text)


def _md_cell(value: Any) -> str:
    """``{{ value }}`` in a Markdown template: ``finalize`` then ``str``."""
    kind = type(value)
    if kind is str:
        return _md_text(value)
    if kind is int or kind is float:
        return str(value)
    return str(finalize(value))


def _md_filtered(value: Any) -> str:
    """``{{ value | md }}``: escaped unless already Markdown-safe."""
    if type(value) is str:
        return _md_text(value)
    return str(value) if isinstance(value, MarkdownText) else escape_markdown(value)


def md_position_rows(positions: Iterable[Mapping[str, Any]]) -> MarkdownText:
    """The Markdown open-positions rows, one per position, without the last line break."""
    md, cell = _md_filtered, _md_cell
    return MarkdownText("\n".join([
        f"| {md(p['strategy'])} | {md(p['symbol'])} | {cell(p['side'])} | {cell(p['quantity'])} | "
        f"{cell(p['avg_price'])} | {len(p['lots'])} |"
        for p in positions
    ]))


@functools.lru_cache(maxsize=4096)
def _html_text(text: str) -> str:
    import markupsafe

    return str(markupsafe.escape(text))


def _html_cell(value: Any) -> str:
    """``{{ value }}`` in an autoescaped template."""
    kind = type(value)
    if kind is str:
        return _html_text(value)
    if kind is int or kind is float:  # digits, '.', '-', 'e', 'inf', 'nan': nothing to escape
        return str(value)
    import markupsafe

    return str(markupsafe.escape(value))


def html_position_rows(positions: Iterable[Mapping[str, Any]]) -> Any:
    """The HTML open-positions rows (markupsafe.Markup), one per position, without the last line break."""
    import markupsafe

    cell = _html_cell
    return markupsafe.Markup("\n".join([
        f"<tr><td>{cell(p['strategy'])}</td><td class=\"text\">{cell(p['symbol'])}</td>"
        f"<td class=\"text\">{cell(p['side'])}</td><td>{cell(p['quantity'])}</td>"
        f"<td>{cell(p['avg_price'])}</td><td>{len(p['lots'])}</td></tr>"
        for p in positions
    ]))
