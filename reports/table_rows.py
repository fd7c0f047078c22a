"""Big report tables as text in one pass: what the templates' ``{% for %}`` loops print, faster.

A day that carries positions overnight prints ~1,000 open positions in the Markdown and the
HTML report, and Jinja spends ~10 us on each printed row (a context lookup, a filter call
and a ``finalize`` / autoescape per cell): half of a small day's report time. These filters
build the same rows in Python with one join and a cached escape per distinct text
(strategies and symbols repeat on every row). The strategy and symbol tables are shorter
(20-50 rows) but print six or seven figures a row through filters, and in the HTML each PnL
through the ``pnl`` macro: their rows are made here too. The bundled templates call these
filters; the text is byte for byte what the loop they replace printed (tests/reports/
test_table_rows.py and test_figure_rows.py render both and compare).

One document's Markdown and HTML print the same tables: within :func:`shared_cells` (around
both renderings in ``write_daily_report``) the cells made for the first are kept for the second.
"""
from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from reports.markdown_text import MarkdownText, escape_markdown, finalize
from reports.money_text import format_money, format_number, format_percent

_ROW_FIELDS = operator.itemgetter("strategy", "symbol", "side", "quantity", "avg_price", "lots")
_DICT = frozenset({dict})
_TEXT = frozenset({str})
_NUMBER = frozenset({int, float})

Lookup = Callable[[Any, str], Any]  # ``row.key`` as the template looks it up (Environment.getattr)


def _plain_columns(rows: list[Mapping[str, Any]]) -> tuple[Sequence[Any], ...] | None:
    """The rows' cells as columns when every text cell is a ``str`` and every number an ``int`` or
    ``float`` (what compute_day makes): then each cell prints as one cached escape or ``str``,
    mapped over a column at C speed, not a few Python calls per row. None for anything else
    (a hand-made document): the row by row code handles every type."""
    if not rows or set(map(type, rows)) != _DICT:
        return None
    try:
        strategy, symbol, side, quantity, avg_price, lots = zip(*map(_ROW_FIELDS, rows), strict=True)  # one pass
        lot_counts = list(map(len, lots))
    except (KeyError, TypeError):
        return None
    if not (set(map(type, strategy)) == set(map(type, symbol)) == set(map(type, side)) == _TEXT
            and set(map(type, quantity)) <= _NUMBER and set(map(type, avg_price)) <= _NUMBER):
        return None
    return strategy, symbol, side, quantity, avg_price, lot_counts


def _position_cells(rows: list[Mapping[str, Any]]) -> tuple[Sequence[Any], ...] | None:
    """:func:`_plain_columns` with the numbers as their text (what both the Markdown and the HTML
    print: ``str``, which for an int or a float is its ``repr``, made without calling the type)."""
    columns = _plain_columns(rows)
    if columns is None:
        return None
    strategy, symbol, side, quantity, avg_price, lots = columns
    return strategy, symbol, side, list(map(repr, quantity)), list(map(repr, avg_price)), list(map(repr, lots))


class RowCache:
    """A table's cells, made for the first table printed from some rows and kept for the next one
    printed from the same rows: the Markdown and the HTML report of one document (templates only
    read the document, so the same rows still hold the same values)."""

    __slots__ = ("_positions", "_position_cells", "_figures")

    def __init__(self) -> None:
        self._positions: list[Mapping[str, Any]] | None = None
        self._position_cells: tuple[Sequence[Any], ...] | None = None
        # per cell maker: the rows (kept, so that their ids stay theirs), the currency, the cells
        self._figures: dict[Any, tuple[list[Any], Any, list[tuple[Any, ...]]]] = {}

    def position_cells(self, rows: list[Mapping[str, Any]]) -> tuple[Sequence[Any], ...] | None:
        if rows is not self._positions:
            self._position_cells, self._positions = _position_cells(rows), rows
        return self._position_cells

    def figure_cells(self, make: CellMaker, rows: list[Any], currency: Any,
                     lookup: Lookup | None) -> list[tuple[Any, ...]]:
        kept = self._figures.get(make)
        # the same row objects (a slice of the same list is a new list of them) and currency
        if (kept is None or kept[1] is not currency or len(kept[0]) != len(rows)
                or not all(map(operator.is_, kept[0], rows))):
            kept = (rows, currency, _figure_cells(make, rows, currency, lookup))
            self._figures[make] = kept
        return kept[2]


_SHARED: ContextVar[RowCache | None] = ContextVar("report_row_cache", default=None)


