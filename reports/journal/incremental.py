"""The fills journal read as it grows: realized PnL after fees and open positions, so far.

``tradeday status`` and the loss limit of a running session read the day's journal while the
engines append to it. :class:`IncrementalJournal` remembers how far it read (a byte offset), so
each :meth:`~IncrementalJournal.poll` reads only what was appended since, at most ``max_bytes``
of it (a caller on a tight loop stays bounded). A last line without its newline is being written:
it is left for the next poll. A file that shrank, or another file under the same name (another
inode), is read again from the start.

The figures are the end-of-day report's (reports/pnl, ``compute_day``), by the same rules:

* FIFO per (strategy, symbol), in time order (stable: equal times keep the file's order); lots
  carried from the previous day's report come first in their group;
* a fill that takes a position through zero closes it and opens the rest on the other side;
* realized PnL = the gross PnL of every closing quantity minus every fee paid today (carried
  lots' fees were counted on their own day); a round trip is a cycle from flat to flat;
* rows whose ``trade_id`` repeats an earlier row's are dropped, in file order;
* numbers are exact (:class:`~decimal.Decimal` in the journal's EXACT context, which raises
  rather than round; the journal's limits of :func:`number_problem`), and the one rounding is
  the report's: the total, half to even, to the currency's minor unit.

Pure Python and the csv module: no numpy, no pandas (it runs in ``tradeday status``, which must
start fast, and beside the supervision loop). A row the report would refuse (a bad time, side or
number) is skipped here and listed in ``problems``; the end of day names it and stops.
"""
from __future__ import annotations

import csv
import json
import os
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

from reports.journal.scaled import EXACT, number_problem
from reports.journal.times import epoch_ns, time_problem

