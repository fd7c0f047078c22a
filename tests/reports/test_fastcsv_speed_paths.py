"""The plain-CSV reader's quick paths (a uint64 per short field, codes from the first rows, one
date decoded once) against their general counterparts and the general reader."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.journal import JournalError, fastcsv, fastfields, fills_from_text_columns, read_journal
from reports.journal import read as journal_read

HEADER = "time,strategy,symbol,side,quantity,price,fees,order_id,trade_id"


def general_reader(path: Path):
    columns, lines = journal_read._read_csv_columns(path, str(path))
    return fills_from_text_columns(columns, lines, source=str(path))


def row(i: int, **fields: str) -> str:
    values = {"time": f"2026-11-20T09:{15 + i // 3600 % 40:02d}:{i // 60 % 60:02d}.{i % 60:02d}0000+05:30",
              "strategy": f"strat{i % 7:02d}", "symbol": f"SYM{i % 11:03d}", "side": "BUY" if i % 3 else "SELL",
              "quantity": str(10 + i % 90), "price": f"{100 + i % 900}.{i % 100:02d}", "fees": f"{i % 5}.{i % 10}0",
              "order_id": f"O{i // 2}", "trade_id": f"T{1000 + i}"}
    values.update(fields)
    return ",".join(values[c] for c in HEADER.split(","))


def write(tmp_path: Path, rows: list[str], name: str = "j.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("utf-8", "surrogatepass"))
    return path


def tables_equal(a, b) -> None:
    for field in ("time_ns", "strategy", "symbol", "is_buy", "quantity", "price", "fees", "order_id", "trade_id",
                  "line", "strategy_codes", "symbol_codes"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.dtype == y.dtype and np.array_equal(x, y), field
    for field in ("quantity_decimals", "price_decimals", "fee_decimals", "tz", "strategy_names", "symbol_names"):
        assert getattr(a, field) == getattr(b, field), field


def _or_none(decode, *args):
    """What ``decode`` returns, or None when it finds the input not plain."""
    try:
        return decode(*args)
    except fastfields._NotPlain:
        return None


def assert_reads_like_the_general_reader(path: Path) -> None:
    fast = fastcsv.read_plain_csv(path, str(path))
    assert fast is not None
    table, warnings = general_reader(path)
    assert fast[1] == warnings
    assert fast[0].to_fills() == table.to_fills()
    assert fast[0].line.tolist() == table.line.tolist() and fast[0].tz == table.tz


# ---------------------------------------------------------------- numbers: one word per field, or a byte matrix

decimal_text = st.text(alphabet="0123456789.", min_size=0, max_size=8) | st.sampled_from(
    ["-5", "+5", "1e3", " 5", "abc", "1/2", ":", "5.", ".5", ".", "1..2", "0"])


@settings(max_examples=200, deadline=None)
@given(st.lists(decimal_text, min_size=1, max_size=30), st.booleans())
def test_word_decimals_decode_like_the_byte_matrix(tmp_path_factory, values, required):
    path = write(tmp_path_factory.mktemp("dec"), [row(i, price=v) for i, v in enumerate(values)])
    layout = fastcsv._locate_fields(path)
    assert layout is not None
    start, length = layout.field_of["price"]
    length = length.astype(np.int64)
    if int(length.max()) == 0:
        return  # an all-empty column never reaches either decoder
    word, matrix = (_or_none(lambda decode=decode: decode(layout.buf, start, length, required=required))
                    for decode in (fastfields._word_decimal, fastfields._decimal_digits))
    assert (word is None) == (matrix is None)
    if word is not None and matrix is not None:
        for got, want in zip(word, matrix, strict=True):
            assert np.array_equal(got, want)


def test_numbers_wider_than_a_word_and_whole_numbers_read_like_the_general_reader(tmp_path):
    rows = [row(i, quantity="7" if i % 2 else "123456789", price=["5.", ".5", "0.000000001", "12345678.125"][i % 4],
                fees="" if i % 3 else "0.0000001")
            for i in range(40)]
    assert_reads_like_the_general_reader(write(tmp_path, rows))


# ---------------------------------------------------------------- names and ids

def test_codes_from_the_first_rows_match_a_sort_of_all_rows():
    rng = np.random.default_rng(7)
    for distinct in (1, 3, 50, 2000):
        keys = rng.integers(0, distinct, 5000).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        found = fastfields._codes_of_early_keys(keys)
        codes = fastfields._factorize(keys)
        first = np.full(int(codes.max()) + 1, keys.shape[0], dtype=np.int64)
        np.minimum.at(first, codes, np.arange(keys.shape[0]))
        if found is None:  # a key first seen after the first rows
            assert len(set(keys[fastfields._EARLY_ROWS:].tolist()) - set(keys[:fastfields._EARLY_ROWS].tolist())) > 0
            found = fastfields._key_codes(keys)
        assert np.array_equal(found[0], codes) and np.array_equal(found[1], first)


def test_a_name_first_seen_late_and_long_names_and_ids_read_like_the_general_reader(tmp_path):
    rows = [row(i, strategy="late-starter" if i == 1500 else "late" if i == 1700 else f"s{i % 3}",
                symbol="NIFTY24DEC22000CE" if i % 5 == 0 else "SBIN",
                order_id=f"ORDER-{i:012d}", trade_id="REPEATED-ID-LONG" if i in (3, 1900) else f"TRADE-{i:010d}")
            for i in range(2000)]
    assert_reads_like_the_general_reader(write(tmp_path, rows))


def test_repeated_short_ids_are_dropped_like_the_general_reader(tmp_path):
    rows = [row(i, trade_id=["", "T1", "T2", f"T{i}"][i % 4]) for i in range(60)]
    assert_reads_like_the_general_reader(write(tmp_path, rows))


@pytest.mark.parametrize(("column", "value"), [
    ("side", "BUYX"), ("side", "BU"), ("side", "buy"), ("side", "SELLSELLSELL"), ("side", ""),
    ("strategy", ""), ("strategy", " "), ("strategy", "\udcff"), ("symbol", "é\udcff"),
    ("order_id", "é"), ("trade_id", "é" * 6),
    ("quantity", "0"), ("quantity", "1.2.3"), ("quantity", ""), ("price", "9" * 19), ("fees", "-1"),
])
def test_values_the_fast_path_refuses_go_to_the_general_reader(tmp_path, column, value):
    path = write(tmp_path, [row(i, **({column: value} if i == 5 else {})) for i in range(20)])
    assert fastcsv.read_plain_csv(path, str(path)) is None


# ---------------------------------------------------------------- times

def test_one_date_decodes_like_the_per_row_dates():
    texts = [f"{y:04d}-{m:02d}-{d:02d}".encode() for y in (1677, 1678, 2000, 2023, 2024, 2100, 2261, 2262)
             for m in (0, 1, 2, 12, 13) for d in (0, 1, 28, 29, 30, 31)]
    for text in texts:
        digit = np.frombuffer(text, dtype=np.uint8)[[0, 1, 2, 3, 5, 6, 8, 9]].astype(np.int64)[:, None] - 48
        one = _or_none(fastfields._one_date, text)
        per_row = _or_none(fastfields._dates, digit)
        assert one == (None if per_row is None else int(per_row[0])), text
        if one is not None:
            assert date(1970, 1, 1) + timedelta(days=one) == date.fromisoformat(text.decode())


def test_times_over_several_dates_and_offsets_read_like_the_general_reader(tmp_path):
    layouts = [  # (time of even rows, of odd rows): one layout per file
        ("2026-11-20T09:15:00.5+05:30", "2026-11-21T23:59:59.2-04:00"),
        ("2026-11-20T09:15:00+05:30", "2026-11-20 09:15:00+05:30"),
        ("2026-11-20T10:00:00.125Z", "2026-12-31T10:00:01.125Z"),
        ("2026-11-20T10:00:00.123456789-00:30", "2026-11-20T10:00:00.000000001+00:00"),
    ]
    for k, (even, odd) in enumerate(layouts):
        rows = [row(i, time=odd if i % 2 else even) for i in range(10)]
        assert_reads_like_the_general_reader(write(tmp_path, rows, f"t{k}.csv"))


# ---------------------------------------------------------------- NUL bytes, and the big-day paths

def test_nul_bytes_go_to_the_general_reader_which_names_the_field(tmp_path):
    path = write(tmp_path, [row(0), row(1, price="1.\x005")])
    assert fastcsv.read_plain_csv(path, str(path)) is None
    with pytest.raises(JournalError, match=r":3 price: '1\.\\x005' is not a number"):
        read_journal(path)


def test_chunked_decoding_and_pandas_codes_give_the_same_table(tmp_path, monkeypatch):
    rows = [row(i, strategy=f"strategy-{i % 13}" if i > 40 else "s", trade_id="T7" if i == 90 else f"T{i}",
                time=f"2026-11-2{i % 2}T09:15:{i % 60:02d}.{i:06d}+05:30")
            for i in range(100)]
    path = write(tmp_path, rows)
    whole = fastcsv.read_plain_csv(path, str(path))
    monkeypatch.setattr(fastfields, "_CHUNK_ROWS", 7)
    monkeypatch.setattr(fastcsv, "_CHUNK_BYTES", 333)
    monkeypatch.setattr(fastfields, "_FACTORIZE_WITH_NUMPY", 5)
    chunked = fastcsv.read_plain_csv(path, str(path))
    assert whole is not None and chunked is not None
    assert whole[1] == chunked[1] and len(whole[1]) == 1
    tables_equal(whole[0], chunked[0])
    assert_reads_like_the_general_reader(path)