@contextmanager
def shared_cells() -> Iterator[None]:
    """Tables printed within share their cells (keyed by the very row objects): for one
    document's renderings, which only read it."""
    token = _SHARED.set(RowCache())
    try:
        yield
    finally:
        _SHARED.reset(token)


def _cells_of(positions: Iterable[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], tuple[Sequence[Any], ...] | None]:
    rows = positions if isinstance(positions, list) else list(positions)
    cache = _SHARED.get()
    return rows, (cache.position_cells(rows) if cache is not None else _position_cells(rows))


def _escaped(escape: Callable[[str], str], column: Sequence[str]) -> Iterator[str]:
    """``map(escape, column)`` with each distinct text escaped once (names repeat on every row)."""
    texts = {text: escape(text) for text in set(column)}
    return map(texts.__getitem__, column)


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
    positions, cells = _cells_of(positions)
    if cells is not None:
        strategy, symbol, side, quantity, avg_price, lots = cells
        return MarkdownText("\n".join([
            f"| {a} | {b} | {c} | {d} | {e} | {f} |"
            for a, b, c, d, e, f in zip(_escaped(_md_text, strategy), _escaped(_md_text, symbol),
                                        _escaped(_md_text, side), quantity, avg_price, lots, strict=True)]))
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

    positions, cells = _cells_of(positions)
    if cells is not None:
        strategy, symbol, side, quantity, avg_price, lots = cells
        return markupsafe.Markup("\n".join([
            f'<tr><td>{a}</td><td class="text">{b}</td><td class="text">{c}</td><td>{d}</td><td>{e}</td><td>{f}</td></tr>'
            for a, b, c, d, e, f in zip(_escaped(_html_text, strategy), _escaped(_html_text, symbol),
                                        _escaped(_html_text, side), quantity, avg_price, lots, strict=True)]))
    cell = _html_cell
    return markupsafe.Markup("\n".join([
        f"<tr><td>{cell(p['strategy'])}</td><td class=\"text\">{cell(p['symbol'])}</td>"
        f"<td class=\"text\">{cell(p['side'])}</td><td>{cell(p['quantity'])}</td>"
        f"<td>{cell(p['avg_price'])}</td><td>{len(p['lots'])}</td></tr>"
        for p in positions
    ]))


# ----------------------------------------------------------------- strategies and symbols
#
# A row's cells are its fields with the figures formatted (``get(row, "name")`` for the
# template's ``row.name``), made once per document: the Markdown and the HTML print the same
# texts, escaped each its own way. The filters try the rows as plain dicts first
# (``row["name"]``) and make the cells again through ``lookup`` (the environment's, given by
# reports.render) if that fails: then a missing field or an odd row is undefined, or raises,
# as in the template.


def _strategy_cells(st: Any, cur: Any, get: Lookup) -> tuple[Any, ...]:
    pnl = get(st, "realized_pnl")
    return (get(st, "name"), get(st, "trades"), format_percent(get(st, "win_rate")), pnl,
            format_money(pnl, cur, signed=True), format_money(get(st, "fees"), cur),
            format_money(get(st, "max_drawdown"), cur), format_number(get(st, "profit_factor")))


def _symbol_cells(sy: Any, cur: Any, get: Lookup) -> tuple[Any, ...]:
    pnl = get(sy, "realized_pnl")
    return (get(sy, "name"), get(sy, "trades"), format_percent(get(sy, "win_rate")), pnl,
            format_money(pnl, cur, signed=True), format_money(get(sy, "fees"), cur),
            format_money(get(sy, "turnover"), cur))


CellMaker = Callable[[Any, Any, Lookup], tuple[Any, ...]]


def _figure_cells(make: CellMaker, rows: list[Any], currency: Any, lookup: Lookup | None) -> list[tuple[Any, ...]]:
    if lookup is None or all(type(r) is dict for r in rows):  # a dict's field is its key, as in the template
        try:
            return [make(r, currency, operator.getitem) for r in rows]
        except Exception:
            if lookup is None:
                raise
    return [make(r, currency, lookup) for r in rows]


def _figures_of(make: CellMaker, rows: Iterable[Any], currency: Any, lookup: Lookup | None) -> list[tuple[Any, ...]]:
    rows = rows if isinstance(rows, list) else list(rows)
    cache = _SHARED.get()
    if cache is not None:
        return cache.figure_cells(make, rows, currency, lookup)
    return _figure_cells(make, rows, currency, lookup)


