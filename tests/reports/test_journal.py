"""The fills journal: exact reading, validation messages, duplicates, writing."""
from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import EodError
from core.exitcodes import ExitCode
from reports.journal import Fill, FillTable, JournalError, read_journal, write_journal
from reports.pnl import compute_day
from tests.conftest import FIXTURES as FIXTURES_ROOT

FIXTURES = FIXTURES_ROOT / "journals"
IST = timezone(timedelta(hours=5, minutes=30))


def copy_fixture(tmp_path: Path, name: str) -> Path:
    target = tmp_path / "artifacts" / "journal" / name
    target.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / name, target)
    return target


def test_reads_the_fixture_day_and_drops_the_duplicate_trade_id():
    journal = read_journal(FIXTURES / "2026-11-20.csv", display_name="journal/2026-11-20.csv")
    table = journal.fills
    assert len(table) == 9
    assert journal.warnings == ["journal/2026-11-20.csv:10 trade_id: 'T8' repeats line 9; row dropped"]
    assert (table.price_decimals, table.fee_decimals, table.quantity_decimals) == (2, 2, 0)
    assert table.tz == IST
    first = table.to_fills()[0]
    assert first == Fill(datetime(2026, 11, 20, 9, 16, 5, tzinfo=IST), "momentum", "INFY", "BUY", D(10),
                         D("1876.45"), D("5.63"), "O1", "T1")
    assert table.line.tolist() == [2, 3, 4, 5, 6, 7, 8, 9, 11]


def test_jsonl_reads_like_csv_and_json_numbers_stay_exact():
    csv_fills = read_journal(FIXTURES / "2026-11-20.csv").fills.to_fills()
    jsonl = read_journal(FIXTURES / "2026-11-20.jsonl")
    assert jsonl.fills.to_fills() == csv_fills
    assert jsonl.warnings and "repeats line 8" in jsonl.warnings[0]


def test_the_fixture_day_hand_computed():
    table = read_journal(FIXTURES / "2026-11-20.csv").fills
    r = compute_day(table, market="XNSE", session_open=datetime(2026, 11, 20, 9, 15, tzinfo=IST),
                    session_close=datetime(2026, 11, 20, 15, 30, tzinfo=IST))
    assert r.exact.gross_pnl == D("243.00")
    assert r.exact.fees == D("56.94")
    assert r.exact.realized_pnl == D("186.06")
    assert r.exact.trade_pnls == [D("195.97"), D("0.00"), D("-5.89")]
    s = r.summary
    assert (s["trades"], s["wins"], s["losses"], s["win_rate"]) == (3, 1, 1, 0.333333)
    assert s["max_drawdown"] == 25.36 and s["turnover"] == 310166.40 and s["profit_factor"] == 33.2716
    assert [(x["name"], x["realized_pnl"]) for x in r.strategies] == [("meanrev", 195.97), ("momentum", -9.91)]
    assert [f["line"] for f in r.flags] == [11]
    assert [(p.symbol, p.quantity, p.lots[0].fees) for p in r.open_positions] == [
        ("INFY", D(1), D("0.50")), ("RELIANCE", D(4), D("3.52"))]


def test_bad_quantity_names_file_line_and_field(tmp_path):
    path = copy_fixture(tmp_path, "bad_quantity.csv")
    with pytest.raises(JournalError) as err:
        read_journal(path, display_name="artifacts/journal/2026-11-20.csv")
    assert err.value.message == "artifacts/journal/2026-11-20.csv:14 quantity: '-3' must be > 0"
    assert err.value.exit_code == ExitCode.EOD_FAILED == 5
    assert isinstance(err.value, EodError)


@pytest.mark.parametrize(("name", "message"), [
    ("missing_column.csv", "missing_column.csv:1: missing column price"),
    ("naive_time.csv", "naive_time.csv:3 time: '2026-11-20T09:17:00' has no UTC offset"),
    ("bad_side.csv", "bad_side.csv:4 side: 'SHORT' must be BUY or SELL"),
    ("bad_price.csv", "bad_price.csv:3 price: '18x7.00' is not a number"),
])
def test_bad_input_messages(name, message):
    with pytest.raises(JournalError) as err:
        read_journal(FIXTURES / name, display_name=name)
    assert err.value.message == message
    assert err.value.hint  # every message says what to do


