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
import operator
from collections.abc import Iterable, Mapping
from typing import Any

from reports.markdown_text import MarkdownText, escape_markdown, finalize

_ROW_KEYS = ("strategy", "symbol", "side", "quantity", "avg_price", "lots")
_TEXT = frozenset({str})
_NUMBER = frozenset({int, float})


def _plain_columns(rows: list[Mapping[str, Any]]) -> tuple[list[Any], ...] | None:
    """The rows' cells as columns when every text cell is a ``str`` and every number an ``int`` or
    ``float`` (what compute_day makes): then each cell prints as one cached escape or ``str``,
    mapped over a column at C speed, not a few Python calls per row. None for anything else
    (a hand-made document): the row by row code handles every type."""
    if not rows or not all(type(p) is dict for p in rows):
        return None
    try:
        strategy, symbol, side, quantity, avg_price, lots = (list(map(operator.itemgetter(k), rows)) for k in _ROW_KEYS)
        lot_counts = list(map(len, lots))
    except (KeyError, TypeError):
        return None
    if not (set(map(type, strategy)) == set(map(type, symbol)) == set(map(type, side)) == _TEXT
            and set(map(type, quantity)) <= _NUMBER and set(map(type, avg_price)) <= _NUMBER):
        return None
    return strategy, symbol, side, quantity, avg_price, lot_counts


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
    positions = positions if isinstance(positions, list) else list(positions)
    columns = _plain_columns(positions)
    if columns is not None:
        strategy, symbol, side, quantity, avg_price, lots = columns
        return MarkdownText("\n".join([
            f"| {a} | {b} | {c} | {d} | {e} | {f} |"
            for a, b, c, d, e, f in zip(map(_md_text, strategy), map(_md_text, symbol), map(_md_text, side),
                                        map(str, quantity), map(str, avg_price), lots, strict=True)]))
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

    positions = positions if isinstance(positions, list) else list(positions)
    columns = _plain_columns(positions)
    if columns is not None:
        strategy, symbol, side, quantity, avg_price, lots = columns
        return markupsafe.Markup("\n".join([
            f'<tr><td>{a}</td><td class="text">{b}</td><td class="text">{c}</td><td>{d}</td><td>{e}</td><td>{f}</td></tr>'
            for a, b, c, d, e, f in zip(map(_html_text, strategy), map(_html_text, symbol), map(_html_text, side),
                                        map(str, quantity), map(str, avg_price), lots, strict=True)]))
    cell = _html_cell
    return markupsafe.Markup("\n".join([
        f"<tr><td>{cell(p['strategy'])}</td><td class=\"text\">{cell(p['symbol'])}</td>"
        f"<td class=\"text\">{cell(p['side'])}</td><td>{cell(p['quantity'])}</td>"
        f"<td>{cell(p['avg_price'])}</td><td>{len(p['lots'])}</td></tr>"
        for p in positions
    ]))

