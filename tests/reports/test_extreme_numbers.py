"""Extreme journal numbers (issue 10): every number the journal format accepts is computed
exactly, or refused naming ``file:line`` and the field; never a crash, never a silent overflow.

The journals are real files read by ``read_journal``; the figures are checked against a plain
lot-by-lot FIFO in ``fractions.Fraction`` (tests/reports/test_pnl.py) and the documented limits
(docs/REPORTS.md, "Limits").
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reports.journal import MAX_DECIMALS, MAX_INTEGER_DIGITS, Fill, JournalError, read_journal
from reports.pnl import compute_day, opening_positions_from_report
from reports.render import build_daily_report, dumps_report, render_daily_markdown
from tests.reports.test_pnl import reference_fifo

IST = timezone(timedelta(hours=5, minutes=30))
HEADER = "time,strategy,symbol,side,quantity,price,fees,order_id,trade_id\n"
FIELDS = ("quantity", "price", "fees")


# ---------------------------------------------------------------- the documented rule, as an oracle


def expected_number(text: str, field: str) -> Decimal | None:
    """The value the journal format gives ``text`` in ``field``, or None when it is refused."""
    t = text.strip()
    if field == "fees" and t == "":
        return Decimal(0)
    try:
        d = Decimal(t)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    if not d.is_zero():
        if d.adjusted() + 1 > MAX_INTEGER_DIGITS:
            return None
        sign, digits, exponent = d.as_tuple()
        assert isinstance(exponent, int)
        significant = "".join(map(str, digits)).rstrip("0")
        trailing = len(digits) - len(significant)
        if max(0, -(exponent + trailing)) > MAX_DECIMALS:
            return None
    if field == "quantity" and d <= 0:
        return None
    if field in ("price", "fees") and d < 0:
        return None
    return d


def half_even(value: Fraction, places: int) -> float:
    return float(round(value, places))  # Fraction rounds half to even


# ---------------------------------------------------------------- number texts


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@st.composite
def plain_number(draw) -> str:
    """Plain decimals around the limits: up to a few digits past them on either side."""
    whole = draw(st.integers(min_value=0, max_value=MAX_INTEGER_DIGITS + 3))
    frac = draw(st.integers(min_value=0, max_value=MAX_DECIMALS + 3))
    w = str(draw(st.integers(min_value=1, max_value=9))) + draw(_digits(whole - 1)) if whole else "0"
    f = draw(_digits(frac))
    if frac and draw(st.booleans()):
        f = f[:-1] + str(draw(st.integers(min_value=1, max_value=9)))  # no trailing zero: all decimals count
    return f"{w}.{f}" if frac else w


exponent_number = st.builds(
    lambda m, e, upper: f"{m}{'E' if upper else 'e'}{e}",
    st.sampled_from(["1", "5", "2.5", "9.99", "123456789", "0", "0.000"]),
    st.one_of(st.integers(min_value=-45, max_value=45), st.sampled_from([400, -400, 999999999, -999999999, 308, -324])),
    st.booleans(),
)
special_number = st.sampled_from([
    "nan", "NaN", "sNaN", "inf", "-inf", "Infinity", "-Infinity", "-0", "-0.0", "+0", "0", "0.0",
    "1e400", "1e-400", "1E+400", "1e-05", "-1", "-0.01", "+7", " 12.5 ", "1" + "0" * 399, "9" * 400,
    "1." + "0" * 20 + "1", "0." + "0" * 29 + "1", "0." + "0" * 30 + "1", "1" + "0" * 29, "1" + "0" * 30,
    "1." + "0" * 60, "abc", "1.2.3", "0x10",
])
any_number = st.one_of(plain_number(), plain_number(), exponent_number, special_number)


@st.composite
def journal_rows(draw, *, mostly_valid: bool) -> list[tuple[str, str, str, str, str]]:
    """(strategy, side, quantity, price, fees) texts; with ``mostly_valid`` most rows are within limits."""
    n = draw(st.integers(min_value=1, max_value=6))
    rows = []
    for _ in range(n):
        values = []
        for field in FIELDS:
            text = draw(any_number)
            if mostly_valid:
                for _ in range(4):  # redraw a few times towards values the format accepts
                    if expected_number(text, field) is not None:
                        break
                    text = draw(any_number)
            values.append(text)
        rows.append((draw(st.sampled_from(["a", "b"])), draw(st.sampled_from(["BUY", "SELL"])), *values))
    return rows


def write_rows(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    lines = [HEADER]
    for i, (strategy, side, qty, price, fees) in enumerate(rows):
        t = datetime(2026, 11, 20, 9, 20, tzinfo=IST) + timedelta(minutes=i)
        lines.append(f"{t.isoformat()},{strategy},X,{side},{qty},{price},{fees},O{i},T{i}\n")
    path.write_text("".join(lines))
    return path


def first_refusal(rows: list[tuple[str, str, str, str, str]]) -> tuple[int, set[str]] | None:
    """(line, bad fields on it) of the first refused row, or None."""
    for i, (_, _, *values) in enumerate(rows):
        bad = {f for f, v in zip(FIELDS, values, strict=True) if expected_number(v, f) is None}
        if bad:
            return i + 2, bad
    return None


def check_exact(rows: list[tuple[str, str, str, str, str]], path: Path) -> None:
    """read_journal + compute_day agree with the Fraction FIFO, and the document is valid JSON."""
    journal = read_journal(path, display_name="journal/2026-11-20.csv")
    table = journal.fills
    fills = [Fill(datetime(2026, 11, 20, 9, 20, tzinfo=IST) + timedelta(minutes=i), strategy, "X", side,
                  expected_number(q, "quantity"), expected_number(p, "price"), expected_number(f, "fees"),
                  f"O{i}", f"T{i}")
             for i, (strategy, side, q, p, f) in enumerate(rows)]
    assert table.to_fills() == fills  # the journal's values, exactly
    r = compute_day(table, currency="INR")
    gross, trades, open_lots = reference_fifo(fills)
    fees = sum((Fraction(f.fees) for f in fills), Fraction(0))
    turnover = sum((Fraction(f.quantity) * Fraction(f.price) for f in fills), Fraction(0))
    assert [Fraction(g) for g in r.exact.fill_realized] == gross
    assert Fraction(r.exact.gross_pnl) == sum(gross, Fraction(0))
    assert Fraction(r.exact.fees) == fees
    assert Fraction(r.exact.realized_pnl) == sum(gross, Fraction(0)) - fees
    assert Fraction(r.exact.turnover) == turnover
    # The flip fee split rounds half-even to 10**-S: at most one unit per trade off the exact fraction.
    unit = Fraction(1, 10 ** max(table.quantity_decimals + table.price_decimals, table.fee_decimals))
    assert len(r.exact.trade_pnls) == len(trades)
    for mine, ref in zip(r.exact.trade_pnls, trades, strict=True):
        assert abs(Fraction(mine) - ref) <= unit
    assert {(p.strategy, p.symbol): [(Fraction(lot.quantity), Fraction(lot.price)) for lot in p.lots]
            for p in r.open_positions} == open_lots
    # The JSON figures: the exact values rounded once, half to even, to the paisa.
    s = r.summary
    assert s["realized_pnl"] == half_even(Fraction(r.exact.realized_pnl), 2)
    assert s["gross_pnl"] == half_even(Fraction(r.exact.gross_pnl), 2)
    assert s["fees"] == half_even(fees, 2)
    assert s["turnover"] == half_even(turnover, 2)
    assert [t["pnl"] for t in r.trades] == [half_even(Fraction(p), 2) for p in r.exact.trade_pnls]
    doc = build_daily_report(date="2026-11-20", mode="paper", config_path=None, config_sha256=None,
                             market={"calendar": "XNSE", "kind": "regular"}, day=r)
    back = json.loads(dumps_report(doc))
    assert back["summary"]["realized_pnl"] == s["realized_pnl"]
    render_daily_markdown(back)
    # The lots carry exactly to the next day.
    again = opening_positions_from_report(back)
    assert [[(lot.quantity, lot.price, lot.fees) for lot in p.lots] for p in again] == \
        [[(lot.quantity, lot.price, lot.fees) for lot in p.lots] for p in r.open_positions]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(journal_rows(mostly_valid=True), journal_rows(mostly_valid=False)))
def test_extreme_numbers_are_exact_or_refused_with_file_line_and_field(tmp_path_factory, rows):
    path = write_rows(tmp_path_factory.mktemp("j") / "2026-11-20.csv", rows)
    refusal = first_refusal(rows)
    event("refused" if refusal else "computed")
    if refusal is None:
        check_exact(rows, path)
        return
    line, fields = refusal
    with pytest.raises(JournalError) as info:
        read_journal(path, display_name="journal/2026-11-20.csv")
    message = str(info.value)
    found = re.match(r"journal/2026-11-20\.csv:(\d+) (\w+): ", message)
    assert found, message
    assert int(found.group(1)) == line and found.group(2) in fields, message
    assert info.value.exit_code == 5


@pytest.mark.parametrize(("field", "text", "words"), [
    ("price", "9" * 400, f"400 digits before the decimal point; at most {MAX_INTEGER_DIGITS}"),
    ("price", "1e400", f"401 digits before the decimal point; at most {MAX_INTEGER_DIGITS}"),
    ("quantity", "1e-400", f"400 decimal places; at most {MAX_DECIMALS}"),
    ("fees", "0." + "0" * MAX_DECIMALS + "1", f"{MAX_DECIMALS + 1} decimal places; at most {MAX_DECIMALS}"),
    ("price", "nan", "is not a finite number"),
    ("price", "-inf", "is not a finite number"),
    ("quantity", "-0", "must be > 0"),
])
def test_refusals_say_what_the_limit_is(tmp_path, field, text, words):
    values = {"quantity": "1", "price": "10", "fees": "0", field: text}
    path = write_rows(tmp_path / "j.csv", [("a", "BUY", values["quantity"], values["price"], values["fees"])])
    with pytest.raises(JournalError, match=rf"j\.csv:2 {field}: .*{re.escape(words)}"):
        read_journal(path, display_name="j.csv")


def test_issue_10_numbers_are_exact(tmp_path):
    """21 decimal places (exit 70 before), a 30-digit price, trailing zeros past the limit."""
    rows = [("a", "BUY", "1", "1.000000000000000000001", "0"),
            ("a", "SELL", "1", "2", "0.000000000000000000001"),
            ("b", "BUY", "3", "9" * MAX_INTEGER_DIGITS, "0"),
            ("b", "SELL", "3", "1" + "0" * (MAX_INTEGER_DIGITS - 1), "1." + "0" * 60)]
    check_exact(rows, write_rows(tmp_path / "2026-11-20.csv", rows))


def test_int64_boundaries_do_not_overflow(tmp_path):
    """Values just inside int64 on the fast path, whose products and rescalings are not."""
    rows = [("a", "BUY", "999999999", "999999999", "0"), ("a", "SELL", "999999999", "999999998.5", "0"),
            ("b", "BUY", "123456789012345678", "9", "0.5"), ("b", "SELL", "123456789012345678", "10", "0"),
            ("a", "BUY", "1", "999999999999999999", "0")]
    check_exact(rows, write_rows(tmp_path / "2026-11-20.csv", rows))


def test_times_outside_what_nanoseconds_hold_are_refused(tmp_path):
    path = tmp_path / "j.csv"
    path.write_text(HEADER + "2026-11-20T09:20:00+05:30,a,X,BUY,1,1,0,O1,T1\n"
                             "9999-12-31T23:59:59+00:00,a,X,SELL,1,2,0,O2,T2\n")
    with pytest.raises(JournalError, match=r"j\.csv:3 time: .*9999-12-31"):
        read_journal(path, display_name="j.csv")


def test_fills_built_in_python_obey_the_same_limits():
    with pytest.raises(ValueError, match="price"):
        Fill(datetime(2026, 11, 20, 9, 20, tzinfo=IST), "a", "X", "BUY", Decimal(1), Decimal("1e400"))


@pytest.mark.parametrize(("raw", "field", "words"), [
    ('"price": 1e400', "price", "401 digits before the decimal point"),
    ('"price": 1e999999999', "price", "1000000000 digits before the decimal point"),
    ('"quantity": 1e-999999999', "quantity", "999999999 decimal places"),
    ('"price": NaN', "price", "is not a finite number"),
    ('"fees": -Infinity', "fees", "is not a finite number"),
])
def test_json_lines_numbers_obey_the_same_limits(tmp_path, raw, field, words):
    """JSON numbers are read as Decimal: huge exponents are refused without being written out."""
    values = {"quantity": '"quantity": 1', "price": '"price": 10', "fees": '"fees": 0'}
    values[field] = raw
    path = tmp_path / "j.jsonl"
    path.write_text('{"time": "2026-11-20T09:20:00+05:30", "strategy": "a", "symbol": "X", "side": "BUY", '
                    + ", ".join(values.values()) + "}\n")
    with pytest.raises(JournalError, match=rf"j\.jsonl:1 {field}: .*{re.escape(words)}"):
        read_journal(path, display_name="j.jsonl")


def test_json_lines_with_21_decimals_are_exact(tmp_path):
    path = tmp_path / "2026-11-20.jsonl"
    path.write_text('{"time": "2026-11-20T09:20:00+05:30", "strategy": "a", "symbol": "X", "side": "BUY", '
                    '"quantity": 3, "price": 1.000000000000000000001, "fees": 0}\n'
                    '{"time": "2026-11-20T09:21:00+05:30", "strategy": "a", "symbol": "X", "side": "SELL", '
                    '"quantity": 3, "price": 2, "fees": 1e-40}\n')
    r = compute_day(read_journal(path).fills, currency="INR")
    # (Fractions: Decimal arithmetic in the default context would round to 28 digits itself.)
    assert Fraction(r.exact.realized_pnl) == Fraction("2.999999999999999999997") - Fraction(1, 10 ** 40)
    assert r.summary["realized_pnl"] == 3.0


def test_period_reports_and_charts_take_the_largest_numbers(tmp_path):
    from reports.render import build_period_report, write_daily_report, write_period_report

    big = "9" * MAX_INTEGER_DIGITS
    docs = []
    for day, (buy, sell) in {"2026-11-19": (big, "1"), "2026-11-20": ("0.01", "0.02")}.items():
        t = datetime.fromisoformat(f"{day}T09:20:00+05:30")
        fills = [Fill(t, "a", "X", "BUY", Decimal(big), Decimal(buy)),
                 Fill(t + timedelta(minutes=1), "a", "X", "SELL", Decimal(big), Decimal(sell), Decimal("0.5"))]
        doc = build_daily_report(date=day, mode="paper", config_path=None, config_sha256=None,
                                 market={"calendar": "XNSE", "kind": "regular"},
                                 day=compute_day(fills, currency="INR"))
        write_daily_report(doc, tmp_path / f"{day}.json", tmp_path / f"{day}.md", html_path=tmp_path / f"{day}.html")
        docs.append(json.loads((tmp_path / f"{day}.json").read_text()))
    period = build_period_report(docs, "2026-W47")
    assert period["summary"]["realized_pnl"] == float(sum(Fraction(str(d["summary"]["realized_pnl"])) for d in docs))
    written = write_period_report(period, tmp_path / "2026-W47.md", json_path=tmp_path / "2026-W47.json")
    assert set(written) == {"markdown", "json", "chart"}


def test_fees_with_thirty_decimals_on_a_zero_price_stay_exact() -> None:
    # Found by the CLI property test: the notional is 0 (price -0), so every value fitted in
    # int64, but the notional-to-money factor (10**30) itself did not: exit 70 (OverflowError).
    from datetime import UTC, datetime

    from reports.journal import Fill
    from reports.pnl import compute_day

    fill = Fill(time=datetime(2026, 11, 20, 9, 20, tzinfo=UTC), strategy="a", symbol="X", side="BUY",
                quantity="+7", price="-0", fees="0.000000000000000000000000000001")
    result = compute_day([fill], currency="INR")
    assert result.summary["fills"] == 1 and result.summary["open_positions"] == 1
    assert result.exact.fees == Decimal("1E-30")  # exact, not rounded away or overflowed
