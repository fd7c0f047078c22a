"""Round trips, PnL and carry-over: hand-computed days and properties against a plain FIFO."""
from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import EodError
from reports.journal import Fill, read_journal, write_journal
from reports.pnl import (
    CarriedLot,
    OpenPosition,
    compute_day,
    currency_for_market,
    minor_unit,
    opening_positions_from_report,
    reconcile,
)

IST = timezone(timedelta(hours=5, minutes=30))
DAY = datetime(2026, 11, 20, 9, 15, tzinfo=IST)


def fill(minute: int, side: str, qty: str | int, price: str, fees: str = "0", strategy: str = "s",
         symbol: str = "X", order_id: str = "", trade_id: str = "", day: datetime = DAY) -> Fill:
    return Fill(day + timedelta(minutes=minute), strategy, symbol, side, D(str(qty)), D(price), D(fees),
                order_id, trade_id)


# ---------------------------------------------------------------- a plain FIFO, the oracle


def reference_fifo(fills: list[Fill], opening: list[OpenPosition] = ()):
    """Straightforward lot-by-lot FIFO with exact Fractions: per-fill gross, trades, open lots."""
    books: dict[tuple[str, str], dict] = {}
    for pos in opening:
        sign = 1 if pos.side == "LONG" else -1
        book = books.setdefault((pos.strategy, pos.symbol), {"lots": deque(), "trade": None})
        for lot in pos.lots:
            book["lots"].append([sign * Fraction(lot.quantity), Fraction(lot.price), Fraction(lot.fees)])
        book["trade"] = {"gross": Fraction(0), "fees": sum((Fraction(lot.fees) for lot in pos.lots), Fraction(0))}
    fill_gross: list[Fraction] = []
    trades: list[Fraction] = []
    for f in fills:
        book = books.setdefault((f.strategy, f.symbol), {"lots": deque(), "trade": None})
        lots = book["lots"]
        q = Fraction(f.quantity) * (1 if f.side == "BUY" else -1)
        p = Fraction(f.price)
        fee = Fraction(f.fees)
        gross = Fraction(0)
        position = sum((lot[0] for lot in lots), Fraction(0))
        if position == 0 or (position > 0) == (q > 0):
            if position == 0:
                book["trade"] = {"gross": Fraction(0), "fees": Fraction(0)}
            lots.append([q, p, fee])
            book["trade"]["fees"] += fee
            fill_gross.append(gross)
            continue
        closing = q if abs(q) <= abs(position) else -position
        rest = q - closing
        left = closing
        while left:
            lot = lots[0]
            take = -lot[0] if abs(lot[0]) <= abs(left) else left  # signed like `left`
            gross += -take * (p - lot[1])  # take is signed like the closing fill
            lot[0] += take
            left -= take
            if lot[0] == 0:
                lots.popleft()
        fill_gross.append(gross)
        close_fee = fee * abs(closing) / abs(q)
        book["trade"]["gross"] += gross
        book["trade"]["fees"] += close_fee
        if not lots:
            trades.append(book["trade"]["gross"] - book["trade"]["fees"])
            book["trade"] = None
        if rest:
            lots.append([rest, p, fee - close_fee])
            book["trade"] = {"gross": Fraction(0), "fees": fee - close_fee}
    open_lots = {k: [(abs(lot[0]), lot[1]) for lot in b["lots"]] for k, b in books.items() if b["lots"]}
    return fill_gross, trades, open_lots


# ---------------------------------------------------------------- hand-computed days


def test_partial_fills_scale_in_and_out_and_flip_with_fee_split():
    fills = [
        fill(5, "BUY", 10, "100", "1"),
        fill(15, "BUY", 10, "110", "1"),       # scale in
        fill(25, "SELL", 15, "120", "1.5"),    # scale out: 10@100 and 5@110 -> +250
        fill(35, "SELL", 10, "90", "3"),       # closes 5@110 (-100), opens 5 short; fee 1.5 / 1.5
        fill(45, "BUY", 5, "80", "0.5"),       # covers the short: +50
    ]
    r = compute_day(fills, currency="INR")
    assert r.exact.gross_pnl == D("200")
    assert r.exact.fees == D("7")
    assert r.exact.realized_pnl == D("193")
    assert r.exact.trade_pnls == [D("145"), D("48")]
    long_trade, short_trade = r.trades
    assert long_trade | {"entry_time": None} == {
        "strategy": "s", "symbol": "X", "side": "LONG", "quantity": 20, "entry_time": None,
        "exit_time": "2026-11-20T09:50:00+05:30", "avg_entry": 105.0, "avg_exit": 112.5,
        "pnl": 145.0, "fees": 5.0, "fees_carried": 0.0, "fills": 4,
    }
    assert short_trade["side"] == "SHORT" and short_trade["fees"] == 2.0 and short_trade["avg_entry"] == 90.0
    s = r.summary
    assert (s["trades"], s["wins"], s["losses"], s["win_rate"]) == (2, 2, 0, 1.0)
    assert s["profit_factor"] is None and s["avg_loss"] is None and s["avg_win"] == 96.5
    # Curve after each fill: -1, -2, 246.5, 143.5, 193 -> the worst fall from a peak is 103.
    assert s["max_drawdown"] == 103.0
    assert s["turnover"] == 5200.0
    assert s["biggest_winner"]["pnl"] == 145.0 and s["biggest_loser"] is None
    assert r.open_positions == []


