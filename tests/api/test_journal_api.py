"""append_fill: what an engine calls for each fill; read back by the report's own reader."""
from __future__ import annotations

import json
import multiprocessing
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from tradeday import Fill, append_fill, read_journal

IST = timezone(timedelta(hours=5, minutes=30))


def _append_many(path: str, worker: int) -> None:
    for i in range(50):
        append_fill({"time": "2026-11-20T09:17:03.412+05:30", "strategy": f"s{worker}", "symbol": "INFY",
                     "side": "BUY", "quantity": 1, "price": "1520.50", "trade_id": f"w{worker}-{i}"}, path)


def test_appends_exact_rows_once_headed_and_refuses_bad_fills(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = tmp_path / "journal" / "2026-11-20.csv"
    monkeypatch.setenv("TRADEDAY_JOURNAL", str(journal))
    append_fill({"time": datetime(2026, 11, 20, 9, 15, tzinfo=IST), "strategy": "momentum", "symbol": "INFY",
                 "side": "buy", "quantity": 10, "price": 0.1, "fees": "0.46", "order_id": "O-1", "trade_id": "T-1"})
    append_fill(Fill(time=datetime(2026, 11, 20, 9, 20, tzinfo=IST), strategy="momentum", symbol="INFY", side="SELL",
                     quantity=Decimal("10"), price=Decimal("1521.25"), trade_id="T-2"), journal)
    with pytest.raises(ValueError, match="no UTC offset"):
        append_fill({"time": "2026-11-20T09:25:00", "strategy": "m", "symbol": "INFY", "side": "BUY",
                     "quantity": 1, "price": 1})
    with pytest.raises(ValueError, match="quantity"):
        append_fill({"time": "2026-11-20T09:25:00+05:30", "strategy": "m", "symbol": "INFY", "side": "BUY",
                     "quantity": 0, "price": 1})
    lines = journal.read_text().splitlines()
    assert lines == ["time,strategy,symbol,side,quantity,price,fees,order_id,trade_id",
                     "2026-11-20T09:15:00+05:30,momentum,INFY,BUY,10,0.1,0.46,O-1,T-1",
                     "2026-11-20T09:20:00+05:30,momentum,INFY,SELL,10,1521.25,0,,T-2"]
    assert journal.stat().st_mode & 0o077 == 0  # private, as every journal tradeday writes
    assert len(read_journal(journal).fills) == 2

    # Four processes appending to one new file: one header, no torn or lost line.
    shared = tmp_path / "shared.csv"
    procs = [multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn").Process(target=_append_many, args=(str(shared), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert shared.read_text().count("time,strategy") == 1 and len(read_journal(shared).fills) == 200

    jsonl = tmp_path / "2026-11-20.jsonl"
    append_fill({"time": "2026-11-20T09:15:00+05:30", "strategy": "m", "symbol": "INFY", "side": "BUY",
                 "quantity": "2", "price": "99.95"}, jsonl)
    assert json.loads(jsonl.read_text())["price"] == "99.95" and len(read_journal(jsonl).fills) == 1