COLUMNS = ("time", "strategy", "symbol", "side", "quantity", "price", "fees", "order_id", "trade_id")
REQUIRED = ("time", "strategy", "symbol", "side", "quantity", "price")
MAX_PROBLEMS = 20  # problems kept (the count goes on)
DEFAULT_MAX_BYTES = 4 * 1024 * 1024  # per poll
_ZERO = Decimal(0)
_ROUNDING = Context(prec=1000, Emax=999_999, Emin=-999_999, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class OpeningLot:
    """A lot carried from the previous day's report (reports.pnl.carry.CarriedLot, flattened)."""

    strategy: str
    symbol: str
    long: bool
    quantity: Decimal
    price: Decimal


@dataclass(frozen=True)
class JournalFigures:
    """The day so far, as the daily report's summary would say it."""

    realized_pnl: float  # after fees, rounded half-even to the minor unit (the report's summary)
    realized_pnl_exact: Decimal
    gross_pnl: Decimal
    fees: Decimal
    fills: int  # accepted rows (duplicates and bad rows left out)
    trades: int  # complete round trips
    open_positions: int  # (strategy, symbol) pairs not flat
    duplicates: int  # rows dropped for a repeated trade_id
    problems: int  # rows the report would refuse (skipped here)
    problem_lines: tuple[str, ...]  # the first MAX_PROBLEMS of them, ``file:line field: why``
    bytes_read: int  # offset into the file: what is read so far
    caught_up: bool  # everything written (up to a partial last line) is read
    exists: bool  # the journal file exists

    def to_json(self) -> dict[str, Any]:
        return {
            "realized_pnl": self.realized_pnl, "realized_pnl_exact": str(self.realized_pnl_exact),
            "gross_pnl": str(self.gross_pnl), "fees": str(self.fees), "fills": self.fills, "trades": self.trades,
            "open_positions": self.open_positions, "duplicates": self.duplicates, "problems": self.problems,
            "problem_lines": list(self.problem_lines), "bytes_read": self.bytes_read, "caught_up": self.caught_up,
            "exists": self.exists,
        }


@dataclass
class _Lot:
    qty: Decimal
    price: Decimal


@dataclass
class _Group:
    """One (strategy, symbol): its fills in time order and the FIFO state after them."""

    opening: list[OpeningLot] = field(default_factory=list)
    fills: list[tuple[int, int, bool, Decimal, Decimal]] = field(default_factory=list)  # time, seq, buy, q, p
    lots: deque[_Lot] = field(default_factory=deque)
    position: Decimal = _ZERO  # signed
    gross: Decimal = _ZERO
    trades: int = 0

    def replay(self) -> None:
        """From the opening lots and every fill in time order (after a fill arrived out of order)."""
        self.lots, self.position, self.gross, self.trades = deque(), _ZERO, _ZERO, 0
        for lot in self.opening:
            self.apply(lot.long, lot.quantity, lot.price)
        self.fills.sort(key=lambda f: (f[0], f[1]))
        for _, _, buy, qty, price in self.fills:
            self.apply(buy, qty, price)

    def apply(self, buy: bool, qty: Decimal, price: Decimal) -> None:
        signed = qty if buy else -qty
        if self.position == 0 or (signed > 0) == (self.position > 0):
            self.lots.append(_Lot(qty, price))
            self.position += signed
            return
        long = self.position > 0
        closing = min(qty, abs(self.position))
        left = closing
        while left > 0:
            lot = self.lots[0]
            take = min(left, lot.qty)
            self.gross += (price - lot.price) * take if long else (lot.price - price) * take
            lot.qty -= take
            left -= take
            if lot.qty == 0:
                self.lots.popleft()
        self.position += closing if not long else -closing
        if self.position == 0:
            self.trades += 1
        rest = qty - closing
        if rest > 0:  # through zero: the rest opens the other side
            self.lots.append(_Lot(rest, price))
            self.position = rest if buy else -rest


class IncrementalJournal:
    """Read a growing journal (``.csv`` or ``.jsonl``) and keep the day's figures up to date.

    ``opening``: lots carried from the previous report. ``money_places``: the report currency's
    minor unit (2 for INR and USD). Not thread-safe: one reader per thread.
    """

    def __init__(self, path: str | os.PathLike[str], *, money_places: int = 2,
                 opening: Iterable[OpeningLot] = (), display_name: str | None = None) -> None:
        self.path = Path(path)
        self.name = display_name or str(path)
        self.money_places = money_places
        self._opening = list(opening)
        self._jsonl = self.path.suffix.lower() in (".jsonl", ".ndjson")
        self._reset()

    def _reset(self) -> None:
        self._offset = 0
        self._identity: tuple[int, int] | None = None
        self._line = 0  # lines consumed
        self._header: list[str] | None = None
        self._groups: dict[tuple[str, str], _Group] = {}
        self._seen_ids: set[str] = set()
        self._fills = 0
        self._fees = _ZERO
        self._duplicates = 0
        self._problems = 0
        self._problem_lines: list[str] = []
        self._last_time: dict[tuple[str, str], tuple[int, int]] = {}
        self._caught_up = False
        self._exists = False
        for lot in self._opening:
            group = self._group(lot.strategy, lot.symbol)
            group.opening.append(lot)
            with localcontext(EXACT):
                group.apply(lot.long, lot.quantity, lot.price)

    def _group(self, strategy: str, symbol: str) -> _Group:
        key = (strategy, symbol)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group()
        return group

    # ------------------------------------------------------------------ reading

    def poll(self, max_bytes: int = DEFAULT_MAX_BYTES) -> JournalFigures:
        """Read at most ``max_bytes`` more of the file; the figures after it."""
        try:
            with open(self.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                identity = (st.st_dev, st.st_ino)
                if self._identity is not None and (identity != self._identity or st.st_size < self._offset):
                    self._reset()  # replaced or truncated: read it again from the start
                self._identity = identity
                self._exists = True
                fh.seek(self._offset)
                chunk = fh.read(max(1, max_bytes))
                while b"\n" not in chunk and self._offset + len(chunk) < st.st_size:
                    # One line longer than a poll may read: read on to its end rather than never progress.
                    more = fh.read(max(1, max_bytes))
                    if not more:
                        break
                    chunk += more
                at_end = self._offset + len(chunk) >= st.st_size
        except FileNotFoundError:
            if self._identity is not None:
                self._reset()
            self._exists, self._caught_up = False, True
            return self.figures()
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a partial last line waits for its newline
        self._consume(complete)
        self._offset += len(complete)
        self._caught_up = at_end  # what is left, if anything, is a line still being written
        return self.figures()

    def poll_all(self, max_bytes: int = DEFAULT_MAX_BYTES) -> JournalFigures:
        """Read up to the end of the file (in ``max_bytes`` steps)."""
        figures = self.poll(max_bytes)
        while not figures.caught_up:
            figures = self.poll(max_bytes)
        return figures

    def _consume(self, data: bytes) -> None:
        if not data:
            return
        if self._offset == 0 and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # the offset still counts it (the caller adds what was read)
        text = data.decode("utf-8", errors="replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        with localcontext(EXACT):
            for raw in lines:
                self._line += 1
                line = raw[:-1] if raw.endswith("\r") else raw
                if not line.strip():
                    continue
                if self._jsonl:
                    self._json_row(line)
                elif self._header is None:
                    self._header = [h.strip() for h in next(csv.reader([line]))]
                    missing = [c for c in REQUIRED if c not in self._header]
                    if missing:
                        self._problem("header", f"missing column {', '.join(missing)}")
                else:
                    self._csv_row(line)

    def _csv_row(self, line: str) -> None:
        header = self._header or []
        try:
            values = next(csv.reader([line]))
        except csv.Error as exc:
            self._problem("", f"not CSV ({exc})")
            return
        if len(values) != len(header):
            self._problem("", f"expected {len(header)} fields, found {len(values)}")
            return
        row = {h: v for h, v in zip(header, values, strict=True) if h in COLUMNS}
        self._row(row)

    def _json_row(self, line: str) -> None:
        try:
            obj = json.loads(line, parse_float=Decimal, parse_int=Decimal)
        except json.JSONDecodeError as exc:
            self._problem("", f"not valid JSON ({exc.msg})")
            return
        if not isinstance(obj, dict):
            self._problem("", "expected a JSON object")
            return
        for col in REQUIRED:
            if obj.get(col) is None:
                self._problem(col, "missing")
                return
        self._row({c: "" if obj.get(c) is None else str(obj[c]) for c in COLUMNS})

    def _row(self, row: dict[str, str]) -> None:
        """One row, checked as reports.journal.validate checks it; applied or listed as a problem."""
        parsed = _parse_row(row)
        if isinstance(parsed, tuple) and len(parsed) == 2:
            self._problem(*parsed)
            return
        time_ns, strategy, symbol, buy, qty, price, fees = parsed
        trade_id = row.get("trade_id", "")
        if trade_id != "":
            if trade_id in self._seen_ids:
                self._duplicates += 1
                return
            self._seen_ids.add(trade_id)
        self._fills += 1
        self._fees += fees
        group = self._group(strategy, symbol)
        key = (strategy, symbol)
        stamp = (time_ns, self._line)
        group.fills.append((time_ns, self._line, buy, qty, price))
        last = self._last_time.get(key)
        self._last_time[key] = max(stamp, last) if last is not None else stamp
        if last is not None and time_ns < last[0]:
            group.replay()  # earlier than a fill already applied: the report sorts by time
        else:
            group.apply(buy, qty, price)

    def _problem(self, column: str, why: str) -> None:
        self._problems += 1
        if len(self._problem_lines) < MAX_PROBLEMS:
            self._problem_lines.append(f"{self.name}:{self._line}{' ' + column if column else ''}: {why}")

    # ------------------------------------------------------------------ figures

    def figures(self) -> JournalFigures:
        with localcontext(EXACT):
            gross = sum((g.gross for g in self._groups.values()), _ZERO)
            realized = gross - self._fees
        # The one rounding (the report's): half to even at the minor unit; exact otherwise.
        rounded = realized.quantize(Decimal(1).scaleb(-self.money_places), context=_ROUNDING)
        minor = int(rounded.scaleb(self.money_places, context=_ROUNDING))
        return JournalFigures(
            # int / int, as the report's Money.one: one correctly rounded step to a float.
            realized_pnl=minor / 10 ** self.money_places,
            realized_pnl_exact=realized, gross_pnl=gross, fees=self._fees, fills=self._fills,
            trades=sum(g.trades for g in self._groups.values()),
            open_positions=sum(1 for g in self._groups.values() if g.position != 0),
            duplicates=self._duplicates, problems=self._problems, problem_lines=tuple(self._problem_lines),
            bytes_read=self._offset, caught_up=self._caught_up, exists=self._exists,
        )


_Parsed = tuple[int, str, str, bool, Decimal, Decimal, Decimal]


def _parse_row(row: dict[str, str]) -> _Parsed | tuple[str, str]:
    """(time_ns, strategy, symbol, is_buy, quantity, price, fees), or (column, why) for a bad row."""
    for name in ("strategy", "symbol"):
        if not row.get(name, "").strip():
            return name, "is empty"
    text = row.get("time", "").strip()
    try:
        t = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return "time", f"{text!r} is not an ISO-8601 time" if text else "is empty"
    if t.tzinfo is None or t.utcoffset() is None:
        return "time", f"{text!r} has no UTC offset"
    problem = time_problem(t)
    if problem is not None:
        return "time", f"{text!r} {problem}"
    side = row.get("side", "").strip().upper()
    if side not in ("BUY", "SELL"):
        return "side", f"{row.get('side', '')!r} must be BUY or SELL"
    numbers: list[Decimal] = []
    for name in ("quantity", "price", "fees"):
        raw = row.get(name, "").strip()
        if not raw:
            if name != "fees":
                return name, "is empty"
            numbers.append(_ZERO)
            continue
        try:
            value = Decimal(raw)
        except InvalidOperation:
            return name, f"{raw!r} is not a number"
        problem = number_problem(value)
        if problem is not None:
            return name, f"{raw!r} {problem}"
        numbers.append(value)
    qty, price, fees = numbers
    if qty <= 0:
        return "quantity", f"{row['quantity']!r} must be > 0"
    if price < 0:
        return "price", f"{row['price']!r} must be >= 0"
    if fees < 0:
        return "fees", f"{row['fees']!r} must be >= 0"
    return epoch_ns(t), row["strategy"], row["symbol"], side == "BUY", qty, price, fees
