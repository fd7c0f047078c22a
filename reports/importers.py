"""Broker exports -> journal fills: Zerodha Console tradebook, IBKR Flex "Trades", Kite trades().

Times without a UTC offset are read in the ``timezone`` given (the exchange's:
Asia/Kolkata for Zerodha; IBKR Flex writes US/Eastern by default, whatever the
exchange). Every number is read as text into :class:`~decimal.Decimal`, so nothing is
lost on the way in. Errors name ``file:line`` and the column, like the journal reader.
"""
from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reports.journal import EXACT, Fill, JournalError, number_problem

IMPORT_FORMATS: tuple[str, ...] = ("kite-tradebook", "ibkr-flex")
DEFAULT_STRATEGY = "imported"

# Zerodha Console > Reports > Tradebook (CSV). Column names as Console writes them; the
# XLSX export titles them ("Trade Date"), which normalises to the same keys.
_KITE_REQUIRED = ("symbol", "trade_type", "quantity", "price", "order_execution_time")

# IBKR Flex Query, Trades section (section code TRNT).
_IB_REQUIRED = ("Symbol", "Quantity", "TradePrice")
_IB_TRADE_ID = ("TradeID", "IBExecID", "TransactionID")
_IB_ORDER_ID = ("IBOrderID", "OrderID")
_IB_CONTROL = {"BOF", "BOA", "BOS", "EOS", "EOA", "EOF"}


@dataclass
class ImportedFills:
    """What an importer read: the fills (time order), warnings, and the currencies seen."""

    fills: list[Fill]
    warnings: list[str] = field(default_factory=list)
    currencies: set[str] = field(default_factory=set)


def import_fills(
    path: str | os.PathLike[str], fmt: str, *, timezone: str | tzinfo, strategy: str = DEFAULT_STRATEGY
) -> ImportedFills:
    """``--fills FILE --fills-format kite-tradebook|ibkr-flex``."""
    if fmt == "kite-tradebook":
        return read_kite_tradebook(path, timezone=timezone, strategy=strategy)
    if fmt == "ibkr-flex":
        return read_ibkr_flex(path, timezone=timezone, strategy=strategy)
    raise JournalError(f"unknown fills format {fmt!r}", hint=f"use one of: {', '.join(IMPORT_FORMATS)}")


def resolve_timezone(tz: str | tzinfo) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise JournalError(f"unknown time zone {tz!r}", hint="use an IANA name such as Asia/Kolkata or America/New_York") from None


# ------------------------------------------------------------------ Zerodha tradebook