def test_short_round_trip_and_zero_pnl_trade_is_neither_win_nor_loss():
    fills = [
        fill(1, "SELL", 4, "250.05", "0.10", symbol="A"),
        fill(2, "BUY", 4, "250.00", "0.10", symbol="A"),    # +0.20 gross, -0.20 fees -> 0
        fill(3, "SELL", 2, "99.99", "0", symbol="B"),
        fill(4, "BUY", 2, "100.49", "0.01", symbol="B"),    # -1.00 - 0.01
    ]
    r = compute_day(fills, currency="USD")
    assert r.exact.trade_pnls == [D("0"), D("-1.01")]
    assert (r.summary["wins"], r.summary["losses"], r.summary["trades"]) == (0, 1, 2)
    assert r.summary["win_rate"] == 0.0
    assert r.summary["profit_factor"] == 0.0  # no winners, one loser (null only without losses)
    assert r.summary["biggest_loser"]["symbol"] == "B"
    assert [t["side"] for t in r.trades] == ["SHORT", "SHORT"]
    assert r.summary["realized_pnl"] == -1.01


def test_flip_fee_split_is_pro_rata_and_adds_up_exactly():
    # 3 long, then SELL 10 with fee 1.00: 3/10 closes (0.30), 7/10 opens the short (0.70).
    fills = [fill(1, "BUY", 3, "10", "0"), fill(2, "SELL", 10, "11", "1.00"), fill(3, "BUY", 7, "12", "0")]
    r = compute_day(fills, currency="INR")
    assert r.exact.trade_pnls == [D("2.70"), D("-7.70")]
    assert [t["fees"] for t in r.trades] == [0.3, 0.7]
    assert r.exact.realized_pnl == sum(r.exact.trade_pnls)


def test_flip_fee_split_rounds_half_even_at_the_journal_precision():
    # 1 of 3 units closes: 0.01 * 1/3 = 0.00333 -> 0.00; the opening part keeps 0.01.
    fills = [fill(1, "BUY", 1, "10", "0"), fill(2, "SELL", 3, "10", "0.01"), fill(3, "BUY", 2, "10", "0")]
    r = compute_day(fills, currency="INR")
    assert r.exact.trade_pnls == [D("0"), D("-0.01")]
    assert r.exact.realized_pnl == D("-0.01")


def test_strategies_and_symbols_are_separate_books_sorted_by_pnl():
    fills = [
        fill(1, "BUY", 1, "100", strategy="alpha", symbol="X"),
        fill(2, "BUY", 1, "100", strategy="beta", symbol="X"),
        fill(3, "SELL", 1, "90", strategy="alpha", symbol="X"),   # alpha -10
        fill(4, "SELL", 1, "130", strategy="beta", symbol="X"),   # beta +30
        fill(5, "BUY", 2, "50", strategy="beta", symbol="Y"),
        fill(6, "SELL", 2, "55", strategy="beta", symbol="Y"),    # beta +10
    ]
    r = compute_day(fills, currency="INR")
    assert [(s["name"], s["realized_pnl"], s["trades"]) for s in r.strategies] == [("beta", 40.0, 2), ("alpha", -10.0, 1)]
    assert [(s["name"], s["realized_pnl"]) for s in r.symbols] == [("X", 20.0), ("Y", 10.0)]
    assert r.strategies[0]["win_rate"] == 1.0 and r.strategies[1]["profit_factor"] == 0.0
    assert r.summary["profit_factor"] == 4.0
    assert set(r.equity_curve["strategies"]) == {"alpha", "beta"}
    assert r.equity_curve["strategies"]["beta"][-1][1] == 40.0


