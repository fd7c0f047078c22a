"""The report's third range pass (issue 15): the strategy and symbol tables printed by Python
filters (reports/table_rows.py), the cells a document's Markdown and HTML share, the lot texts
from a table, and the report files written by descriptor.

Each fast path against the plain code it replaces: the bundled templates with the loops put
back, the renderings without sharing, format_scaled, a write that the kernel takes in parts.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path

import jinja2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.journal import Fill
from reports.markdown_text import MarkdownText
from reports.pnl import compute_day
from reports.render import (
    ReportRenderError,
    build_daily_report,
    render_daily_html,
    render_daily_markdown,
    write_daily_report,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
IST = timezone(timedelta(hours=5, minutes=30))
DAY = datetime(2026, 11, 20, 9, 20, tzinfo=IST)
NAMES = ["plain", "pipe|#`x`", "line\nbreak\r\n# head", "<b>&amp;</b>'\"", "[l](j:x)\\", "ünï\u2028code"]

STRATEGY_MD = ("| {{ st.name | md }} | {{ st.trades }} | {{ st.win_rate | percent }} | {{ st.realized_pnl | signed(cur) }} "
               "| {{ st.fees | money(cur) }} | {{ st.max_drawdown | money(cur) }} | {{ st.profit_factor | number }} |")
SYMBOL_MD = ("| {{ sy.name | md }} | {{ sy.trades }} | {{ sy.win_rate | percent }} | {{ sy.realized_pnl | signed(cur) }} "
             "| {{ sy.fees | money(cur) }} | {{ sy.turnover | money(cur) }} |")
STRATEGY_HTML = ("<tr><td>{{ st.name }}</td><td>{{ st.trades }}</td><td>{{ st.win_rate | percent }}</td>"
                 "<td>{{ pnl(st.realized_pnl) }}</td><td>{{ st.fees | money(cur) }}</td><td>{{ st.max_drawdown | money(cur) }}"
                 "</td><td>{{ st.profit_factor | number }}</td></tr>")
SYMBOL_HTML = ("<tr><td>{{ sy.name }}</td><td>{{ sy.trades }}</td><td>{{ sy.win_rate | percent }}</td>"
               "<td>{{ pnl(sy.realized_pnl) }}</td><td>{{ sy.fees | money(cur) }}</td><td>{{ sy.turnover | money(cur) }}</td></tr>")
LOOPS = {
    "daily_report.md.j2": [
        ("{{ r.strategies | md_strategy_rows(cur) }}\n", f"{{% for st in r.strategies %}}\n{STRATEGY_MD}\n{{% endfor %}}\n"),
        ("{{ r.symbols[:25] | md_symbol_rows(cur) }}\n", f"{{% for sy in r.symbols[:25] %}}\n{SYMBOL_MD}\n{{% endfor %}}\n"),
    ],
    "daily_report.html.j2": [
        ("{{ r.strategies | html_strategy_rows(cur) }}\n",
         f"{{% for st in r.strategies %}}\n{STRATEGY_HTML}\n{{% endfor %}}\n"),
        ("{{ r.symbols[:25] | html_symbol_rows(cur) }}\n",
         f"{{% for sy in r.symbols[:25] %}}\n{SYMBOL_HTML}\n{{% endfor %}}\n"),
    ],
}


@pytest.fixture(scope="module")
def loop_templates(tmp_path_factory) -> Path:
    """The bundled templates with the strategy and symbol loops the filters replaced put back."""
    folder = tmp_path_factory.mktemp("figure-loops")
    for name, pairs in LOOPS.items():
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        for fast, loop in pairs:
            assert text.count(fast) == 1, f"{name} no longer prints {fast.strip()}"
            text = text.replace(fast, loop)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _document(n: int = 90) -> dict:
    fills = []
    for i in range(n):  # many strategies and symbols (more than 25), hostile names, positions left open
        side = "BUY" if i % 3 else "SELL"
        fills.append(Fill(DAY + timedelta(seconds=i, microseconds=7 * (i % 2)), NAMES[i % len(NAMES)] + str(i % 4),
                          NAMES[(i // 2) % len(NAMES)] + str(i % 9), side, D(i % 7 + 1) / (4 if i % 5 == 0 else 1),
                          D("100.05") + i * D("0.35"), D("0.1")))
    doc = build_daily_report(
        date="2026-11-20", mode="paper", config_path="/srv/tradeday.yaml", config_sha256="ab" * 32,
        market={"calendar": "XNSE", "open": datetime(2026, 11, 20, 9, 15, tzinfo=IST),
                "close": datetime(2026, 11, 20, 15, 30, tzinfo=IST), "kind": "regular"},
        day=compute_day(fills, currency="INR"), generated_at=datetime(2026, 11, 20, 16, 0, tzinfo=IST))
    assert len(doc["strategies"]) >= 10 and len(doc["symbols"]) > 25 and doc["open_positions"]
    return doc


ODD_FIGURES = [  # what a hand-made or older document may hold where compute_day puts floats
    {"trades": None, "win_rate": None, "realized_pnl": None, "fees": None, "max_drawdown": None,
     "profit_factor": None, "turnover": None},
    {"trades": "7 <b>", "win_rate": 0.5, "realized_pnl": -0.0, "fees": 0.0, "max_drawdown": D("12.345"),
     "profit_factor": 3, "turnover": 10**17},
    {"trades": True, "win_rate": D("0.125"), "realized_pnl": 5, "fees": 1e-7, "max_drawdown": 1e300,
     "profit_factor": 1.5, "turnover": -2.5},
]


def _with_odd_rows(doc: dict, figures_of: list[dict] = ODD_FIGURES) -> dict:
    doc = dict(doc)
    odd = [{"name": name, **figures} for name, figures in
           zip([MarkdownText("already|safe"), 7, "x|<y>"], figures_of, strict=True)]
    doc["strategies"] = odd + doc["strategies"]
    doc["symbols"] = doc["symbols"][:2] + odd + doc["symbols"][2:]
    return doc


@pytest.mark.parametrize("odd", [False, True])
@pytest.mark.parametrize("currency", ["INR", "JPY", None])
def test_strategy_and_symbol_tables_print_as_the_loops_printed_them(loop_templates, odd, currency):
    doc = _document()
    doc["currency"] = currency
    if odd:
        doc = _with_odd_rows(doc)
    for render in (render_daily_markdown, render_daily_html):
        fast = render(doc)
        assert fast == render(doc, templates_dir=loop_templates)
        assert "Strategy Performance" in fast


class Row:
    """A row that is not a dict: the template reads its attributes."""

    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)


def test_rows_that_are_not_plain_dicts_are_read_as_the_template_reads_them(loop_templates):
    doc = _document()
    first = doc["strategies"][0]
    doc["strategies"] = [Row(**first), *doc["strategies"][1:]]
    doc["symbols"] = [Row(**doc["symbols"][0]), *doc["symbols"][1:]]
    for render in (render_daily_markdown, render_daily_html):
        assert render(doc) == render(doc, templates_dir=loop_templates)


@pytest.mark.parametrize("render", [render_daily_markdown, render_daily_html])
def test_a_row_without_a_field_fails_as_the_loop_failed(loop_templates, render):
    doc = _document()
    doc["strategies"] = [{k: v for k, v in doc["strategies"][0].items() if k != "fees"}, *doc["strategies"][1:]]
    with pytest.raises(ReportRenderError, match="has no attribute 'fees'") as fast:
        render(doc)
    with pytest.raises(ReportRenderError, match="has no attribute 'fees'") as loop:
        render(doc, templates_dir=loop_templates)
    assert str(fast.value).split(": ", 1)[1] == str(loop.value).split(": ", 1)[1]  # the same error, another line


def test_the_filters_called_from_python_take_plain_rows():
    from reports.table_rows import html_symbol_rows, md_strategy_rows

    doc = _document()
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    assert md_strategy_rows(doc["strategies"], "INR") == md_strategy_rows(doc["strategies"], "INR", env.getattr)
    assert html_symbol_rows(doc["symbols"], "INR") == html_symbol_rows(doc["symbols"], "INR", env.getattr)
    with pytest.raises(KeyError):
        md_strategy_rows([{"name": "x"}], "INR")


def test_a_document_written_shares_its_cells_and_prints_what_each_rendering_prints(tmp_path):
    as_json = [{k: str(v) if isinstance(v, D) else v for k, v in figures.items()} for figures in ODD_FIGURES]
    doc = _with_odd_rows(_document(), as_json)
    md_path, html_path = tmp_path / "d.md", tmp_path / "d.html"
    write_daily_report(doc, tmp_path / "d.json", md_path, html_path=html_path, chart=False)
    assert md_path.read_bytes().decode("utf-8") == render_daily_markdown(doc)
    assert html_path.read_bytes().decode("utf-8") == render_daily_html(doc)


def test_shared_cells_are_kept_for_the_same_rows_only():
    from reports import table_rows
    from reports.table_rows import md_position_rows, md_symbol_rows, shared_cells

    doc = _document()
    made = []
    real = table_rows._position_cells

    def counting(rows):
        made.append(len(rows))
        return real(rows)

    positions, symbols = doc["open_positions"], doc["symbols"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(table_rows, "_position_cells", counting)
        with shared_cells():
            first = md_position_rows(positions)
            assert md_position_rows(positions) == first and len(made) == 1  # the same list: kept
            copy = [dict(p) for p in positions]
            copy[0]["quantity"] = 123456789
            assert "123456789" in md_position_rows(copy) and len(made) == 2  # other rows: made again
            assert md_position_rows(positions) == first and len(made) == 3
            # the figure tables: a slice of the same rows is the same rows; another currency is not
            assert md_symbol_rows(symbols[:25], "INR") == md_symbol_rows(list(symbols[:25]), "INR")
            assert md_symbol_rows(symbols[:25], "USD") != md_symbol_rows(symbols[:25], "INR")
            assert md_symbol_rows(symbols[1:26], "INR") == md_symbol_rows(symbols[1:26], "INR", None)
        md_position_rows(positions)
        assert len(made) == 4  # outside: nothing kept
    assert table_rows._SHARED.get() is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**15), min_size=64, max_size=150), st.integers(1, 3))
def test_lot_texts_from_the_fraction_table_are_format_scaled(values, decimals):
    from reports.journal import format_scaled
    from reports.pnl.lots import _texts

    arr = np.array(values, dtype=np.int64)
    assert _texts(arr, decimals) == [format_scaled(v, decimals) for v in values]
    assert _texts(arr % 10**decimals, decimals) == [format_scaled(v % 10**decimals, decimals) for v in values]


def test_open_positions_json_is_the_positions_dicts():
    doc_day = compute_day([Fill(DAY + timedelta(seconds=i), "s", f"X{i % 70}", "BUY", D(i % 3 + 1),
                                D("100.05") + D(i) / 100, D("0.37")) for i in range(200)], currency="INR", tz=UTC)
    assert doc_day.open_positions_json() == [p.to_dict() for p in doc_day.open_book.positions()]


def test_a_file_the_kernel_takes_in_parts_is_written_whole(tmp_path, monkeypatch):
    from reports import fileset

    real_write = os.write
    monkeypatch.setattr(fileset.os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    data = bytes(range(256)) * 40
    fileset.write_file_set({tmp_path / "a.json": data, tmp_path / "b.md": [b"x" * 20, b"", b"yz"]})
    assert (tmp_path / "a.json").read_bytes() == data and (tmp_path / "b.md").read_bytes() == b"x" * 20 + b"yz"
    if os.name == "posix":
        from core.fileperms import file_mode

        assert all((p.stat().st_mode & 0o777) == file_mode() for p in tmp_path.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.md"]  # no temporary file left


def test_a_write_that_takes_nothing_fails_and_leaves_the_old_file(tmp_path, monkeypatch):
    from reports import fileset
    from reports.fileset import ReportWriteError

    target = tmp_path / "a.json"
    fileset.write_file_set({target: b"old"})
    monkeypatch.setattr(fileset.os, "write", lambda fd, data: 0)
    with pytest.raises(ReportWriteError, match=r"a\.json.*EIO"):
        fileset.write_file_set({target: b"new"})
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.json"]