def read_kite_tradebook(
    path: str | os.PathLike[str], *, timezone: str | tzinfo = "Asia/Kolkata", strategy: str = DEFAULT_STRATEGY
) -> ImportedFills:
    """Zerodha Console tradebook CSV: ``symbol,isin,trade_date,exchange,segment,series,
    trade_type,auction,quantity,price,trade_id,order_id,order_execution_time``.

    ``trade_type`` is ``buy``/``sell``; ``order_execution_time`` is exchange time
    without an offset (``2026-11-20T09:15:32``). Rows above the header (the XLSX-to-CSV
    preamble with client id and period) are skipped.
    """
    tz = resolve_timezone(timezone)
    name = str(path)
    rows = _read_csv_rows(path)
    header_at = None
    header: list[str] = []
    for lineno, row in rows:
        keys = [_snake(c) for c in row]
        if "symbol" in keys and "trade_type" in keys:
            header_at, header = lineno, keys
            break
    if header_at is None:
        raise JournalError(f"{name}: no tradebook header (symbol, trade_type, quantity, price, ...) found",
                           hint="download the tradebook from Console > Reports > Tradebook as CSV")
    missing = [c for c in _KITE_REQUIRED if c not in header]
    if missing:
        raise JournalError(f"{name}:{header_at}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                           hint="download the tradebook from Console > Reports > Tradebook as CSV")
    fills: list[Fill] = []
    for lineno, row in rows:
        if lineno <= header_at or not any(c.strip() for c in row):
            continue
        rec = dict(zip(header, (c.strip() for c in row), strict=False))
        where = f"{name}:{lineno}"
        side = rec.get("trade_type", "").upper()
        if side not in ("BUY", "SELL"):
            raise JournalError(f"{where} trade_type: {rec.get('trade_type')!r} must be buy or sell")
        when = _parse_local_time(rec.get("order_execution_time", ""), tz, where, "order_execution_time")
        fills.append(_make_fill(
            where, time_=when, strategy=strategy, symbol=_required(rec, "symbol", where), side=side,
            quantity=_number(rec, "quantity", where), price=_number(rec, "price", where), fees=Decimal(0),
            order_id=rec.get("order_id", ""), trade_id=rec.get("trade_id", ""),
        ))
    fills.sort(key=lambda f: f.time)
    warnings = ["Zerodha tradebooks carry no charges: fees are 0; the day's charges are in Console's P&L statement"] if fills else []
    return ImportedFills(fills=fills, warnings=warnings, currencies={"INR"} if fills else set())


# ------------------------------------------------------------------ IBKR Flex


def read_ibkr_flex(
    path: str | os.PathLike[str], *, timezone: str | tzinfo = "America/New_York", strategy: str = DEFAULT_STRATEGY
) -> ImportedFills:
    """IBKR Flex Query CSV with a Trades section.

    Handles the three CSV layouts Flex produces: a plain header + rows (one header per
    section when several are selected), ``BOF/BOA/BOS ... EOS/EOA/EOF`` header and
    trailer records, and ``HEADER``/``DATA`` rows with section codes (Trades is
    ``TRNT``). ``Quantity`` is negative for sells; ``IBCommission`` is negative for a
    charge. With ``LevelOfDetail`` present only ``EXECUTION`` rows are fills. Contract
    multipliers other than 1 (options, futures) are folded into the quantity, so that
    quantity x price stays the money that changed hands.
    """
    tz = resolve_timezone(timezone)
    name = str(path)
    fills: list[Fill] = []
    warnings: list[str] = []
    currencies: set[str] = set()
    skipped_levels: dict[str, int] = {}
    rebate_total = Decimal(0)
    saw_trades_header = False
    for lineno, rec in _ibkr_trade_records(_read_csv_rows(path)):
        saw_trades_header = True
        if rec is None:
            continue
        where = f"{name}:{lineno}"
        level = rec.get("LevelOfDetail", "").strip().upper()
        if level and level != "EXECUTION":
            skipped_levels[level] = skipped_levels.get(level, 0) + 1
            continue
        if "(CA.)" in rec.get("Buy/Sell", "").upper():
            raise JournalError(f"{where} Buy/Sell: {rec['Buy/Sell']!r} is a cancelled trade",
                               hint="set 'Include Canceled Trades?' to No in the Flex Query")
        qty_signed = _number(rec, "Quantity", where, allow_negative=True)
        if qty_signed == 0:
            continue  # IBKR writes zero-quantity adjustment rows; they move nothing
        side_text = rec.get("Buy/Sell", "").strip().upper()
        side = "BUY" if qty_signed > 0 else "SELL"
        if side_text and side_text not in ("BUY", "SELL"):
            raise JournalError(f"{where} Buy/Sell: {rec['Buy/Sell']!r} must be BUY or SELL")
        if side_text and side_text != side:
            raise JournalError(f"{where} Quantity: {rec['Quantity']!r} disagrees with Buy/Sell {side_text}",
                               hint="IBKR writes sells with a negative quantity; the export looks edited")
        quantity = qty_signed.copy_abs()  # exact (abs() rounds to the context's 28 digits)
        multiplier_text = rec.get("Multiplier", "").strip()
        if multiplier_text:
            multiplier = _number(rec, "Multiplier", where)
            if multiplier != 1:
                quantity = EXACT.multiply(quantity, multiplier)
        commission = _number(rec, "IBCommission", where, allow_negative=True) if rec.get("IBCommission", "").strip() else Decimal(0)
        fees = commission.copy_negate()
        if fees < 0:
            # A rebate. The journal has no negative fees: leave it out and say so.
            rebate_total = EXACT.subtract(rebate_total, fees)
            fees = Decimal(0)
        when = _ibkr_time(rec, tz, where)
        currency = rec.get("CurrencyPrimary", "").strip()
        if currency:
            currencies.add(currency)
        fills.append(_make_fill(
            where, time_=when, strategy=strategy, symbol=_required(rec, "Symbol", where), side=side,
            quantity=quantity, price=_number(rec, "TradePrice", where), fees=fees,
            order_id=_first(rec, _IB_ORDER_ID), trade_id=_first(rec, _IB_TRADE_ID),
        ))
    if not saw_trades_header:
        raise JournalError(f"{name}: no Trades section (columns Symbol, Quantity, TradePrice, DateTime) found",
                           hint="add the Trades section to the Flex Query and export it as CSV")
    for level, count in sorted(skipped_levels.items()):
        warnings.append(f"{name}: skipped {count} {level} row{'s' if count > 1 else ''} (only EXECUTION rows are fills)")
    if rebate_total:
        warnings.append(f"{name}: commission rebates of {rebate_total} left out (journal fees cannot be negative)")
    if len(currencies) > 1:
        warnings.append(f"{name}: several currencies ({', '.join(sorted(currencies))}); one report sums one currency")
    fills.sort(key=lambda f: f.time)
    return ImportedFills(fills=fills, warnings=warnings, currencies=currencies)


def _ibkr_trade_records(rows: list[tuple[int, list[str]]]) -> Iterator[tuple[int, dict[str, str] | None]]:
    """(line, record) for each data row under a Trades header; (line, None) marks a header.

    Section-aware: a header is taken for Trades when it has the Trades columns, or when
    it follows ``BOS,TRNT`` / is ``HEADER,TRNT``. Rows of other sections are ignored.
    """
    header: list[str] | None = None
    for lineno, row in rows:
        if not row or not any(c.strip() for c in row):
            continue
        tag = row[0].strip().upper()
        if tag in _IB_CONTROL:
            header = None  # a new section (or the end of one): its header comes next
            continue
        if tag == "HEADER" and len(row) > 2:
            cols = [c.strip() for c in row[2:]]
            header = cols if row[1].strip().upper() == "TRNT" or _looks_like_trades(cols) else None
            if header is not None:
                yield lineno, None
            continue
        if tag == "DATA" and len(row) > 2:
            if header is not None and row[1].strip().upper() in ("TRNT", ""):
                yield lineno, dict(zip(header, (c.strip() for c in row[2:]), strict=False))
            continue
        cols = [c.strip() for c in row]
        if _looks_like_trades(cols):
            header = cols
            yield lineno, None
            continue
        if "ClientAccountID" in cols or "CurrencyPrimary" in cols or "Symbol" in cols:
            header = None  # another section's header (cash, positions, ...)
            continue
        if header is not None and len(row) != len(header):
            header = None  # a header of some other section (it has another shape)
            continue
        if header is not None:
            yield lineno, dict(zip(header, (c.strip() for c in row), strict=False))


def _looks_like_trades(cols: Sequence[str]) -> bool:
    return all(c in cols for c in _IB_REQUIRED) and ("DateTime" in cols or "TradeDate" in cols)


_IB_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")
_IB_TIME = re.compile(r"^(\d{2}):?(\d{2}):?(\d{2})$")


def _ibkr_time(rec: Mapping[str, str], tz: tzinfo, where: str) -> datetime:
    text = rec.get("DateTime", "").strip()
    column = "DateTime"
    if not text:
        trade_date, trade_time = rec.get("TradeDate", "").strip(), rec.get("TradeTime", "").strip()
        if not (trade_date and trade_time):
            raise JournalError(f"{where} DateTime: missing (a fill needs its execution time)",
                               hint="add Date/Time to the Trades section of the Flex Query")
        text, column = f"{trade_date};{trade_time}", "TradeDate/TradeTime"
    parts = [p for p in re.split(r"[;,T ]+", text) if p]
    if len(parts) == 2:
        d, t = _IB_DATE.match(parts[0]), _IB_TIME.match(parts[1])
        if d and t:
            try:
                return datetime.combine(date(int(d[1]), int(d[2]), int(d[3])),
                                        time(int(t[1]), int(t[2]), int(t[3]))).replace(tzinfo=tz)
            except ValueError:
                pass
    raise JournalError(f"{where} {column}: {text!r} is not a date and time tradeday reads",
                       hint="set the Flex Query's Date Format to yyyyMMdd or yyyy-MM-dd and Time Format to HHmmss or HH:mm:ss")


# ------------------------------------------------------------------ Kite API trades()


def kite_trades_to_journal(
    trades: Iterable[Mapping[str, Any]], tz: str | tzinfo = "Asia/Kolkata", *, strategy: str = DEFAULT_STRATEGY
) -> list[Fill]:
    """The list ``KiteConnect.trades()`` returns -> fills.

    Fields used: ``trade_id``, ``order_id``, ``tradingsymbol``, ``transaction_type``,
    ``quantity``, ``average_price``, and ``fill_timestamp`` (else ``exchange_timestamp``,
    else ``order_timestamp``). kiteconnect turns those timestamps into naive datetimes
    in exchange time; raw API JSON has ``"2026-11-20 09:15:32"`` strings: both work.
    """
    zone = resolve_timezone(tz)
    fills = []
    for i, trade in enumerate(trades):
        where = f"kite trades[{i}]"
        side = str(trade.get("transaction_type", "")).upper()
        if side not in ("BUY", "SELL"):
            raise JournalError(f"{where} transaction_type: {trade.get('transaction_type')!r} must be BUY or SELL")
        stamp = next((trade[k] for k in ("fill_timestamp", "exchange_timestamp", "order_timestamp") if trade.get(k)), None)
        if stamp is None:
            raise JournalError(f"{where} fill_timestamp: missing", hint="the trade has no timestamp to place it in the day")
        when = stamp if isinstance(stamp, datetime) else _parse_local_time(str(stamp), zone, where, "fill_timestamp")
        if when.tzinfo is None:
            when = when.replace(tzinfo=zone)
        fills.append(_make_fill(
            where, time_=when, strategy=strategy, symbol=str(trade.get("tradingsymbol") or "").strip(), side=side,
            quantity=_api_number(trade.get("quantity"), f"{where} quantity"),
            price=_api_number(trade.get("average_price"), f"{where} average_price"), fees=Decimal(0),
            order_id=str(trade.get("order_id") or ""), trade_id=str(trade.get("trade_id") or ""),
        ))
    fills.sort(key=lambda f: f.time)
    return fills


# ------------------------------------------------------------------ shared helpers


def _read_csv_rows(path: str | os.PathLike[str]) -> list[tuple[int, list[str]]]:
    p = Path(path)
    if not p.is_file():
        raise JournalError(f"{path}: no such file", hint="check the --fills path")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        # Console's and IBKR's CSVs are UTF-8; an Excel re-save may be Windows-1252.
        text = p.read_text(encoding="cp1252")
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(text.splitlines())
    for row in reader:
        rows.append((reader.line_num, row))
    return rows


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _first(rec: Mapping[str, str], names: Sequence[str]) -> str:
    for n in names:
        value = rec.get(n, "").strip()
        if value:
            return value
    return ""


def _required(rec: Mapping[str, str], column: str, where: str) -> str:
    value = rec.get(column, "").strip()
    if not value:
        raise JournalError(f"{where} {column}: is empty")
    return value


def _number(rec: Mapping[str, str], column: str, where: str, *, allow_negative: bool = False) -> Decimal:
    text = rec.get(column, "").strip().replace(",", "")
    if not text:
        raise JournalError(f"{where} {column}: is empty")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise JournalError(f"{where} {column}: {rec.get(column)!r} is not a number") from None
    if not value.is_finite() or (value < 0 and not allow_negative):
        raise JournalError(f"{where} {column}: {rec.get(column)!r} must be a number >= 0")
    problem = number_problem(value)
    if problem is not None:
        raise JournalError(f"{where} {column}: {problem}")
    return value


def _api_number(value: Any, where: str) -> Decimal:
    # JSON floats arrive as Python floats: str() is their shortest exact decimal form.
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise JournalError(f"{where}: {value!r} is not a number") from None
    if not d.is_finite() or d < 0:
        raise JournalError(f"{where}: {value!r} must be a number >= 0")
    problem = number_problem(d)
    if problem is not None:
        raise JournalError(f"{where}: {problem}")
    return d


def _parse_local_time(text: str, tz: tzinfo, where: str, column: str) -> datetime:
    raw = text.strip()
    if not raw:
        raise JournalError(f"{where} {column}: is empty")
    try:
        t = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    except ValueError:
        raise JournalError(f"{where} {column}: {text!r} is not a date and time",
                           hint="expected e.g. 2026-11-20T09:15:32") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=tz)


def _make_fill(where: str, *, time_: datetime, **fields: Any) -> Fill:
    try:
        return Fill(time=time_, **fields)
    except ValueError as exc:
        raise JournalError(f"{where}: {exc}") from None