def test_carry_over_across_two_days_realizes_on_the_closing_day():
    day1 = [
        fill(1, "BUY", 10, "100", "2.00"),
        fill(2, "SELL", 4, "105", "0.40"),   # +20 realized today; 6 left @100 with 1.20 of the fee
        fill(3, "BUY", 3, "101", "0.30"),
    ]
    r1 = compute_day(day1, currency="INR")
    assert r1.exact.realized_pnl == D("20") - D("2.70")
    assert r1.trades == []
    (pos,) = r1.open_positions
    assert pos.side == "LONG" and pos.quantity == D("9")
    assert [(lot.quantity, lot.price, lot.fees) for lot in pos.lots] == [(D(6), D(100), D("1.20")), (D(3), D(101), D("0.30"))]
    doc = {"open_positions": r1.open_positions_json()}
    assert doc["open_positions"][0]["avg_price"] == pytest.approx(100.3333, abs=1e-4)

    carried = opening_positions_from_report(doc)
    assert carried == r1.open_positions
    day2 = [fill(1, "SELL", 9, "110", "0.90", day=DAY + timedelta(days=1))]
    r2 = compute_day(day2, currency="INR", opening_positions=carried)
    # 6 * 10 + 3 * 9 = 87 gross today; only today's fee is in today's total.
    assert r2.exact.gross_pnl == D("87")
    assert r2.exact.fees == D("0.90")
    assert r2.exact.realized_pnl == D("86.10")
    (trade,) = r2.trades
    assert trade["entry_time"] == "2026-11-20T09:16:00+05:30"
    assert trade["fees_carried"] == 1.5 and trade["fees"] == 2.4 and trade["pnl"] == 84.6
    assert r2.open_positions == []

    # carry=False starts flat: the sell opens a short instead.
    r3 = compute_day(day2, currency="INR", opening_positions=opening_positions_from_report(doc, carry=False))
    assert r3.exact.gross_pnl == 0 and r3.open_positions[0].side == "SHORT"


def test_carried_short_position_and_flip_on_the_next_day():
    short = OpenPosition("s", "X", "SHORT", (CarriedLot(D(5), D("200"), DAY - timedelta(days=1), D("0.50")),))
    day = [fill(1, "BUY", 8, "190", "0.80")]  # covers 5 (+50), opens 3 long
    r = compute_day(day, currency="INR", opening_positions=[short])
    assert r.exact.gross_pnl == D(50)
    (trade,) = r.trades
    assert trade["side"] == "SHORT" and trade["fees"] == 1.0 and trade["pnl"] == 49.0
    (pos,) = r.open_positions
    assert pos.side == "LONG" and pos.lots[0].quantity == 3 and pos.lots[0].fees == D("0.30")


def test_fills_outside_the_session_are_flagged(tmp_path):
    path = tmp_path / "2026-11-20.csv"
    write_journal([fill(-10, "BUY", 1, "10"), fill(10, "SELL", 1, "11"), fill(400, "BUY", 1, "10")], path)
    journal = read_journal(path)
    r = compute_day(journal.fills, currency="INR", session_open=DAY, session_close=DAY + timedelta(hours=6, minutes=15))
    assert [f["line"] for f in r.flags] == [2, 4]
    assert r.flags[0]["message"] == (f"{path}:2: s BUY X at 2026-11-20T09:05:00+05:30 is outside the session 09:15-15:30")
    assert r.summary["fills_outside_session"] == 2


def test_empty_day():
    r = compute_day([], market="XNYS")
    assert r.currency == "USD"
    assert r.summary["trades"] == 0 and r.summary["win_rate"] is None and r.summary["max_drawdown"] == 0.0
    assert r.trades == [] and r.strategies == [] and r.equity_curve == {"total": [], "strategies": {}}


def test_currency_from_market():
    assert currency_for_market("XNSE") == currency_for_market("bse") == "INR"
    assert currency_for_market("NASDAQ") == "USD"
    assert minor_unit("JPY") == 0 and minor_unit("INR") == 2
    with pytest.raises(EodError, match="no known currency for market 'XLON'"):
        compute_day([], market="XLON")


def test_money_rounds_half_even_to_the_minor_unit():
    # 3 * 0.0050 = 0.015 gross -> 0.02 (half-even); 1 * 0.0250 -> 0.02.
    r = compute_day([fill(1, "BUY", 3, "1.0000"), fill(2, "SELL", 3, "1.0050")], currency="USD")
    assert r.exact.realized_pnl == D("0.015") and r.summary["realized_pnl"] == 0.02
    r = compute_day([fill(1, "BUY", 1, "1.0000"), fill(2, "SELL", 1, "1.0250")], currency="USD")
    assert r.summary["realized_pnl"] == 0.02


