"""Broker exports into journal fills, on realistic export files."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from reports.importers import import_fills, kite_trades_to_journal, read_ibkr_flex, read_kite_tradebook
from reports.journal import JournalError, read_journal, write_journal
from reports.pnl import compute_day
from tests.conftest import FIXTURES as FIXTURES_ROOT

FIXTURES = FIXTURES_ROOT / "imports"
IST = ZoneInfo("Asia/Kolkata")
NY = ZoneInfo("America/New_York")


def test_zerodha_tradebook_to_journal_and_pnl(tmp_path):
    imported = import_fills(FIXTURES / "zerodha_tradebook_2026-11-20.csv", "kite-tradebook",
                            timezone="Asia/Kolkata", strategy="manual")
    fills = imported.fills
    assert len(fills) == 6 and imported.currencies == {"INR"}
    first = fills[0]
    assert (first.symbol, first.side, first.quantity, first.price, first.strategy) == ("INFY", "BUY", D(25), D("1876.45"), "manual")
    assert first.time == datetime(2026, 11, 20, 9, 21, 7, tzinfo=IST)
    assert (first.trade_id, first.order_id) == ("60091234", "1100000031234567")
    assert [f.side for f in fills if f.symbol.startswith("NIFTY")] == ["SELL", "BUY"]
    assert "fees are 0" in imported.warnings[0]

    # Into the journal format and back, unchanged.
    path = write_journal(fills, tmp_path / "journal" / "2026-11-20.csv")
    assert path.read_text().splitlines()[1] == (
        "2026-11-20T09:21:07+05:30,manual,INFY,BUY,25,1876.45,0,1100000031234567,60091234")
    again = read_journal(path).fills.to_fills()
    assert again == fills

    day = compute_day(fills, market="XNSE")
    # INFY: 40 * 1889.95 - (25 * 1876.45 + 15 * 1876.50) = 539.25; the call: 75 * 14.35 = 1076.25.
    assert day.exact.realized_pnl == D("1615.50")
    assert [(p.symbol, p.quantity) for p in day.open_positions] == [("RELIANCE", D(10))]


def test_ibkr_flex_with_header_and_trailer_records():
    imported = read_ibkr_flex(FIXTURES / "ibkr_flex_trades_2026-11-20.csv", timezone="America/New_York")
    fills = imported.fills
    assert [(f.symbol, f.side, f.quantity) for f in fills] == [
        ("AAPL", "BUY", D(60)), ("AAPL", "BUY", D(40)),
        ("SPY   261120C00595000", "BUY", D(200)),   # 2 contracts x multiplier 100
        ("AAPL", "SELL", D(100)), ("SPY   261120C00595000", "SELL", D(200)),
    ]
    assert fills[0].time == datetime(2026, 11, 20, 9, 45, 12, tzinfo=NY)
    assert fills[0].time.utcoffset() == timedelta(hours=-5)
    assert (fills[0].trade_id, fills[0].order_id, fills[0].fees) == ("7712300451", "4512389712", D("0.6039"))
    assert imported.currencies == {"USD"}
    assert imported.warnings == [f"{FIXTURES / 'ibkr_flex_trades_2026-11-20.csv'}: skipped 1 ORDER row (only EXECUTION rows are fills)"]

    day = compute_day(fills, market="XNYS")
    # AAPL 100 x 1.525 = 152.50, SPY calls 200 x 0.55 = 110.00; commissions 4.6316.
    assert day.exact.gross_pnl == D("262.50")
    assert day.exact.realized_pnl == D("257.8684")
    assert day.summary["realized_pnl"] == 257.87
    assert day.summary["trades"] == 2


def test_ibkr_flex_header_data_layout_and_rebates():
    imported = import_fills(FIXTURES / "ibkr_flex_header_data.csv", "ibkr-flex", timezone=NY)
    assert [(f.side, f.quantity, f.price, f.fees) for f in imported.fills] == [
        ("SELL", D(10), D("415.20"), D("1.00")), ("BUY", D(10), D("413.95"), D(0))]
    assert imported.fills[1].time == datetime(2026, 11, 20, 11, 2, 40, tzinfo=NY)
    assert any("rebates of 0.12 left out" in w for w in imported.warnings)
    assert compute_day(imported.fills, currency="USD").exact.realized_pnl == D("11.50")


def test_ibkr_plain_layout_with_a_second_section(tmp_path):
    path = tmp_path / "flex.csv"
    path.write_text(
        '"DateTime","Symbol","Buy/Sell","Quantity","TradePrice","IBCommission","CurrencyPrimary","TradeID"\n'
        '"20261120;093000","RHM","BUY","2","985.4","-3","EUR","1"\n'
        '"20261120;150000","RHM","SELL","-2","990.4","-3","EUR","2"\n'
        '"Date/Time","FromCurrency","ToCurrency","Rate"\n'
        '"20261120","EUR","USD","1.0515"\n'
    )
    imported = read_ibkr_flex(path, timezone="Europe/Berlin")
    assert [f.trade_id for f in imported.fills] == ["1", "2"]
    assert imported.currencies == {"EUR"}


def test_import_errors_name_file_line_and_column(tmp_path):
    bad = tmp_path / "tradebook.csv"
    bad.write_text(
        "symbol,isin,trade_date,exchange,segment,series,trade_type,auction,quantity,price,trade_id,order_id,order_execution_time\n"
        "INFY,INE009A01021,2026-11-20,NSE,EQ,EQ,buy,false,25,1876.45,1,2,2026-11-20T09:21:07\n"
        "INFY,INE009A01021,2026-11-20,NSE,EQ,EQ,short,false,25,1876.45,3,4,2026-11-20T09:22:07\n"
    )
    with pytest.raises(JournalError, match=r"tradebook.csv:3 trade_type: 'short' must be buy or sell"):
        read_kite_tradebook(bad)
    bad.write_text("symbol,trade_type,quantity,price\nINFY,buy,1,2\n")
    with pytest.raises(JournalError, match=r"tradebook.csv:1: missing column order_execution_time"):
        read_kite_tradebook(bad)

    flex = tmp_path / "flex.csv"
    flex.write_text('"DateTime","Symbol","Buy/Sell","Quantity","TradePrice"\n"11/20/2026 09:30:00","X","BUY","1","2"\n')
    with pytest.raises(JournalError, match=r"flex.csv:2 DateTime: '11/20/2026 09:30:00' is not a date and time") as err:
        read_ibkr_flex(flex, timezone="America/New_York")
    assert "yyyyMMdd" in str(err.value)
    flex.write_text('"DateTime","Symbol","Buy/Sell","Quantity","TradePrice"\n"20261120;093000","X","SELL","1","2"\n')
    with pytest.raises(JournalError, match=r"flex.csv:2 Quantity: '1' disagrees with Buy/Sell SELL"):
        read_ibkr_flex(flex, timezone="America/New_York")
    flex.write_text('"Symbol","Amount"\n"X","1"\n')
    with pytest.raises(JournalError, match="no Trades section"):
        read_ibkr_flex(flex, timezone="America/New_York")
    with pytest.raises(JournalError, match="unknown fills format 'csv'"):
        import_fills(flex, "csv", timezone="UTC")
    with pytest.raises(JournalError, match="unknown time zone 'Mars/Olympus'"):
        import_fills(flex, "ibkr-flex", timezone="Mars/Olympus")


def test_kite_api_trades_with_parsed_and_raw_timestamps():
    trades = [
        {  # what kiteconnect returns: timestamps already naive datetimes (exchange time)
            "trade_id": "10000000", "order_id": "200000000000000", "exchange": "NSE", "tradingsymbol": "SBIN",
            "instrument_token": 779521, "product": "MIS", "average_price": 802.35, "quantity": 100,
            "exchange_order_id": "200000000000000", "transaction_type": "BUY",
            "fill_timestamp": datetime(2026, 11, 20, 9, 30, 5), "order_timestamp": datetime(2026, 11, 20, 9, 30, 4),
            "exchange_timestamp": datetime(2026, 11, 20, 9, 30, 5),
        },
        {  # raw API JSON: strings
            "trade_id": "10000001", "order_id": "200000000000001", "exchange": "NSE", "tradingsymbol": "SBIN",
            "average_price": 805.1, "quantity": 100, "transaction_type": "SELL",
            "fill_timestamp": "2026-11-20 13:01:59", "exchange_timestamp": "2026-11-20 13:01:59",
        },
    ]
    fills = kite_trades_to_journal(trades, "Asia/Kolkata", strategy="orb")
    assert [(f.side, f.price, f.time.hour) for f in fills] == [("BUY", D("802.35"), 9), ("SELL", D("805.1"), 13)]
    assert fills[0].time.utcoffset() == timedelta(hours=5, minutes=30) and fills[0].strategy == "orb"
    assert compute_day(fills, currency="INR").exact.realized_pnl == D("275.00")
    with pytest.raises(JournalError, match=r"kite trades\[0\] transaction_type: 'HOLD' must be BUY or SELL"):
        kite_trades_to_journal([trades[0] | {"transaction_type": "HOLD"}])
    aware = trades[1] | {"fill_timestamp": datetime(2026, 11, 20, 7, 31, 59, tzinfo=UTC)}
    assert kite_trades_to_journal([aware])[0].time == datetime(2026, 11, 20, 13, 1, 59, tzinfo=IST)
