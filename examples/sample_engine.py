#!/usr/bin/env python3
"""tradeday's demo engine: simulated prices, two toy strategies, a fills journal. No broker.

It follows the engine contract of docs/ENGINE.md, so it is also a template:

* reads TRADEDAY_MODE, TRADEDAY_ENGINE, TRADEDAY_RESTARTS, TRADEDAY_JOURNAL,
  TRADEDAY_HEARTBEAT and TRADEDAY_CONFIG (all optional: without them it just prints);
* from the config it reads its own sections, ``strategy.symbols`` and
  ``risk.max_position`` (only if PyYAML is importable; tradeday's interpreter has it);
* prints "sample engine NAME starting: ..." only once its SIGTERM/SIGINT handlers are
  installed, so that line means "ready to be stopped";
* prints a few log lines per second, flushed line by line;
* appends every fill to the journal (CSV, header written when the file is new);
* touches the heartbeat file every tick;
* prints ``@tradeday {"event": "fill", ...}`` for notable fills;
* on SIGTERM or SIGINT (Windows: also SIGBREAK, i.e. Ctrl+Break), when the file named by
  TRADEDAY_STOP_FILE appears (the portable stop request, checked every tick), or when the
  process that started it disappears, it flattens its positions, journals the closing fills
  and exits 0.

It never sends an order anywhere: every price and fill is simulated, in every mode.

    python examples/sample_engine.py --seed 1 --tick 0.2 [--duration 60] [--mode paper]

Standard library only (PyYAML optional); Python 3.11+.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import random
import signal
import sys
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

try:  # POSIX: several engines may append to one journal; Windows has no fcntl
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

JOURNAL_HEADER = ["time", "strategy", "symbol", "side", "quantity", "price", "fees", "order_id", "trade_id"]
FEE_RATE = 0.0003  # 0.03% of notional
START_PRICES = {
    "RELIANCE": 2450.0, "INFY": 1520.0, "TCS": 3890.0, "HDFCBANK": 1675.0,
    "AAPL": 190.0, "MSFT": 420.0, "NVDA": 480.0, "SPY": 560.0,
}
NOTABLE_MOVE = 0.002  # a closing fill whose round trip made or lost >= 0.2% is announced


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def _market_zone() -> object:
    """The market's offset (tradeday's convention: market time with its offset), from the open."""
    try:
        return datetime.fromisoformat(os.environ["TRADEDAY_SESSION_OPEN"]).tzinfo
    except (KeyError, ValueError):
        return None  # run by hand: this machine's zone


MARKET_TZ = _market_zone()


def say(text: str) -> None:
    moment = datetime.now().astimezone(MARKET_TZ)  # type: ignore[arg-type]
    print(f"{moment.isoformat(timespec='seconds')[11:]} {text}", flush=True)  # 09:15:01+05:30


def announce(payload: dict[str, object]) -> None:
    """A protocol line: tradeday turns it into a notification instead of a log line."""
    print("@tradeday " + json.dumps(payload, separators=(",", ":")), flush=True)


class Journal:
    """Appends fills to TRADEDAY_JOURNAL: one write per fill, under an flock if available."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, row: list[object]) -> None:
        if self.path is None:
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        with open(self.path, "a", encoding="utf-8", newline="") as fh:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                # The header only when the file is new; checked under the lock, since another
                # engine may be creating the same file right now.
                if fh.seek(0, os.SEEK_END) == 0:
                    writer.writerow(JOURNAL_HEADER)
                writer.writerow(row)
                fh.write(buffer.getvalue())
                fh.flush()
            finally:
                if fcntl is not None:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class Book:
    """Positions per (strategy, symbol) and the fills that change them."""

    def __init__(self, engine: str, restarts: str, journal: Journal) -> None:
        self.engine = engine
        self.journal = journal
        # Unique across restarts and across engines sharing one journal.
        self.id_prefix = f"{engine}-r{restarts}-p{os.getpid()}"
        self.positions: dict[tuple[str, str], int] = {}
        self.entry_price: dict[tuple[str, str], float] = {}
        self.cash: dict[str, float] = {}
        self.fills = 0

    def fill(self, strategy: str, symbol: str, side: str, quantity: int, price: float, why: str) -> None:
        self.fills += 1
        price = round(price, 2)
        notional = price * quantity
        fees = round(notional * FEE_RATE, 2)
        order_id = f"{self.id_prefix}-O{self.fills}"
        trade_id = f"{self.id_prefix}-T{self.fills}"
        sign = 1 if side == "BUY" else -1
        key = (strategy, symbol)
        held = self.positions.get(key, 0)
        round_trip: float | None = None
        if held == 0:
            self.entry_price[key] = price
        elif (held > 0) != (sign > 0):  # reduces the position: a (partial) round trip
            entry = self.entry_price.get(key, price)
            round_trip = (price - entry) / entry * (1 if held > 0 else -1)
        self.positions[key] = held + sign * quantity
        self.cash[strategy] = self.cash.get(strategy, 0.0) - sign * notional - fees
        self.journal.append([now_iso(), strategy, symbol, side, quantity, f"{price:.2f}", f"{fees:.2f}", order_id, trade_id])
        say(f"{strategy}: {side} {quantity} {symbol} @ {price:.2f} (fees {fees:.2f}) {why}")
        # Notable: the first fill of this run, and round trips that moved >= 0.2%.
        if self.fills == 1 or (round_trip is not None and abs(round_trip) >= NOTABLE_MOVE):
            result = f", round trip {round_trip * 100:+.2f}%" if round_trip is not None else ""
            announce(
                {
                    "event": "fill",
                    "title": f"{side} {quantity} {symbol}",  # tradeday prefixes the engine name
                    "message": f"{strategy} {why} at {price:.2f}{result}",
                    "strategy": strategy,
                    "symbol": symbol,
                    "side": side,
                    "quantity": quantity,
                    "price": price,
                }
            )


