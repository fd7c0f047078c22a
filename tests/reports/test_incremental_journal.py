"""The incremental journal reader (status, the loss limit) against the end-of-day computation:
the same journal, read as it grows, gives compute_day's realized PnL, trades and open positions."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from reports.journal import read_journal
from reports.journal.incremental import IncrementalJournal, OpeningLot
from reports.pnl import CarriedLot, OpenPosition, compute_day

HEADER = "time,strategy,symbol,side,quantity,price,fees,order_id,trade_id\n"
IST = timezone(timedelta(hours=5, minutes=30))


def _random_rows(rng: random.Random, n: int, *, shuffle_some: bool) -> list[str]:
    """Partial fills, shorts, flips through zero, odd decimals, fee-less rows, repeated ids."""
    t0 = datetime(2026, 11, 20, 9, 15, tzinfo=IST)
    rows = []
    for i in range(n):
        t = t0 + timedelta(seconds=i * 3 + rng.choice([0, 0, 1]))
        if shuffle_some and rng.random() < 0.08:
            t -= timedelta(seconds=rng.randint(5, 60))  # an engine's late write: out of time order
        strategy = rng.choice(["mom", "meanrev"])
        symbol = rng.choice(["INFY", "TCS", "RELIANCE"])
        side = rng.choice(["BUY", "SELL"])
        qty = rng.choice(["1", "3", "7", "10", "25", "0.5", "12.125"])
        price = f"{rng.uniform(90, 110):.{rng.choice([1, 2, 3])}f}"
        fees = rng.choice(["", "0", "0.46", "1.2345", "0.01"])
        trade_id = f"T{i}" if rng.random() > 0.05 else f"T{max(0, i - 1)}"  # ~5% repeat the previous id
        rows.append(f"{t.isoformat()},{strategy},{symbol},{side},{qty},{price},{fees},O{i},{trade_id}\n")
    return rows


def _report_figures(path: Path, opening: list[OpenPosition] = ()) -> tuple[float, Decimal, int, int, int]:
    day = compute_day(read_journal(path).fills, currency="INR", opening_positions=opening)
    s = day.summary
    return s["realized_pnl"], day.exact.realized_pnl, s["trades"], s["open_positions"], s["fills"]


def _ours(figures) -> tuple[float, Decimal, int, int, int]:
    return (figures.realized_pnl, figures.realized_pnl_exact, figures.trades, figures.open_positions,
            figures.fills)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_growing_journal_matches_compute_day(tmp_path: Path, seed: int) -> None:
    """Written in pieces (cut mid-line), polled in between: at every whole-line prefix the
    figures are compute_day's for that prefix; at the end, for the whole file."""
    rng = random.Random(seed)
    rows = _random_rows(rng, 400, shuffle_some=seed == 3)
    journal = tmp_path / "2026-11-20.csv"
    reader = IncrementalJournal(journal, money_places=2)
    assert reader.poll().exists is False
    data = (HEADER + "".join(rows)).encode()
    written = 0
    checkpoints = 0
    with open(journal, "wb") as fh:
        while written < len(data):
            step = rng.randint(1, 900)
            fh.write(data[written:written + step])
            fh.flush()
            written += step
            ours = reader.poll(max_bytes=rng.choice([64, 1024, 1 << 20]))
            while not ours.caught_up:
                ours = reader.poll(max_bytes=4096)
            whole = data[: data.rfind(b"\n", 0, written) + 1]
            assert ours.bytes_read == len(whole)  # the partial last line waits
            if rng.random() < 0.1 and whole.count(b"\n") > 1:
                prefix = tmp_path / "prefix.csv"
                prefix.write_bytes(whole)
                assert _ours(ours) == _report_figures(prefix)
                checkpoints += 1
    final = reader.poll_all()
    assert _ours(final) == _report_figures(journal)
    assert final.duplicates > 0 and final.trades > 0 and final.problems == 0
    assert checkpoints > 0