def test_huge_numbers_fall_back_to_python_integers_and_stay_exact():
    fills = [fill(1, "BUY", "123456789012.123456", "98765432109.87654321", "0.000001"),
             fill(2, "SELL", "123456789012.123456", "98765432110.87654321", "0.000002")]
    r = compute_day(fills, currency="USD")
    assert r.exact.realized_pnl == D("123456789012.123456") - D("0.000003")


def test_previous_report_damage_is_a_clear_error():
    bad = {"open_positions": [{"strategy": "s", "symbol": "X", "side": "LONG",
                               "lots": [{"quantity": "-1", "price": "1", "entry_time": "2026-11-19T10:00:00+05:30"}]}]}
    with pytest.raises(EodError, match=r"reports/2026-11-19.json open_positions\[0\].lots\[0\]"):
        opening_positions_from_report(bad, source="reports/2026-11-19.json")


# ---------------------------------------------------------------- properties

decimals2 = st.integers(min_value=1, max_value=50_000).map(lambda v: D(v).scaleb(-2))


@st.composite
def days(draw, flat: bool):
    n = draw(st.integers(min_value=0, max_value=30))
    out = []
    positions: dict[tuple[str, str], D] = {}
    for i in range(n):
        key = (draw(st.sampled_from(["a", "b"])), draw(st.sampled_from(["X", "Y"])))
        side = draw(st.sampled_from(["BUY", "SELL"]))
        qty = draw(st.integers(min_value=1, max_value=20)) * D(draw(st.sampled_from(["1", "0.5"])))
        out.append(Fill(DAY + timedelta(seconds=i), key[0], key[1], side, qty, draw(decimals2),
                        D(draw(st.integers(min_value=0, max_value=300))) * D("0.01")))
        positions[key] = positions.get(key, D(0)) + (qty if side == "BUY" else -qty)
    if flat:
        for j, (key, pos) in enumerate(sorted(positions.items())):
            if pos:
                out.append(Fill(DAY + timedelta(seconds=n + j), key[0], key[1], "SELL" if pos > 0 else "BUY",
                                abs(pos), draw(decimals2), D("0.07")))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days(flat=True))
def test_flat_day_realized_equals_cash_flow_minus_fees(fills):
    r = compute_day(fills, currency="INR")
    cash = sum((f.quantity * f.price * (-1 if f.side == "BUY" else 1) for f in fills), D(0))
    fees = sum((f.fees for f in fills), D(0))
    assert r.exact.realized_pnl == cash - fees
    assert sum(r.exact.trade_pnls, D(0)) == r.exact.realized_pnl
    assert r.open_positions == []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days(flat=False))
def test_vectorised_fifo_matches_a_plain_lot_by_lot_fifo(fills):
    r = compute_day(fills, currency="INR")
    gross, trades, open_lots = reference_fifo(fills)
    assert [Fraction(g) for g in r.exact.fill_realized] == gross
    # Trade PnL may differ from the exact-fraction oracle only by the half-even fee split
    # (at most one flip at each end of a trade, half a paisa each).
    assert len(r.exact.trade_pnls) == len(trades)
    for mine, ref in zip(r.exact.trade_pnls, trades, strict=True):
        assert abs(Fraction(mine) - ref) <= Fraction(1, 100)
    assert {(p.strategy, p.symbol): [(Fraction(lot.quantity), Fraction(lot.price)) for lot in p.lots]
            for p in r.open_positions} == open_lots


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days(flat=False), days(flat=False))
def test_carry_over_equals_one_long_day(first, second):
    """Two days with carry-over realize, in total, what one day with all fills realizes."""
    second = [Fill(f.time + timedelta(days=1), f.strategy, f.symbol, f.side, f.quantity, f.price, f.fees) for f in second]
    r1 = compute_day(first, currency="INR")
    r2 = compute_day(second, currency="INR",
                     opening_positions=opening_positions_from_report({"open_positions": r1.open_positions_json()}))
    both = compute_day(first + second, currency="INR")
    assert r1.exact.realized_pnl + r2.exact.realized_pnl == both.exact.realized_pnl
    assert [(p.strategy, p.symbol, p.quantity) for p in r2.open_positions] == \
        [(p.strategy, p.symbol, p.quantity) for p in both.open_positions]


# ---------------------------------------------------------------- reconciliation


