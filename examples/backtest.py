#!/usr/bin/env python3
"""tradeday's demo backtest hook: the day's fills against a naive buy-and-hold.

Wire it as ``eod.backtest.command: ["{python}", "examples/backtest.py", "--date", "{date}"]``.
It reads the journal (TRADEDAY_JOURNAL, as for examples/analytics.py) and writes
``{artifacts}/backtests/daily/{date}.json`` (or TRADEDAY_OUTPUT), which tradeday embeds in
the daily report under ``backtest``.

For each symbol, with exact decimal arithmetic:

* ``strategy_pnl``: what the fills made, marked to the day's last fill price: cash from
  sells minus cash for buys, plus the net position at the last price, minus fees;
* ``buy_and_hold_pnl``: the benchmark: buy the largest position the fills ever held (in
  absolute size) at the day's first fill price and hold it to the last fill price;
* ``edge``: strategy minus benchmark.

A crude yardstick (one day, fill prices only, no opening positions), meant as a template
for a real replay. Exit codes: 0 written, 1 a journal row is bad, 2 a usage error.
Standard library only.
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from analytics import BadJournal, artifacts_from_config, money, number, read_rows, write_atomically  # noqa: E402


def replay(path: Path | None) -> dict[str, Any]:
    rows = read_rows(path) if path is not None and path.is_file() else []
    fills: dict[str, list[tuple[datetime, str, Decimal, Decimal, Decimal]]] = {}
    seen: set[str] = set()
    for lineno, row in rows:
        where = f"{path}:{lineno}"
        trade_id = row.get("trade_id", "")
        if trade_id and trade_id in seen:
            continue
        seen.add(trade_id)
        side = row.get("side", "").upper()
        if side not in ("BUY", "SELL"):
            raise BadJournal(f"{where} side: {row.get('side')!r} must be BUY or SELL")
        try:
            when = datetime.fromisoformat(row.get("time", "").replace("Z", "+00:00"))
        except ValueError:
            raise BadJournal(f"{where} time: {row.get('time')!r} is not an ISO-8601 time") from None
        fills.setdefault(row.get("symbol", "") or "-", []).append(
            (when, side, number(row, "quantity", where), number(row, "price", where),
             number(row, "fees", where, default="0")))
    symbols = []
    total_strategy = total_benchmark = Decimal(0)
    for symbol, items in sorted(fills.items()):
        items.sort(key=lambda f: f[0])
        first_price, last_price = items[0][3], items[-1][3]
        cash = position = fees = largest = Decimal(0)
        for _, side, qty, price, fee in items:
            signed = qty if side == "BUY" else -qty
            position += signed
            cash -= signed * price
            fees += fee
            largest = max(largest, abs(position))
        strategy = cash + position * last_price - fees
        benchmark = largest * (last_price - first_price)
        total_strategy += strategy
        total_benchmark += benchmark
        symbols.append({
            "symbol": symbol, "fills": len(items), "first_price": float(first_price), "last_price": float(last_price),
            "end_position": float(position), "benchmark_quantity": float(largest),
            "strategy_pnl": money(strategy), "buy_and_hold_pnl": money(benchmark), "edge": money(strategy - benchmark),
        })
    return {
        "benchmark": "buy_and_hold",
        "source": str(path) if path is not None else None,
        "totals": {"strategy_pnl": money(total_strategy), "buy_and_hold_pnl": money(total_benchmark),
                   "edge": money(total_strategy - total_benchmark), "symbols": len(symbols)},
        "symbols": symbols,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", default=os.environ.get("TRADEDAY_SESSION_DATE"), help="session date YYYY-MM-DD")
    parser.add_argument("--config", default=os.environ.get("TRADEDAY_CONFIG"), help="the tradeday config")
    parser.add_argument("--journal", default=os.environ.get("TRADEDAY_JOURNAL"), help="the fills journal")
    parser.add_argument("--output", default=os.environ.get("TRADEDAY_OUTPUT"), help="where to write the JSON")
    args = parser.parse_args(argv)
    try:
        day = date.fromisoformat(args.date) if args.date else date.today()
    except ValueError:
        parser.error(f"--date {args.date!r} is not YYYY-MM-DD")
    artifacts = Path(os.environ["TRADEDAY_ARTIFACTS"]) if os.environ.get("TRADEDAY_ARTIFACTS") else (
        artifacts_from_config(Path(args.config)) if args.config else None)
    if artifacts is None and not (args.journal and args.output):
        parser.error("set TRADEDAY_ARTIFACTS, or pass --config (with PyYAML installed), or --journal and --output")
    journal = Path(args.journal) if args.journal else None
    if journal is None and artifacts is not None:
        csv_path = artifacts / "journal" / f"{day}.csv"
        jsonl_path = artifacts / "journal" / f"{day}.jsonl"
        journal = jsonl_path if jsonl_path.is_file() and not csv_path.is_file() else csv_path
    output = Path(args.output) if args.output else artifacts / "backtests" / "daily" / f"{day}.json"  # type: ignore[operator]
    try:
        result = replay(journal)
    except BadJournal as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 1
    result = {"date": day.isoformat(), "generated_by": "examples/backtest.py", **result}
    write_atomically(output, result)
    t = result["totals"]
    print(f"backtest {day}: strategy {t['strategy_pnl']:+,.2f} vs buy-and-hold {t['buy_and_hold_pnl']:+,.2f}; wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
