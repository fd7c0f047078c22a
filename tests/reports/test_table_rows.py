"""The fast paths of a report day print exactly what the plain code printed.

* The bundled templates print the open positions with a Python filter (reports/table_rows.py)
  instead of a ``{% for %}`` loop: the whole Markdown and HTML report must be byte for byte
  what the same template with the loop put back renders, hostile values included.
* The equity curve formats all series' times in one pass (isotimes.iso_times_runs): equal to
  one ``iso_times`` per series, which decides seconds vs microseconds per series.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.journal import Fill
from reports.markdown_text import MarkdownText
from reports.pnl import compute_day
from reports.pnl.isotimes import iso_times, iso_times_runs
from reports.render import build_daily_report, render_daily_html, render_daily_markdown

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
IST = timezone(timedelta(hours=5, minutes=30))
DAY = datetime(2026, 11, 20, 9, 20, tzinfo=IST)
NAMES = ["plain", "pipe|#`x`", "line\nbreak\r\n# head", "<b>&amp;</b>'\"", "[l](j:x)\\", "ünï\u2028code"]

LOOPS = {
    "daily_report.md.j2": (
        "{{ r.open_positions | md_position_rows }}\n",
        "{% for p in r.open_positions %}\n"
        "| {{ p.strategy | md }} | {{ p.symbol | md }} | {{ p.side }} | {{ p.quantity }} | {{ p.avg_price }} "
        "| {{ p.lots | length }} |\n{% endfor %}\n"),
    "daily_report.html.j2": (
        "{{ r.open_positions | html_position_rows }}\n",
        "{% for p in r.open_positions %}\n"
        "<tr><td>{{ p.strategy }}</td><td class=\"text\">{{ p.symbol }}</td><td class=\"text\">{{ p.side }}</td>"
        "<td>{{ p.quantity }}</td><td>{{ p.avg_price }}</td><td>{{ p.lots | length }}</td></tr>\n{% endfor %}\n"),
}


@pytest.fixture(scope="module")
def loop_templates(tmp_path_factory) -> Path:
    """The bundled templates with the loops the filters replaced put back."""
    folder = tmp_path_factory.mktemp("loops")
    for name, (fast, loop) in LOOPS.items():
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        assert text.count(fast) == 1, f"{name} no longer prints the open positions with the filter"
        (folder / name).write_text(text.replace(fast, loop), encoding="utf-8")
    return folder


def _document() -> dict:
    fills = []
    for i in range(60):  # positions left open: strategies x symbols, long and short, odd quantities
        side = "BUY" if i % 3 else "SELL"
        fills.append(Fill(DAY + timedelta(seconds=i, microseconds=7 * (i % 2)), NAMES[i % len(NAMES)],
                          NAMES[(i // 2) % len(NAMES)] + str(i % 4), side, D(i % 7 + 1) / (4 if i % 5 == 0 else 1),
                          D("100.05") + i, D("0.1")))
    doc = build_daily_report(
        date="2026-11-20", mode="paper", config_path="/srv/tradeday.yaml", config_sha256="ab" * 32,
        market={"calendar": "XNSE", "open": datetime(2026, 11, 20, 9, 15, tzinfo=IST),
                "close": datetime(2026, 11, 20, 15, 30, tzinfo=IST), "kind": "regular"},
        day=compute_day(fills, currency="INR"), generated_at=datetime(2026, 11, 20, 16, 0, tzinfo=IST))
    assert len(doc["open_positions"]) >= 10
    return doc


def test_open_positions_print_as_the_loop_printed_them(loop_templates):
    doc = _document()
    # values of other types than compute_day makes: what a hand-made or older document may hold
    doc["open_positions"] += [
        {"strategy": MarkdownText("already|safe"), "symbol": None, "side": "LONG", "quantity": D("1.50"),
         "avg_price": 1e21, "lots": [{}]},
        {"strategy": 7, "symbol": "x", "side": True, "quantity": -0.0, "avg_price": float("inf"), "lots": []},
    ]
    for render in (render_daily_markdown, render_daily_html):
        fast = render(doc)
        assert fast == render(doc, templates_dir=loop_templates)
        assert "Open Positions" in fast


def _reference_curve_times(arrays, tz):
    return [iso_times(np.asarray(a, dtype=np.int64), tz) for a in arrays]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 3 * 86_400), st.sampled_from([0, 0, 0, 1, 999_999])),
                         max_size=6), max_size=6),
       st.sampled_from([IST, ZoneInfo("America/New_York"), UTC]))
def test_iso_times_runs_equal_one_call_per_array(arrays, tz):
    base = 1_710_000_000 * 10**9  # around a US daylight-saving change
    ns = [np.array([base + s * 10**9 + us * 1000 for s, us in a], dtype=np.int64) for a in arrays]
    joined = np.concatenate(ns) if ns else np.zeros(0, dtype=np.int64)
    expected = [t for times in _reference_curve_times(ns, tz) for t in times]
    assert iso_times_runs(joined, [len(a) for a in ns], tz) == expected


def test_equity_curve_series_keep_their_own_precision():
    # strategy "a" trades on whole seconds, "b" with microseconds: each series prints its own way
    fills = []
    for i in range(8):
        fills.append(Fill(DAY + timedelta(minutes=i), "a", "X", "BUY" if i % 2 == 0 else "SELL", D(1), D(100 + i),
                          D(0)))
        fills.append(Fill(DAY + timedelta(minutes=i, seconds=1, microseconds=250), "b", "Y",
                          "SELL" if i % 2 == 0 else "BUY", D(2), D(50 + i), D("0.01")))
    curve = compute_day(fills, currency="INR", tz=IST).equity_curve
    a_times = [t for t, _ in curve["strategies"]["a"]]
    b_times = [t for t, _ in curve["strategies"]["b"]]
    assert a_times[0] == "2026-11-20T09:20:00+05:30"
    assert b_times[0] == "2026-11-20T09:20:01.000250+05:30"
    assert all(len(t) == 25 for t in a_times)
    assert all(len(t) == 32 for t, _ in curve["total"])  # the day's series has microseconds somewhere


@pytest.mark.parametrize("per_chunk", [1, 3, 7, 10_000])
def test_report_json_in_pieces_is_the_one_piece_text(per_chunk):
    from reports.render import dumps_report_bytes
    from reports.report_json import report_json_chunks

    fills = [Fill(DAY + timedelta(seconds=i, microseconds=i % 3), NAMES[(i // 2) % 4], "X", "BUY" if i % 2 == 0 else "SELL",
                  D(i % 5 + 1), D("100.05") + i, D("0.1")) for i in range(80)]
    doc = _document()
    doc["trades"] = compute_day(fills, currency="INR").trades
    assert len(doc["trades"]) > 7
    doc["trades"][2]["strategy"] = 'quote " and \\ and \u2028 and "trades": "x"'
    pieces = list(report_json_chunks(doc, per_chunk=per_chunk))
    assert b"".join(pieces) == dumps_report_bytes(doc)
    if per_chunk < len(doc["trades"]):
        assert len(pieces) >= 3  # in pieces indeed
    assert b"".join(report_json_chunks({**doc, "trades": []}, per_chunk=per_chunk)) == dumps_report_bytes(
        {**doc, "trades": []})


def test_a_piece_that_fails_leaves_the_old_set_and_no_temporary_file(tmp_path):
    from reports.fileset import write_file_set

    old = {tmp_path / "d.json": b"old json", tmp_path / "d.md": b"old md"}
    write_file_set(old)

    def pieces():
        yield b"{ half"
        raise TypeError("report value of type X is not JSON")

    with pytest.raises(TypeError):
        write_file_set({tmp_path / "d.md": b"new md", tmp_path / "d.json": pieces()})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {"d.json": b"old json", "d.md": b"old md"}


@pytest.mark.parametrize("us", [0, 1])  # whole seconds, or microseconds somewhere: printed as one call would
def test_trades_made_on_demand_are_the_list(monkeypatch, us):
    import reports.pnl.day as day_module
    from reports.pnl.trade_list import TradeList
    from reports.render import dumps_report_bytes
    from reports.report_json import report_json_chunks

    fills = [Fill(DAY + timedelta(seconds=i, microseconds=us * (i % 3)), NAMES[(i // 2) % 4], NAMES[i % 3],
                  "BUY" if i % 2 == 0 else "SELL", D(i % 5 + 1), D("100.05") + i, D("0.1")) for i in range(90)]
    plain = compute_day(fills, currency="INR").trades
    assert isinstance(plain, list) and len(plain) > 10
    monkeypatch.setattr(day_module, "LAZY_TRADES", 3)
    lazy = compute_day(fills, currency="INR").trades
    assert isinstance(lazy, TradeList)
    assert lazy == plain and plain == lazy and list(lazy) == plain and len(lazy) == len(plain)
    assert lazy[0] == plain[0] and lazy[-1] == plain[-1] and lazy[2:7] == plain[2:7] and lazy[::3] == plain[::3]
    with pytest.raises(IndexError):
        lazy[len(plain)]
    doc = {**_document(), "trades": plain}
    expected = dumps_report_bytes(doc)
    assert dumps_report_bytes({**doc, "trades": lazy}) == expected
    assert b"".join(report_json_chunks({**doc, "trades": lazy}, per_chunk=4)) == expected


# --- the second range pass (issue 15): each fast path against the plain code it replaces


def test_open_positions_of_compute_day_print_as_the_loop_printed_them(loop_templates):
    # compute_day's rows (plain str and numbers, hostile names included) take the column path
    from reports.table_rows import _plain_columns

    doc = _document()
    assert _plain_columns(doc["open_positions"]) is not None
    for render in (render_daily_markdown, render_daily_html):
        assert render(doc) == render(doc, templates_dir=loop_templates)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(-2_000_000_000, 4_000_000_000), st.sampled_from([0, 0, 1, 250, 999_999])),
                min_size=1, max_size=40),
       st.sampled_from([IST, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), UTC]))
def test_iso_times_each_is_isoformat_of_each_instant(instants, tz):
    from reports.journal import time_from_ns
    from reports.pnl.isotimes import iso_times_each

    ns = np.array([s * 10**9 + us * 1000 for s, us in instants], dtype=np.int64)
    assert iso_times_each(ns, tz) == [time_from_ns(int(v), tz).isoformat() for v in ns]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**15), st.integers(0, 10**17)), min_size=1, max_size=20),
       st.integers(0, 6), st.integers(0, 8), st.integers(0, 8))
def test_open_position_averages_in_arrays_are_the_exact_ones(totals, qd, pd_, places):
    from reports.pnl.decimal_text import JSON_EXACT_INT
    from reports.pnl.kernels import int_div_half_even
    from reports.pnl.lots import _vector_quantities_and_averages

    tq = np.array([q for q, _ in totals], dtype=np.int64)
    tc = np.array([c for _, c in totals], dtype=np.int64)
    fast = _vector_quantities_and_averages(tq, tc, 10**qd, places, pd_)
    if fast is None:  # outside the exact range: the Python ints path runs instead
        return
    unit, quantities, averages = 10**qd, [], []
    for q, c in zip(tq.tolist(), tc.tolist(), strict=True):  # LotBook's plain loop
        quantities.append(q // unit if q % unit == 0 and abs(q // unit) < JSON_EXACT_INT else q / unit)
        num, den = (c * 10 ** (places - pd_), q) if places >= pd_ else (c, q * 10 ** (pd_ - places))
        averages.append(int_div_half_even(num, den) / 10**places)
    assert fast == (quantities, averages)
    assert [type(v) for v in fast[0]] == [type(v) for v in quantities]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-(2**62), 2**62) | st.integers(0, 10**6), min_size=64, max_size=200), st.integers(0, 30))
def test_lot_texts_are_format_scaled(values, decimals):
    from reports.journal import format_scaled
    from reports.pnl.lots import _texts

    arr = np.array(values, dtype=np.int64)
    assert _texts(arr, decimals) == [format_scaled(v, decimals) for v in values]
    positive = np.abs(arr) // 2
    assert _texts(positive, decimals) == [format_scaled(v, decimals) for v in positive.tolist()]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab 1.,-%\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\\`#|<>[]ü\u00a0")),
               max_size=12))
def test_markdown_escape_of_plain_text_is_the_text(text):
    import re

    from reports.markdown_text import escape_markdown

    breaks = re.compile(r"[ \t]*(?:\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029])\s*")
    assert escape_markdown(text) == re.sub(r"([\\`#|<>\[\]])", r"\\\1", breaks.sub(" ", text))


@settings(max_examples=400, deadline=None)
@given(st.integers(-(10**17), 10**17) | st.just(0), st.integers(0, 6) | st.just(0), st.booleans(),
       st.sampled_from([None, 0, 2, 4, 15]), st.sampled_from(["INR", "JPY", ""]))
def test_money_of_a_float_is_the_decimal_text(mantissa, decimals, signed, places, currency):
    from reports.render import format_money

    for value in (mantissa / 10**decimals, float(mantissa) * 1.000001, -0.0):
        d = D(str(value))
        p = places if places is not None else (0 if currency == "JPY" else 2)
        sign = "-" if d < 0 else ("+" if signed and d > 0 else "")
        expected = f"{sign}{abs(d):,.{p}f}{f' {currency}' if currency else ''}"
        assert format_money(value, currency, signed=signed, places=places) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-5, 5) | st.integers(-(2**62), 2**62), max_size=30))
def test_sorted_unique_is_numpy_unique(values):
    from reports.journal.scaled import sorted_unique

    arr = np.array(values, dtype=np.int64)
    got, expected = sorted_unique(arr), np.unique(arr)
    assert got.dtype == expected.dtype and got.tolist() == expected.tolist()