class Momentum:
    """Buy after three rising ticks; sell the position after two falling ones."""

    name = "momentum"

    def __init__(self, quantity: int) -> None:
        self.quantity = quantity

    def on_tick(self, book: Book, symbol: str, history: deque[float]) -> None:
        if len(history) < 4:
            return
        recent = list(history)[-4:]
        moves = [b - a for a, b in zip(recent[:-1], recent[1:], strict=True)]
        held = book.positions.get((self.name, symbol), 0)
        if held == 0 and all(m > 0 for m in moves):
            book.fill(self.name, symbol, "BUY", self.quantity, history[-1], "after 3 rising ticks")
        elif held > 0 and moves[-1] < 0 and moves[-2] < 0:
            book.fill(self.name, symbol, "SELL", held, history[-1], "after 2 falling ticks")


class MeanReversion:
    """Buy 0.2% under the 20-tick average; sell back at the average."""

    name = "mean_reversion"

    def __init__(self, quantity: int) -> None:
        self.quantity = quantity

    def on_tick(self, book: Book, symbol: str, history: deque[float]) -> None:
        if len(history) < 20:
            return
        average = sum(list(history)[-20:]) / 20
        price = history[-1]
        held = book.positions.get((self.name, symbol), 0)
        if held == 0 and price < average * 0.998:
            book.fill(self.name, symbol, "BUY", self.quantity, price, f"below average {average:.2f}")
        elif held > 0 and price >= average:
            book.fill(self.name, symbol, "SELL", held, price, f"back at average {average:.2f}")


STRATEGIES: dict[str, type[Momentum] | type[MeanReversion]] = {"momentum": Momentum, "mean_reversion": MeanReversion}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="tradeday demo engine (simulated; sends no orders)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for reproducible prices")
    parser.add_argument("--tick", type=float, default=0.2, help="seconds between price ticks (default 0.2)")
    parser.add_argument("--duration", type=float, default=None, help="stop by itself after this many seconds")
    parser.add_argument(
        "--symbols", default=None, help="comma-separated symbols (default: the config's strategy.symbols, else RELIANCE,INFY,TCS)"
    )
    parser.add_argument("--mode", default=os.environ.get("TRADEDAY_MODE", "paper"), help="paper or live (default: TRADEDAY_MODE)")
    parser.add_argument(
        "--config",
        default=os.environ.get("TRADEDAY_CONFIG"),
        help="tradeday config with strategy/risk sections (default: TRADEDAY_CONFIG)",
    )
    parser.add_argument("--strategies", default="momentum,mean_reversion", help="comma-separated: momentum, mean_reversion")
    parser.add_argument("--quantity", type=int, default=10, help="shares per entry (default 10)")
    args = parser.parse_args(argv)
    if args.tick <= 0:
        parser.error("--tick must be positive")
    if args.quantity <= 0:
        parser.error("--quantity must be positive")
    unknown = [s for s in args.strategies.split(",") if s not in STRATEGIES]
    if unknown:
        parser.error(f"unknown strategies: {', '.join(unknown)} (choose from {', '.join(STRATEGIES)})")
    return args