def test_carried_positions_shorts_and_flips_match(tmp_path: Path) -> None:
    """Lots carried from the previous report (a long and a short) open their groups; today's
    fills close them partly, flip one through zero and leave positions open."""
    entry = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
    opening = [
        OpenPosition("mom", "INFY", "LONG", (CarriedLot(Decimal("10"), Decimal("100.5"), entry, Decimal("0.3")),
                                             CarriedLot(Decimal("5"), Decimal("101"), entry, Decimal("0")))),
        OpenPosition("mom", "TCS", "SHORT", (CarriedLot(Decimal("4"), Decimal("2000"), entry, Decimal("1")),)),
    ]
    journal = tmp_path / "2026-11-20.csv"
    journal.write_text(HEADER + "".join([
        "2026-11-20T09:20:00+05:30,mom,INFY,SELL,12,102.25,0.5,,\n",   # closes 10 + 2 of the carried lots
        "2026-11-20T09:21:00+05:30,mom,TCS,BUY,10,1990.125,0.75,,\n",  # closes the short 4, opens long 6
        "2026-11-20T09:22:00+05:30,mom,TCS,SELL,6,1995,0.1,,\n",       # flat
        "2026-11-20T09:23:00+05:30,rev,TCS,SELL,3,1996,0,,\n",         # a short opened today, left open
    ]))
    lots = [OpeningLot(p.strategy, p.symbol, p.side == "LONG", lot.quantity, lot.price)
            for p in opening for lot in p.lots]
    ours = IncrementalJournal(journal, opening=lots).poll_all()
    assert _ours(ours) == _report_figures(journal, opening)
    assert ours.open_positions == 2  # INFY long 3 (carried), TCS short 3 (today)


def test_truncated_or_replaced_file_is_read_again(tmp_path: Path) -> None:
    journal = tmp_path / "j.csv"
    journal.write_text(HEADER + "2026-11-20T09:20:00+05:30,s,X,BUY,10,100,1,,a\n"
                       "2026-11-20T09:21:00+05:30,s,X,SELL,10,90,1,,b\n")
    reader = IncrementalJournal(journal)
    assert reader.poll_all().realized_pnl == -102.0
    # Replaced by another file (an atomic rewrite, e.g. `report --fills --force`): another inode.
    other = tmp_path / "new.csv"
    other.write_text(HEADER + "2026-11-20T09:20:00+05:30,s,X,BUY,10,100,0,,a\n"
                     "2026-11-20T09:21:00+05:30,s,X,SELL,10,101,0,,b\n")
    other.replace(journal)
    figures = reader.poll_all()
    assert (figures.realized_pnl, figures.fills) == (10.0, 2)
    # Truncated in place to something shorter than what was read.
    with open(journal, "w") as fh:
        fh.write(HEADER + "2026-11-20T09:20:00+05:30,s,X,SELL,1,100,0.5,,a\n")
    figures = reader.poll_all()
    assert (figures.realized_pnl, figures.fills, figures.open_positions) == (-0.5, 1, 1)
    journal.unlink()
    assert reader.poll().exists is False


def test_bad_rows_are_listed_not_applied(tmp_path: Path) -> None:
    journal = tmp_path / "j.csv"
    journal.write_text(HEADER + "2026-11-20T09:20:00,s,X,BUY,10,100,1,,\n"   # no offset
                       "2026-11-20T09:21:00+05:30,s,X,HOLD,10,90,1,,\n"
                       "2026-11-20T09:21:00+05:30,s,X,SELL,abc,90,1,,\n"
                       "2026-11-20T09:22:00+05:30,s,X,BUY,2,50,0,,\n")
    figures = IncrementalJournal(journal, display_name="j.csv").poll_all()
    assert (figures.fills, figures.problems, figures.open_positions) == (1, 3, 1)
    assert figures.problem_lines[0].startswith("j.csv:2 time:")
    assert "j.csv:4 quantity: 'abc' is not a number" in figures.problem_lines


def test_jsonl_journal(tmp_path: Path) -> None:
    journal = tmp_path / "2026-11-20.jsonl"
    journal.write_text('{"time": "2026-11-20T09:20:00Z", "strategy": "s", "symbol": "X", "side": "SELL",'
                       ' "quantity": 3, "price": 10.5, "fees": 0.25}\n'
                       '{"time": "2026-11-20T09:21:00Z", "strategy": "s", "symbol": "X", "side": "BUY",'
                       ' "quantity": 3, "price": 10.25, "fees": 0.25}\n')
    figures = IncrementalJournal(journal).poll_all()
    assert _ours(figures) == _report_figures(journal)
    assert figures.realized_pnl == 0.25