def test_more_bad_inputs(tmp_path):
    path = tmp_path / "j.csv"
    header = "time,strategy,symbol,side,quantity,price,fees,order_id,trade_id\n"
    cases = {
        "2026-11-20T09:16:05+05:30,s,X,BUY,0,1,0,,\n": "j.csv:2 quantity: '0' must be > 0",
        "2026-11-20T09:16:05+05:30,s,X,BUY,1,-1,0,,\n": "j.csv:2 price: '-1' must be >= 0",
        "2026-11-20T09:16:05+05:30,s,X,BUY,1,1,-0.5,,\n": "j.csv:2 fees: '-0.5' must be >= 0",
        "2026-11-20T09:16:05+05:30,s,X,BUY,,1,0,,\n": "j.csv:2 quantity: is empty",
        "2026-11-20T09:16:05+05:30,,X,BUY,1,1,0,,\n": "j.csv:2 strategy: is empty",
        "yesterday,s,X,BUY,1,1,0,,\n": "j.csv:2 time: 'yesterday' is not an ISO-8601 time",
        "2026-11-20T09:16:05+05:30,s,X,BUY,1,NaN,0,,\n": "j.csv:2 price: 'NaN' is not a finite number",
        "2026-11-20T09:16:05+05:30,s,X,BUY,1,1,0,,,extra\n": "j.csv:2 expected 9 fields, found 10",
    }
    for row, message in cases.items():
        path.write_text(header + row)
        with pytest.raises(JournalError) as err:
            read_journal(path, display_name="j.csv")
        assert err.value.message == message, row
    # Several bad rows: the first one is reported, with a count of the others.
    path.write_text(header + "2026-11-20T09:16:05+05:30,s,X,BUY,1,1,0,,\n" * 2 + "2026-11-20T09:16:05+05:30,s,X,BUY,-1,1,0,,\n"
                    + "2026-11-20T09:16:05+05:30,s,X,HOLD,1,1,0,,\n")
    with pytest.raises(JournalError, match=r"j.csv:4 quantity: '-1' must be > 0 \(and 1 more bad value\)"):
        read_journal(path, display_name="j.csv")
    path.write_text("")
    with pytest.raises(JournalError, match="j.csv:1: empty file"):
        read_journal(path, display_name="j.csv")
    with pytest.raises(JournalError, match="no such journal file"):
        read_journal(tmp_path / "nope.csv")


def test_lenient_where_meaning_is_clear(tmp_path):
    path = tmp_path / "j.csv"
    # BOM, blank lines (line numbers stay true), lower-case side, spaces, mixed offsets, no optional columns.
    path.write_text("\ufefftime,strategy,symbol,side,quantity,price\n"
                    "2026-11-20T09:16:05+05:30,s,X,buy, 2 ,10.5\n"
                    "\n"
                    "2026-11-20T03:50:00Z,s,X,Sell,2,1E+1\n"
                    "2026-11-20T09:21:00+05:30,s,X,SELL,1,oops\n", encoding="utf-8")
    with pytest.raises(JournalError, match=r"j.csv:5 price: 'oops' is not a number"):
        read_journal(path, display_name="j.csv")
    path.write_text(path.read_text().rsplit("\n", 2)[0] + "\n")
    fills = read_journal(path).fills.to_fills()
    assert [(f.side, f.quantity, f.price) for f in fills] == [("BUY", D(2), D("10.5")), ("SELL", D(2), D(10))]
    assert fills[1].time == datetime(2026, 11, 20, 3, 50, tzinfo=UTC)
    assert compute_day(fills, currency="INR").exact.realized_pnl == D(-1)


def test_header_only_is_an_empty_day(tmp_path):
    path = tmp_path / "j.csv"
    path.write_text("time,strategy,symbol,side,quantity,price,fees,order_id,trade_id\n")
    journal = read_journal(path)
    assert len(journal.fills) == 0 and journal.warnings == []
    assert compute_day(journal.fills, currency="INR").summary["fills"] == 0


def test_rows_are_sorted_by_time(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"time": "2026-11-20T10:00:00+05:30", "strategy": "s", "symbol": "X", "side": "SELL", "quantity": 1, "price": 11}\n'
                    '{"time": "2026-11-20T09:00:00+05:30", "strategy": "s", "symbol": "X", "side": "BUY", "quantity": 1, "price": 10}\n')
    table = read_journal(path).fills
    assert table.line.tolist() == [2, 1]
    assert compute_day(table, currency="INR").exact.realized_pnl == D(1)


numbers = st.decimals(min_value=D("0.00000001"), max_value=D("99999999999"), places=None, allow_nan=False,
                      allow_infinity=False).filter(lambda d: len(d.as_tuple().digits) <= 24)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(numbers, numbers, numbers), min_size=1, max_size=12), st.sampled_from([".csv", ".jsonl"]))