def md_strategy_rows(strategies: Iterable[Any], currency: Any = "", lookup: Lookup | None = None) -> MarkdownText:
    """The Markdown strategy rows, without the last line break: per strategy
    ``| {{ st.name | md }} | {{ st.trades }} | {{ st.win_rate | percent }} | {{ st.realized_pnl | signed(cur) }} |
    {{ st.fees | money(cur) }} | {{ st.max_drawdown | money(cur) }} | {{ st.profit_factor | number }} |``."""
    md, cell, text = _md_filtered, _md_cell, escape_markdown
    return MarkdownText("\n".join([
        f"| {md(name)} | {cell(trades)} | {text(win_rate)} | {text(pnl_text)} | {text(fees)} | {text(drawdown)} | "
        f"{text(factor)} |"
        for name, trades, win_rate, _, pnl_text, fees, drawdown, factor
        in _figures_of(_strategy_cells, strategies, currency, lookup)]))


def md_symbol_rows(symbols: Iterable[Any], currency: Any = "", lookup: Lookup | None = None) -> MarkdownText:
    """The Markdown symbol rows, without the last line break: per symbol
    ``| {{ sy.name | md }} | {{ sy.trades }} | {{ sy.win_rate | percent }} | {{ sy.realized_pnl | signed(cur) }} |
    {{ sy.fees | money(cur) }} | {{ sy.turnover | money(cur) }} |``."""
    md, cell, text = _md_filtered, _md_cell, escape_markdown
    return MarkdownText("\n".join([
        f"| {md(name)} | {cell(trades)} | {text(win_rate)} | {text(pnl_text)} | {text(fees)} | {text(turnover)} |"
        for name, trades, win_rate, _, pnl_text, fees, turnover
        in _figures_of(_symbol_cells, symbols, currency, lookup)]))


def _html(text: str) -> str:
    """``{{ text }}`` of a filter's text in an autoescaped template."""
    import markupsafe

    return str(markupsafe.escape(text))


def _html_pnl(value: Any, text: str) -> str:
    """The HTML template's ``pnl`` macro: the signed amount (``text``), coloured by its sign."""
    css = "pos" if value and value > 0 else "neg" if value and value < 0 else ""
    return f'<span class="{css}">{_html(text)}</span>'


def html_strategy_rows(strategies: Iterable[Any], currency: Any = "", lookup: Lookup | None = None) -> Any:
    """The HTML strategy rows (markupsafe.Markup), without the last line break: per strategy
    ``<tr><td>{{ st.name }}</td><td>{{ st.trades }}</td><td>{{ st.win_rate | percent }}</td>
    <td>{{ pnl(st.realized_pnl) }}</td><td>{{ st.fees | money(cur) }}</td><td>{{ st.max_drawdown | money(cur) }}</td>
    <td>{{ st.profit_factor | number }}</td></tr>``."""
    import markupsafe

    cell, text = _html_cell, _html
    return markupsafe.Markup("\n".join([
        f"<tr><td>{cell(name)}</td><td>{cell(trades)}</td><td>{text(win_rate)}</td><td>{_html_pnl(pnl, pnl_text)}</td>"
        f"<td>{text(fees)}</td><td>{text(drawdown)}</td><td>{text(factor)}</td></tr>"
        for name, trades, win_rate, pnl, pnl_text, fees, drawdown, factor
        in _figures_of(_strategy_cells, strategies, currency, lookup)]))


def html_symbol_rows(symbols: Iterable[Any], currency: Any = "", lookup: Lookup | None = None) -> Any:
    """The HTML symbol rows (markupsafe.Markup), without the last line break: per symbol
    ``<tr><td>{{ sy.name }}</td><td>{{ sy.trades }}</td><td>{{ sy.win_rate | percent }}</td>
    <td>{{ pnl(sy.realized_pnl) }}</td><td>{{ sy.fees | money(cur) }}</td><td>{{ sy.turnover | money(cur) }}</td></tr>``."""
    import markupsafe

    cell, text = _html_cell, _html
    return markupsafe.Markup("\n".join([
        f"<tr><td>{cell(name)}</td><td>{cell(trades)}</td><td>{text(win_rate)}</td><td>{_html_pnl(pnl, pnl_text)}</td>"
        f"<td>{text(fees)}</td><td>{text(turnover)}</td></tr>"
        for name, trades, win_rate, pnl, pnl_text, fees, turnover
        in _figures_of(_symbol_cells, symbols, currency, lookup)]))