def engine_settings(config_path: str | None) -> dict[str, dict[str, Any]]:
    """``strategy`` and ``risk`` sections of the tradeday config; {} without PyYAML or config."""
    if not config_path:
        return {}
    try:
        import yaml  # optional: tradeday's interpreter has it; the engine works without it
    except ImportError:
        say("PyYAML not installed: ignoring the config's strategy/risk sections")
        return {}
    try:
        with open(config_path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError) as exc:
        say(f"cannot read config {config_path}: {exc}")
        return {}
    return {"strategy": data.get("strategy") or {}, "risk": data.get("risk") or {}}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = args.mode
    engine = os.environ.get("TRADEDAY_ENGINE", "sample")
    restarts = os.environ.get("TRADEDAY_RESTARTS", "0")
    heartbeat = os.environ.get("TRADEDAY_HEARTBEAT")
    book = Book(engine, restarts, Journal(os.environ.get("TRADEDAY_JOURNAL")))
    rng = random.Random(args.seed)
    settings = engine_settings(args.config)
    if args.symbols is not None:
        symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
    else:
        symbols = [str(s).upper() for s in settings.get("strategy", {}).get("symbols") or ["RELIANCE", "INFY", "TCS"]]
    max_position = settings.get("risk", {}).get("max_position")
    quantity = min(args.quantity, int(max_position)) if max_position is not None else args.quantity
    if quantity <= 0:
        say(f"risk.max_position {max_position} leaves no room to trade")
        return 78  # a configuration error: tradeday must not restart us
    prices = {s: START_PRICES.get(s, 100.0 + 50 * i) for i, s in enumerate(symbols)}
    histories = {s: deque([p], maxlen=64) for s, p in prices.items()}
    strategies = [STRATEGIES[name](quantity) for name in args.strategies.split(",")]

    stop_reason: list[str] = []

    def request_stop(signum: int, _frame: object) -> None:
        stop_reason.append(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if hasattr(signal, "SIGBREAK"):  # Windows: tradeday's CTRL_BREAK_EVENT
        signal.signal(signal.SIGBREAK, request_stop)
    stop_file = os.environ.get("TRADEDAY_STOP_FILE")
    # Windows never re-parents (and its Job Object kills us with tradeday): POSIX only.
    parent = os.getppid() if os.name == "posix" else None

    # The readiness signal: from this line on a stop signal is handled (flatten, journal,
    # exit 0). Before it, SIGTERM would still kill the engine with its default action.
    say(f"sample engine {engine} starting: mode={mode} restarts={restarts} pid={os.getpid()} symbols={','.join(symbols)}")
    if mode == "live":
        say("note: the sample engine only simulates fills; it never sends an order, even in live mode")
    began = time.monotonic()
    ticks = 0
    while not stop_reason:
        if args.duration is not None and time.monotonic() - began >= args.duration:
            stop_reason.append(f"--duration {args.duration:g}s reached")
            break
        if stop_file and os.path.exists(stop_file):
            # tradeday asks us to stop (before any signal; the only way on every platform).
            stop_reason.append("stop file")
            break
        if parent is not None and os.getppid() != parent:
            # Portable safety net where PR_SET_PDEATHSIG does not exist (macOS): the
            # supervisor is gone, so nobody would stop us at the close.
            stop_reason.append("supervisor disappeared")
            break
        ticks += 1
        for symbol in symbols:
            # Random walk: ~0.1% per tick, prices with 2 decimals.
            prices[symbol] = round(prices[symbol] * math.exp(rng.gauss(0.0, 0.001)), 2)
            histories[symbol].append(prices[symbol])
            for strategy in strategies:
                strategy.on_tick(book, symbol, histories[symbol])
        say(f"tick {ticks} " + " ".join(f"{s}={p:.2f}" for s, p in prices.items()))
        if heartbeat:
            Path(heartbeat).touch()
        time.sleep(args.tick)

    # From here on we are stopping anyway. A SIGTERM that tradeday sends right after the stop
    # file could otherwise land during the interpreter's shutdown, which puts the default
    # action back (exit "killed by SIGTERM" after a clean stop): ignore further stop signals.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    say(f"stopping ({stop_reason[0]}): flattening positions")
    for (strategy_name, symbol), held in sorted(book.positions.items()):
        if held > 0:
            book.fill(strategy_name, symbol, "SELL", held, prices[symbol], "flatten at stop")
        elif held < 0:
            book.fill(strategy_name, symbol, "BUY", -held, prices[symbol], "flatten at stop")
    summary = ", ".join(f"{name} {cash:+.2f}" for name, cash in sorted(book.cash.items())) or "no trades"
    say(f"flat. realised P&L after fees: {summary}; {book.fills} fills")
    announce({"event": "message", "level": "info", "title": "stopped flat", "message": summary, "fills": book.fills})
    return 0


if __name__ == "__main__":
    sys.exit(main())