def test_numbers_round_trip_exactly(tmp_path_factory, rows, suffix):
    fills = [Fill(datetime(2026, 11, 20, 9, 15, i, tzinfo=IST), "s", "X", "BUY", q, p, f, trade_id=f"T{i}")
             for i, (q, p, f) in enumerate(rows)]
    path = tmp_path_factory.mktemp("j") / f"journal{suffix}"
    write_journal(fills, path)
    back = read_journal(path).fills.to_fills()
    assert [(f.quantity, f.price, f.fees) for f in back] == [(f.quantity, f.price, f.fees) for f in fills]


def test_long_numbers_switch_to_python_integers(tmp_path):
    fills = [Fill(datetime(2026, 11, 20, 9, 15, tzinfo=IST), "s", "X", "BUY", D("12345678901.123456789"),
                  D("123456789.123456789"), D(0))]
    write_journal(fills, tmp_path / "j.csv")
    table = read_journal(tmp_path / "j.csv").fills
    assert table.quantity.dtype == object
    assert table.to_fills()[0].quantity == D("12345678901.123456789")


def test_write_journal_is_atomic_and_formats_plainly(tmp_path):
    path = tmp_path / "j.csv"
    path.write_text("old\n")
    table = FillTable.from_fills([Fill(datetime(2026, 11, 20, 9, 15, 0, 250000, tzinfo=IST), "s", "X", "SELL",
                                       D("1.50"), D("1E+3"), D("0.10"))])
    write_journal(table, path)
    assert path.read_text().splitlines()[1] == "2026-11-20T09:15:00.250000+05:30,s,X,SELL,1.5,1000,0.1,,"
    assert [p.name for p in tmp_path.iterdir()] == ["j.csv"]  # no temp file left behind


# ---------------------------------------------------------------- the plain-CSV fast path

from reports import journal as journal_module  # noqa: E402
from reports.journal import fastcsv as journal_fastcsv  # noqa: E402
from reports.journal import read as journal_read  # noqa: E402


def general_reader(path: Path):
    columns, lines = journal_read._read_csv_columns(path, str(path))
    return journal_module.fills_from_text_columns(columns, lines, source=str(path))


plain_rows = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=86_399_999_999),            # microseconds into the day
        st.sampled_from(["alpha", "beta", "γ-strat"]),
        st.sampled_from(["INFY", "SBIN", "M&M"]),
        st.booleans(),
        st.decimals(min_value=D("0.001"), max_value=D("100000"), places=3),
        st.decimals(min_value=D("0"), max_value=D("99999.99"), places=2),
        st.one_of(st.just(None), st.decimals(min_value=D("0"), max_value=D("99.9999"), places=4)),
        st.sampled_from(["", "T1", "T2", "T3", "T4", "T5", "T6", "T7"]),
    ),
    min_size=1, max_size=15,
)


@settings(max_examples=40, deadline=None)
@given(plain_rows, st.sampled_from(["+05:30", "-04:00", "Z"]), st.booleans(), st.booleans())
def test_fast_path_reads_exactly_what_the_general_reader_reads(tmp_path_factory, rows, offset, micros, reorder):
    columns = list(JOURNAL := ("time", "strategy", "symbol", "side", "quantity", "price", "fees", "order_id", "trade_id"))
    if reorder:
        columns = columns[::-1]
    lines = [",".join(columns)]
    for us, strategy, symbol, buy, qty, price, fees, tid in rows:
        t = datetime(2026, 11, 20) + timedelta(microseconds=us if micros else us // 1_000_000 * 1_000_000)
        stamp = t.isoformat(timespec="microseconds" if micros else "seconds") + offset
        record = dict(zip(JOURNAL, (stamp, strategy, symbol, "BUY" if buy else "SELL", str(qty), str(price),
                                    "" if fees is None else str(fees), f"O{us % 7}", tid), strict=True))
        lines.append(",".join(record[c] for c in columns))
    path = tmp_path_factory.mktemp("fast") / "j.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast = journal_fastcsv.read_plain_csv(path, str(path))
    assert fast is not None
    slow_table, slow_warnings = general_reader(path)
    table, warnings = fast
    assert warnings == slow_warnings
    assert table.to_fills() == slow_table.to_fills()
    assert table.line.tolist() == slow_table.line.tolist() and table.tz == slow_table.tz


def test_plain_files_take_the_fast_path_and_others_the_general_one(tmp_path, monkeypatch):
    plain = copy_fixture(tmp_path, "2026-11-20.csv")
    calls = []
    real = journal_read._read_csv_columns
    monkeypatch.setattr(journal_read, "_read_csv_columns", lambda *a: calls.append(a) or real(*a))
    assert len(read_journal(plain).fills) == 9 and calls == []
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(plain.read_text().replace(",momentum,", ',"momentum",', 1))
    assert read_journal(quoted).fills.to_fills() == read_journal(plain).fills.to_fills()
    assert len(calls) == 1