def test_reconcile_by_trade_id_then_order():
    journal = [
        fill(1, "BUY", 10, "100", trade_id="T1", order_id="O1"),
        fill(2, "SELL", 10, "101", trade_id="T2", order_id="O2"),
        fill(3, "BUY", 5, "50.10", order_id="O3", symbol="Y"),     # one row for a split order
        fill(4, "BUY", 1, "10", order_id="O4", symbol="Z"),        # broker never saw it
    ]
    broker = [
        fill(1, "BUY", 10, "100", trade_id="T1", order_id="O1"),
        fill(2, "SELL", 9, "101", trade_id="T2", order_id="O2"),   # quantity differs
        fill(3, "BUY", 2, "50.00", trade_id="B7", order_id="O3", symbol="Y"),
        fill(3, "BUY", 3, "50.20", trade_id="B8", order_id="O3", symbol="Y"),  # vwap 50.12
        fill(5, "SELL", 1, "11", trade_id="B9", order_id="O9", symbol="Z"),    # not journaled
    ]
    rec = reconcile(journal, broker)
    assert not rec.ok
    assert rec.matched == 3
    assert [m.to_dict() for m in rec.mismatches] == [
        {"key": "trade_id T2", "field": "quantity", "journal": "10", "broker": "9"},
        {"key": "order_id O3 Y BUY", "field": "price", "journal": "50.1", "broker": "50.12"},
    ]
    assert [f.order_id for f in rec.missing_in_broker] == ["O4"]
    assert [f.trade_id for f in rec.missing_in_journal] == ["B9"]
    assert rec.to_dict()["missing_in_journal"][0]["price"] == "11"
    assert reconcile(journal[:1], broker[:1]).ok


def test_times_print_in_the_display_time_zone():
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    fills = [fill(0, "BUY", 1, "10", day=datetime(2026, 11, 20, 9, 30, tzinfo=ny)),
             fill(0, "SELL", 1, "11", day=datetime(2026, 11, 20, 15, 59, 59, 500000, tzinfo=ny))]
    r = compute_day(fills, currency="USD", tz=ny)
    assert (r.trades[0]["entry_time"], r.trades[0]["exit_time"]) == (
        "2026-11-20T09:30:00.000000-05:00", "2026-11-20T15:59:59.500000-05:00")
    utc = compute_day(fills, currency="USD", tz=UTC)
    assert utc.trades[0]["entry_time"] == "2026-11-20T14:30:00.000000+00:00"


# ---------------------------------------------------------------- carry across many days


@st.composite
def many_days(draw):
    """2-6 days of fills (never flattened at the close: positions are held overnight)."""
    count = draw(st.integers(min_value=2, max_value=6))
    out = []
    for k in range(count):
        day = draw(days(flat=False))
        out.append([Fill(f.time + timedelta(days=k), f.strategy, f.symbol, f.side, f.quantity, f.price, f.fees)
                    for f in day])
    return out


def _via_report(result):
    """The next day's opening positions the way `tradeday eod` read them before the side file."""
    return opening_positions_from_report({"open_positions": result.open_positions_json()})


def _via_side_file(result):
    """... and through the side file's columns (session/eod/store.py), as bytes on disk."""
    import orjson

    from reports.pnl.lots import book_columns, book_from_columns

    return book_from_columns(orjson.loads(orjson.dumps(book_columns(result.open_book))))


def _document(r):
    return (r.summary, r.strategies, r.symbols, r.trades, r.open_positions_json(), r.equity_curve)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(many_days())
def test_carry_across_many_days_matches_a_lot_by_lot_fifo(day_fills):
    """Day after day with positions held overnight: every fill's realized PnL and the open lots
    after each close are a plain FIFO's over all the fills so far; the carry handed on in
    memory, through the report's open_positions and through the side file opens the next day
    identically; the open_positions JSON is OpenPosition.to_dict's."""
    everything: list[Fill] = []
    opening = {"memory": (), "report": (), "side": ()}
    for fills in day_fills:
        results = {how: compute_day(fills, currency="INR", opening_positions=o) for how, o in opening.items()}
        r = results["memory"]
        assert _document(results["report"]) == _document(r) == _document(results["side"])
        assert r.open_positions_json() == [p.to_dict(price_places=r.price_places) for p in r.open_positions]
        before = len(everything)
        everything += fills
        gross, _, open_lots = reference_fifo(everything)
        assert [Fraction(g) for g in r.exact.fill_realized] == gross[before:]
        assert r.exact.fees == sum((f.fees for f in fills), D(0))
        assert {(p.strategy, p.symbol): [(Fraction(lot.quantity), Fraction(lot.price)) for lot in p.lots]
                for p in r.open_positions} == open_lots
        opening = {"memory": r.open_book, "report": _via_report(r), "side": _via_side_file(r)}
    whole = compute_day(everything, currency="INR")
    assert [(p.strategy, p.symbol, p.quantity) for p in r.open_positions] == \
        [(p.strategy, p.symbol, p.quantity) for p in whole.open_positions]
