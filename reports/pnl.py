"""The trading day in numbers: round trips, PnL, open positions, reconciliation.

Pure functions over a :class:`~reports.journal.FillTable` (or a list of
:class:`~reports.journal.Fill`); nothing here reads or writes files.

Exactness: quantities, prices and fees stay integers scaled by a power of ten (see
reports.journal) through every step -- FIFO matching, the pro-rata fee split of a fill
that flips a position through zero, every sum. Money leaves this module as a float
only in the JSON-ready dicts, rounded half-to-even to the currency's minor unit (paisa,
cent); the exact values are on :class:`DayResult.exact`. Rounding happens once, on the
final figure, so a total can differ by one minor unit from the sum of its rounded parts.

Speed: the FIFO is vectorised. Within a (strategy, symbol) every "closing" unit is
matched with the opening unit of the same rank (positions start and end flat within
each cycle, so FIFO order is rank order), so a closing fill's cost is a difference of
the cumulative cost curve of opening units, found with ``searchsorted``. A million fills
take well under a second; numpy is imported lazily.
"""
from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from core.errors import EodError
from reports.journal import (
    Fill,
    FillTable,
    decimal_to_scaled,
    format_scaled,
    format_time,
    scaled_to_decimal,
    time_from_ns,
)

if TYPE_CHECKING:
    import numpy as np

MARKET_CURRENCY: dict[str, str] = {
    "XNSE": "INR", "NSE": "INR", "BSE": "INR", "XBOM": "INR", "NFO": "INR", "MCX": "INR",
    "XNYS": "USD", "NYSE": "USD", "NASDAQ": "USD", "XNAS": "USD", "CBOE": "USD", "CME": "USD",
}
# ISO 4217 minor units that are not 2.
_MINOR_UNITS: dict[str, int] = {
    "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "HUF": 2,
    "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
}
_MAX_FLAGS = 50
_INT64_SAFE = 2 ** 61  # headroom: sums of a few such values still fit in int64


def currency_for_market(market: str) -> str:
    """INR for XNSE/NSE/BSE, USD for XNYS/NYSE/NASDAQ (see MARKET_CURRENCY)."""
    try:
        return MARKET_CURRENCY[market.upper()]
    except KeyError:
        raise EodError(f"no known currency for market {market!r}",
                       hint="set the report currency explicitly (e.g. INR or USD)") from None


def minor_unit(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 for INR and USD)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


# --------------------------------------------------------------------- carry-over


@dataclass(frozen=True)
class CarriedLot:
    """Part of a position opened on an earlier day, FIFO-ordered within its position.

    ``fees`` is the share of the opening fill's fees that belongs to this lot; it was
    already counted in that day's ``realized_pnl``, so later days count it only in the
    PnL of the trade that closes the lot (``fees_carried``), never again in a day total.
    """

    quantity: Decimal
    price: Decimal
    entry_time: datetime
    fees: Decimal = Decimal(0)

    def to_dict(self) -> dict[str, str]:
        # Strings, so the next day reads back exactly what this day computed.
        return {
            "quantity": _plain(self.quantity),
            "price": _plain(self.price),
            "entry_time": self.entry_time.isoformat(),
            "fees": _plain(self.fees),
        }


@dataclass(frozen=True)
class OpenPosition:
    """A position still open at the end of the day, with its FIFO lots."""

    strategy: str
    symbol: str
    side: str  # LONG or SHORT
    lots: tuple[CarriedLot, ...]

    @property
    def quantity(self) -> Decimal:
        return sum((lot.quantity for lot in self.lots), Decimal(0))

    @property
    def average_price(self) -> Fraction:
        """Exact quantity-weighted average entry price."""
        qty = Fraction(self.quantity)
        return sum((Fraction(l.quantity) * Fraction(l.price) for l in self.lots), Fraction(0)) / qty if qty else Fraction(0)

    def to_dict(self, *, price_places: int = 4) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "symbol": self.symbol,
            "side": self.side,
            "quantity": _number(self.quantity),
            "avg_price": float(round(self.average_price, price_places)),
            "lots": [lot.to_dict() for lot in self.lots],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "open_positions") -> OpenPosition:
        """Read back :meth:`to_dict` output; raises EodError naming ``where`` and the field."""
        try:
            strategy = str(data["strategy"])
            symbol = str(data["symbol"])
            side = str(data["side"]).upper()
            raw_lots = data["lots"]
        except (KeyError, TypeError) as exc:
            raise EodError(f"{where}: missing field {exc}", hint="the previous report is damaged; rerun it or pass --no-carry") from None
        if side not in ("LONG", "SHORT"):
            raise EodError(f"{where} side: {side!r} must be LONG or SHORT", hint="the previous report is damaged; rerun it or pass --no-carry")
        lots = []
        for k, lot in enumerate(raw_lots):
            here = f"{where}.lots[{k}]"
            try:
                qty = _decimal(lot["quantity"], f"{here}.quantity")
                price = _decimal(lot["price"], f"{here}.price")
                fees = _decimal(lot.get("fees", "0"), f"{here}.fees")
                entry = datetime.fromisoformat(str(lot["entry_time"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise EodError(f"{here}: {exc}", hint="the previous report is damaged; rerun it or pass --no-carry") from None
            if qty <= 0 or price < 0 or fees < 0 or entry.tzinfo is None:
                raise EodError(f"{here}: quantity must be > 0, price and fees >= 0, entry_time with a UTC offset",
                               hint="the previous report is damaged; rerun it or pass --no-carry")
            lots.append(CarriedLot(quantity=qty, price=price, entry_time=entry, fees=fees))
        if not lots:
            raise EodError(f"{where}: an open position without lots", hint="the previous report is damaged; rerun it or pass --no-carry")
        return cls(strategy=strategy, symbol=symbol, side=side, lots=tuple(lots))


def opening_positions_from_report(
    previous_report: Mapping[str, Any] | None, *, carry: bool = True, source: str = "previous report"
) -> list[OpenPosition]:
    """The previous day's ``open_positions``, to open today's computation with.

    ``carry=False`` (or no previous report) gives none: every position starts flat.
    """
    if not carry or not previous_report:
        return []
    items = previous_report.get("open_positions") or []
    return [OpenPosition.from_dict(item, where=f"{source} open_positions[{i}]") for i, item in enumerate(items)]


# --------------------------------------------------------------------- results


@dataclass
class ExactTotals:
    """The day's figures before rounding, for callers that need them exact."""

    realized_pnl: Decimal
    gross_pnl: Decimal
    fees: Decimal
    turnover: Decimal
    trade_pnls: list[Decimal]  # in the order of ``trades``; left empty above 100,000 trades
    fill_realized: list[Decimal] | None = None  # gross realized per fill, time order; None above 100,000 fills


@dataclass
class DayResult:
    """Everything :func:`compute_day` found, JSON-ready except ``open_positions``."""

    currency: str
    summary: dict[str, Any]
    strategies: list[dict[str, Any]]
    symbols: list[dict[str, Any]]
    trades: list[dict[str, Any]]
    open_positions: list[OpenPosition]
    flags: list[dict[str, Any]]
    equity_curve: dict[str, Any]
    exact: ExactTotals
    warnings: list[str] = field(default_factory=list)
    price_places: int = 4

    def open_positions_json(self) -> list[dict[str, Any]]:
        return [p.to_dict(price_places=self.price_places) for p in self.open_positions]


# --------------------------------------------------------------------- the day


def compute_day(
    fills: FillTable | Sequence[Fill],
    *,
    currency: str | None = None,
    market: str | None = None,
    opening_positions: Sequence[OpenPosition] = (),
    session_open: datetime | None = None,
    session_close: datetime | None = None,
    tz: tzinfo | None = None,
    curve_points: int = 1000,
) -> DayResult:
    """Round trips, PnL, open positions, flags and the equity curve of one day.

    ``fills`` in time order (a FillTable from read_journal is). ``currency`` wins over
    ``market``; one of them is needed. ``opening_positions`` come from the previous
    report (:func:`opening_positions_from_report`). Fills before ``session_open`` or
    after ``session_close`` are flagged. Times print in ``tz`` (default: the journal's
    own UTC offset).
    """
    import numpy as np

    table = fills if isinstance(fills, FillTable) else FillTable.from_fills(list(fills))
    if currency is None:
        if market is None:
            raise EodError("the report currency is unknown", hint="give the market (e.g. XNSE) or the currency")
        currency = currency_for_market(market)
    currency = currency.upper()
    money_places = minor_unit(currency)
    tz = tz or table.tz
    carry = _carried_rows(opening_positions)

    qd = max(table.quantity_decimals, carry.qd)
    pd_ = max(table.price_decimals, carry.pd)
    fd = max(table.fee_decimals, carry.fd)
    notional_places = qd + pd_
    scale = max(notional_places, fd)  # S: every money integer below is in 10**-S units
    price_places = max(pd_, money_places) + 2  # averages: two digits finer than the inputs

    n_carry = len(carry.strategy)
    n = len(table)
    qty = _join(carry.quantity, qd, _rescale(table.quantity, qd - table.quantity_decimals))
    price = _join(carry.price, pd_, _rescale(table.price, pd_ - table.price_decimals))
    fee = _join(carry.fees, scale, _rescale(table.fees, scale - table.fee_decimals))
    if n_carry:
        is_buy = np.concatenate([np.array(carry.is_long, dtype=bool), table.is_buy])
        time_ns = np.concatenate([np.array(carry.time_ns, dtype=np.int64), table.time_ns])
        strategy = np.concatenate([_objects(carry.strategy), table.strategy.astype(object)])
        symbol = np.concatenate([_objects(carry.symbol), table.symbol.astype(object)])
    else:
        is_buy, time_ns, strategy, symbol = table.is_buy, table.time_ns, table.strategy, table.symbol
    is_carry = np.zeros(n_carry + n, dtype=bool)
    is_carry[:n_carry] = True

    if not _fits_int64(qty, price, fee, scale - notional_places):
        qty, price, fee = (a.astype(object) for a in (qty, price, fee))

    if n_carry == 0 and table.strategy_codes is not None and table.symbol_codes is not None:
        strat_codes, strat_names = table.strategy_codes, list(table.strategy_names or ())
        sym_codes, sym_names = table.symbol_codes, list(table.symbol_names or ())
    else:
        strat_codes, strat_names = _factorize(strategy)
        sym_codes, sym_names = _factorize(symbol)
    pair = strat_codes.astype(np.int64) * max(len(sym_names), 1) + sym_codes
    group, group_keys = _factorize_ints(pair)
    group_strategy = (group_keys // max(len(sym_names), 1)).astype(np.int64)
    group_symbol = (group_keys % max(len(sym_names), 1)).astype(np.int64)

    signed = np.where(is_buy, qty, -qty)
    m = n_carry + n
    order = _stable_order(group)
    g_s = group[order]
    sq = signed[order]
    price_s = price[order]
    fee_s = fee[order]
    carry_s = is_carry[order]
    time_s = time_ns[order]

    group_start = _segment_starts(g_s)
    pos_after = _segmented_cumsum(sq, group_start)
    pos_before = pos_after - sq

    # A fill that takes a position through zero is two rows: the closing part and the
    # opening part, with its quantity and fees split pro rata (half-even to 10**-S; the
    # two parts always add up to the fill).
    flip = ((pos_before > 0) & (pos_after < 0)) | ((pos_before < 0) & (pos_after > 0))
    reps = 1 + flip.astype(np.int64)
    src = np.repeat(np.arange(m), reps)
    second = np.zeros(len(src), dtype=bool)
    second[np.cumsum(reps)[flip] - 1] = True
    first_of_flip = np.zeros(len(src), dtype=bool)
    first_of_flip[(np.cumsum(reps) - reps)[flip]] = True

    e_sq = sq[src].copy()
    e_pb = pos_before[src].copy()
    e_sq[first_of_flip] = -pos_before[flip]
    e_sq[second] = pos_after[flip]
    e_pb[second] = 0
    e_pa = e_pb + e_sq
    e_fee = fee_s[src].copy()
    if flip.any():
        total = np.abs(sq[flip])
        closing_share = _div_half_even(fee_s[flip] * np.abs(pos_before[flip]), total)
        e_fee[first_of_flip] = closing_share
        e_fee[second] = fee_s[flip] - closing_share
    e_price = price_s[src]
    e_group = g_s[src]
    e_carry = carry_s[src]
    e_time = time_s[src]
    e_abs = np.abs(e_sq)
    opening = (e_pb == 0) | ((e_sq > 0) == (e_pb > 0))
    e_notional = e_abs * e_price  # 10**-(qd+pd)

    # FIFO by rank: the cumulative cost curve of opening units, per group laid end to end.
    open_qty = np.where(opening, e_abs, 0)
    close_qty = np.where(opening, 0, e_abs)
    cum_open_all = np.cumsum(open_qty)
    cum_close_all = np.cumsum(close_qty)
    e_start = _segment_starts(e_group)
    start_of_row = np.maximum.accumulate(np.where(e_start, np.arange(len(src)), 0))
    open_before_group = cum_open_all[start_of_row] - open_qty[start_of_row]
    close_before_group = cum_close_all[start_of_row] - close_qty[start_of_row]
    closed_before_row = cum_close_all - close_qty - close_before_group

    A = cum_open_all[opening]
    V = np.cumsum(e_notional[opening])
    open_price = e_price[opening]
    gross_nat = np.zeros(len(src), dtype=e_notional.dtype)
    closing = ~opening
    if closing.any():
        x0 = open_before_group[closing] + closed_before_row[closing]
        x1 = x0 + e_abs[closing]
        matched = _cost_at(A, V, open_price, x1) - _cost_at(A, V, open_price, x0)
        proceeds = e_notional[closing]
        gross_nat[closing] = np.where(e_pb[closing] > 0, proceeds - matched, matched - proceeds)
    gross = gross_nat * (10 ** (scale - notional_places))  # 10**-S

    # Round trips: a cycle starts where the position is flat and ends where it is flat again.
    cycle_start = e_pb == 0
    starts = np.flatnonzero(cycle_start)
    ends = np.r_[starts[1:] - 1, len(src) - 1] if len(starts) else starts
    complete = e_pa[ends] == 0 if len(starts) else np.zeros(0, dtype=bool)
    fill_in_trade = ~e_carry  # a flipping fill counts in both trades it touches

    def per_cycle(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, starts) if len(starts) else values[:0]

    c_gross = per_cycle(gross)
    c_fee_today = per_cycle(np.where(e_carry, 0, e_fee))
    c_fee_carried = per_cycle(np.where(e_carry, e_fee, 0))
    c_open_qty = per_cycle(open_qty)
    c_open_cost = per_cycle(np.where(opening, e_notional, 0))
    c_close_qty = per_cycle(close_qty)
    c_close_value = per_cycle(np.where(opening, 0, e_notional))
    c_fills = per_cycle(fill_in_trade.astype(np.int64))

    t_idx = np.flatnonzero(complete)
    # Trades in the order they closed (a fill closes at most one trade, so no ties).
    t_idx = t_idx[np.argsort(order[src[ends[t_idx]]], kind="stable")]
    t_start = starts[t_idx]
    t_end = ends[t_idx]
    t_pnl = c_gross[t_idx] - c_fee_today[t_idx] - c_fee_carried[t_idx]
    t_fees = c_fee_today[t_idx] + c_fee_carried[t_idx]
    t_group = e_group[t_start]
    t_long = e_sq[t_start] > 0
    t_entry = e_time[t_start]
    t_exit = e_time[t_end]

    # Gross realized per fill (both parts of a flip), back in journal order.
    first_copy = np.cumsum(reps) - reps
    fill_gross_sorted = np.add.reduceat(gross, first_copy) if m else gross[:0]
    fill_gross = np.empty(m, dtype=gross.dtype)
    fill_gross[order] = fill_gross_sorted
    day_fill_gross = fill_gross[n_carry:]
    day_fee = fee[n_carry:]
    day_notional = qty[n_carry:] * price[n_carry:]  # 10**-(qd+pd)
    day_delta = day_fill_gross - day_fee  # the realized-PnL curve moves by this at each fill

    # Open positions: opening rows with units left after the group's last closing unit.
    open_positions = _open_positions(
        opening=opening, e_abs=e_abs, e_group=e_group, e_price=e_price, e_fee=e_fee, e_time=e_time,
        e_sq=e_sq, cum_open_all=cum_open_all, open_before_group=open_before_group,
        close_before_group=close_before_group, cum_close_all=cum_close_all, e_start=e_start,
        cycle_start=cycle_start,
        group_strategy=group_strategy, group_symbol=group_symbol, strat_names=strat_names,
        sym_names=sym_names, qd=qd, pd_=pd_, scale=scale, tz=tz,
    )

    # ---- figures
    money = _Money(scale, money_places)
    day_strat = strat_codes[n_carry:]
    day_sym = sym_codes[n_carry:]
    t_strat = group_strategy[t_group]
    t_sym = group_symbol[t_group]
    trade_times = _iso_times(np.concatenate([t_entry, t_exit]), tz) if len(t_idx) else []
    n_trades = len(t_idx)
    entry_iso, exit_iso = trade_times[:n_trades], trade_times[n_trades:]

    trade_info = _TradeInfo(pnl=t_pnl, strategy=t_strat, symbol=t_sym, entry_iso=entry_iso,
                            exit_iso=exit_iso, strat_names=strat_names, sym_names=sym_names)
    everything = np.zeros(n, dtype=np.int64)
    overall = _figures_by(money, trade_info, np.zeros(n_trades, dtype=np.int64), everything, ["day"],
                          day_fill_gross, day_fee, day_delta, day_notional, notional_places)
    overall = overall[0] if overall else _empty_figures(money)
    overall.pop("name", None)
    strategies = _figures_by(money, trade_info, t_strat, day_strat, strat_names, day_fill_gross,
                             day_fee, day_delta, day_notional, notional_places)
    symbols = _figures_by(money, trade_info, t_sym, day_sym, sym_names, day_fill_gross,
                          day_fee, day_delta, day_notional, notional_places)

    avg_factor = 10 ** (price_places - pd_)  # cost / quantity is in 10**-pd units
    with _gc_paused():  # 10**5 small dicts: the cyclic GC would rescan them again and again
        trades = _trade_rows(
            money, trade_info, t_long=t_long, t_qty=c_open_qty[t_idx], qd=qd,
            avg_entry=_div_half_even(c_open_cost[t_idx] * avg_factor, c_open_qty[t_idx]) if n_trades else c_open_cost[:0],
            avg_exit=_div_half_even(c_close_value[t_idx] * avg_factor, c_close_qty[t_idx]) if n_trades else c_open_cost[:0],
            price_places=price_places, fees=t_fees, fees_carried=c_fee_carried[t_idx], fills=c_fills[t_idx],
        )

    flags = _session_flags(table, session_open, session_close, tz)
    curve = _equity_curve(money, table.time_ns, day_delta, day_strat, strat_names, tz, curve_points)

    gross_total = _sum(day_fill_gross)
    fees_total = _sum(day_fee)
    exact = ExactTotals(
        realized_pnl=scaled_to_decimal(gross_total - fees_total, scale),
        gross_pnl=scaled_to_decimal(gross_total, scale),
        fees=scaled_to_decimal(fees_total, scale),
        turnover=scaled_to_decimal(_sum(day_notional), notional_places),
        trade_pnls=[scaled_to_decimal(int(v), scale) for v in t_pnl.tolist()] if n_trades <= 100_000 else [],
        fill_realized=[scaled_to_decimal(int(v), scale) for v in day_fill_gross.tolist()] if n <= 100_000 else None,
    )
    overall["open_positions"] = len(open_positions)
    overall["fills_outside_session"] = sum(f.get("count", 1) for f in flags if f["kind"] == "outside_session")
    return DayResult(
        currency=currency, summary=overall, strategies=strategies, symbols=symbols, trades=trades,
        open_positions=open_positions, flags=flags, equity_curve=curve, exact=exact,
        price_places=price_places,
    )


# --------------------------------------------------------------------- pieces


@dataclass
class _CarryRows:
    strategy: list[str] = field(default_factory=list)
    symbol: list[str] = field(default_factory=list)
    is_long: list[bool] = field(default_factory=list)
    time_ns: list[int] = field(default_factory=list)
    quantity: list[tuple[int, int]] = field(default_factory=list)
    price: list[tuple[int, int]] = field(default_factory=list)
    fees: list[tuple[int, int]] = field(default_factory=list)
    qd: int = 0
    pd: int = 0
    fd: int = 0


def _carried_rows(positions: Iterable[OpenPosition]) -> _CarryRows:
    from reports.journal import _epoch_ns

    rows = _CarryRows()
    for pos in positions:
        for lot in pos.lots:
            rows.strategy.append(pos.strategy)
            rows.symbol.append(pos.symbol)
            rows.is_long.append(pos.side == "LONG")
            rows.time_ns.append(_epoch_ns(lot.entry_time))
            rows.quantity.append(decimal_to_scaled(lot.quantity))
            rows.price.append(decimal_to_scaled(lot.price))
            rows.fees.append(decimal_to_scaled(lot.fees))
    rows.qd = max((d for _, d in rows.quantity), default=0)
    rows.pd = max((d for _, d in rows.price), default=0)
    rows.fd = max((d for _, d in rows.fees), default=0)
    return rows


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _join(carried: list[tuple[int, int]], decimals: int, today: np.ndarray) -> np.ndarray:
    """Carried values (mantissa, decimals) scaled to ``decimals``, in front of ``today``."""
    import numpy as np

    if not carried:
        return today
    values = [m * 10 ** (decimals - d) for m, d in carried]
    if today.dtype == object or any(abs(v) >= _INT64_SAFE for v in values):
        out = np.empty(len(values) + len(today), dtype=object)
        out[: len(values)] = values
        out[len(values):] = today.astype(object)
        return out
    return np.concatenate([np.array(values, dtype=np.int64), today])


def _rescale(values: np.ndarray, extra_places: int) -> np.ndarray:
    if extra_places == 0:
        return values
    factor = 10 ** extra_places
    if values.dtype != object and len(values) and int(abs(values).max()) >= _INT64_SAFE // factor:
        values = values.astype(object)
    return values * factor


def _fits_int64(qty: np.ndarray, price: np.ndarray, fee: np.ndarray, notional_to_money: int) -> bool:
    """True when every product and running sum below stays inside int64."""
    import numpy as np

    if qty.dtype == object or price.dtype == object or fee.dtype == object:
        return False
    if len(qty) == 0:
        return True
    notional = np.abs(qty).astype(np.float64) * np.abs(price).astype(np.float64)
    bound = float(notional.sum()) * 10.0 ** notional_to_money + float(np.abs(fee).astype(np.float64).sum())
    return bound * 4 < _INT64_SAFE and float(np.abs(fee).max()) * float(np.abs(qty).max()) < _INT64_SAFE


def _objects(values: list[str]) -> np.ndarray:
    import numpy as np

    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _factorize(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype("int64"), [str(u) for u in uniques]


def _factorize_ints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    keys, inverse = np.unique(values, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1), keys


def _stable_order(codes: np.ndarray) -> np.ndarray:
    """Stable argsort of small non-negative integer codes.

    Narrow integer types make numpy use radix sort: several times faster on a million rows.
    """
    import numpy as np

    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    top = int(codes.max())
    narrow = np.uint8 if top < 2 ** 8 else np.uint16 if top < 2 ** 16 else None
    return np.argsort(codes.astype(narrow) if narrow else codes, kind="stable")


def _segment_starts(keys: np.ndarray) -> np.ndarray:
    import numpy as np

    starts = np.ones(len(keys), dtype=bool)
    if len(keys) > 1:
        starts[1:] = keys[1:] != keys[:-1]
    return starts


def _segmented_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    import numpy as np

    if len(values) == 0:
        return values.copy()
    total = np.cumsum(values)
    first = np.maximum.accumulate(np.where(starts, np.arange(len(values)), 0))
    return total - (total[first] - values[first])


def _cost_at(A: np.ndarray, V: np.ndarray, price: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Cost of the first ``x`` opening units (A, V: cumulative units and cost per row)."""
    import numpy as np

    k = np.searchsorted(A, x, side="left")
    k = np.minimum(k, len(A) - 1)
    return V[k] - (A[k] - x) * price[k]


def _div_half_even(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Integer ``num / den`` rounded half to even (den > 0), exact for int64 and Python ints."""
    import numpy as np

    q = num // den
    r = num - q * den
    twice = 2 * r
    up = (twice > den) | ((twice == den) & (q % 2 == 1))
    return q + up.astype(np.int64) if q.dtype != object else q + np.where(up, 1, 0)


def _sum(values: np.ndarray) -> int:
    return int(values.sum()) if len(values) else 0


class _Money:
    """Scaled integers (10**-S) -> floats rounded half-even to the minor unit."""

    def __init__(self, scale: int, places: int) -> None:
        self.scale = scale
        self.places = places

    def one(self, value: int) -> float:
        return self.many_ints([int(value)])[0] / 10 ** self.places if self.places else float(self.many_ints([int(value)])[0])

    def many(self, values: np.ndarray) -> list[float]:
        import numpy as np

        ints = self.many_ints(values)
        if self.places == 0:
            return [float(v) for v in ints]
        arr = np.asarray(ints, dtype=object if isinstance(ints, list) else None)
        if arr.dtype == object:
            return [int(v) / 10 ** self.places for v in arr]
        return (arr.astype(np.float64) / 10 ** self.places).tolist()

    def many_ints(self, values: Any) -> Any:
        import numpy as np

        arr = np.asarray(values)
        if arr.dtype != object and arr.dtype.kind not in "iu":
            arr = arr.astype(object)
        diff = self.scale - self.places
        if diff <= 0:
            return arr * 10 ** (-diff)
        den = 10 ** diff
        return _div_half_even(arr, np.full(arr.shape, den, dtype=arr.dtype) if arr.dtype != object else den)

    def ratio(self, num: int, den: int) -> float:
        """``num / den`` (num in 10**-S) as money."""
        return self.one(_int_div_half_even(int(num), int(den)))


def _int_div_half_even(num: int, den: int) -> int:
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


@dataclass
class _TradeInfo:
    pnl: np.ndarray
    strategy: np.ndarray
    symbol: np.ndarray
    entry_iso: list[str]
    exit_iso: list[str]
    strat_names: list[str]
    sym_names: list[str]

    def describe(self, money: _Money, i: int) -> dict[str, Any]:
        return {
            "pnl": money.one(int(self.pnl[i])),
            "strategy": self.strat_names[int(self.strategy[i])],
            "symbol": self.sym_names[int(self.symbol[i])],
            "entry_time": self.entry_iso[i],
            "exit_time": self.exit_iso[i],
        }


def _figures_by(
    money: _Money, trades: _TradeInfo, trade_keys: np.ndarray, fill_keys: np.ndarray, names: list[str],
    fill_gross: np.ndarray, fee: np.ndarray, delta: np.ndarray, notional: np.ndarray, notional_places: int,
) -> list[dict[str, Any]]:
    """The core fields per key (strategy or symbol), sorted by realized PnL, best first.

    Vectorised over groups (sorts and segment reductions), so a thousand symbols cost
    about what one does.
    """
    import numpy as np

    groups = len(names)
    fill_sort = _GroupSort(fill_keys, groups)
    trade_sort = _GroupSort(trade_keys, groups)
    pnl = trades.pnl
    fills = fill_sort.counts
    count = trade_sort.counts
    wins = trade_sort.sum((pnl > 0).astype(np.int64))
    losses = trade_sort.sum((pnl < 0).astype(np.int64))
    gross = fill_sort.sum(fill_gross)
    fees = fill_sort.sum(fee)
    turnover = fill_sort.sum(notional)
    win_sum = trade_sort.sum(np.where(pnl > 0, pnl, 0))
    loss_sum = trade_sort.sum(np.where(pnl < 0, pnl, 0))
    best = trade_sort.extreme(pnl, largest=True)
    worst = trade_sort.extreme(pnl, largest=False)
    drawdown = fill_sort.drawdown(delta)
    turnover_money = _Money(notional_places, money.places)
    out = []
    for g in np.flatnonzero((fills > 0) | (count > 0)).tolist():
        n_trades, n_wins, n_losses = int(count[g]), int(wins[g]), int(losses[g])
        w_sum, l_sum = int(win_sum[g]), int(loss_sum[g])
        out.append({
            "name": names[g],
            "realized_pnl": money.one(int(gross[g]) - int(fees[g])),
            "gross_pnl": money.one(int(gross[g])),
            "fees": money.one(int(fees[g])),
            "fills": int(fills[g]),
            "trades": n_trades,
            "wins": n_wins,
            "losses": n_losses,
            "win_rate": round(n_wins / n_trades, 6) if n_trades else None,
            "biggest_winner": trades.describe(money, int(best[g])) if n_wins else None,
            "biggest_loser": trades.describe(money, int(worst[g])) if n_losses else None,
            "avg_win": money.ratio(w_sum, n_wins) if n_wins else None,
            "avg_loss": money.ratio(l_sum, n_losses) if n_losses else None,
            "profit_factor": round(w_sum / -l_sum, 4) if n_losses else None,
            "max_drawdown": money.one(int(drawdown[g])),
            "turnover": turnover_money.one(int(turnover[g])),
        })
    out.sort(key=lambda e: (-e["realized_pnl"], e["name"]))
    return out


def _empty_figures(money: _Money) -> dict[str, Any]:
    """The core fields of a day without fills."""
    zero = money.one(0)
    return {
        "realized_pnl": zero, "gross_pnl": zero, "fees": zero, "fills": 0, "trades": 0, "wins": 0, "losses": 0,
        "win_rate": None, "biggest_winner": None, "biggest_loser": None, "avg_win": None, "avg_loss": None,
        "profit_factor": None, "max_drawdown": zero, "turnover": zero,
    }


class _GroupSort:
    """Rows ordered by group (stably: time order within a group) for segment reductions."""

    def __init__(self, keys: np.ndarray, groups: int) -> None:
        import numpy as np

        self.groups = groups
        self.counts = np.bincount(keys, minlength=groups) if len(keys) else np.zeros(groups, dtype=np.int64)
        single = groups == 1 or len(keys) == 0
        self.order = np.arange(len(keys)) if single else _stable_order(keys)
        sorted_keys = keys[self.order]
        self.start_mask = _segment_starts(sorted_keys)
        self.starts = np.flatnonzero(self.start_mask)
        self.present = sorted_keys[self.starts]

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Exact per-group sums (int64, or Python ints for object arrays)."""
        import numpy as np

        out = np.zeros(self.groups, dtype=object if values.dtype == object else np.int64)
        if len(self.starts):
            out[self.present] = np.add.reduceat(values[self.order], self.starts)
        return out

    def extreme(self, values: np.ndarray, *, largest: bool) -> np.ndarray:
        """Per group, the row of its largest (smallest) value; the earliest on ties."""
        import numpy as np

        out = np.full(self.groups, -1, dtype=np.int64)
        if len(self.starts) == 0:
            return out
        if len(self.starts) == 1:  # one group: argmax/argmin return the earliest extreme
            out[self.present[0]] = self.order[int(np.argmax(values) if largest else np.argmin(values))]
            return out
        keys = np.repeat(np.arange(len(self.starts)), np.diff(np.r_[self.starts, len(self.order)]))
        ordered = values[self.order]
        by_value = np.argsort(-ordered if largest else ordered, kind="stable")
        within = by_value[_stable_order(keys[by_value])]  # by group, then by value, then by time
        first = np.flatnonzero(_segment_starts(keys[within]))
        out[self.present] = self.order[within[first]]
        return out

    def drawdown(self, delta: np.ndarray) -> np.ndarray:
        """Per group, the largest fall of its cumulative curve from its running peak (>= 0)."""
        import numpy as np

        out = np.zeros(self.groups, dtype=object if delta.dtype == object else np.int64)
        if len(self.starts) == 0:
            return out
        curve = _segmented_cumsum(delta[self.order], self.start_mask)
        peak = _segmented_running_max(curve, self.start_mask)
        if curve.dtype == object:
            fall = np.array([max(p, 0) for p in peak.tolist()], dtype=object) - curve
        else:
            fall = np.maximum(peak, 0) - curve
        out[self.present] = np.maximum.reduceat(fall, self.starts)
        return out


def _segmented_running_max(values: np.ndarray, start_mask: np.ndarray) -> np.ndarray:
    import numpy as np

    if values.dtype != object:
        if bool(start_mask[1:].any()) is False:
            return np.maximum.accumulate(values)  # one segment
        import pandas as pd

        segment = np.cumsum(start_mask)
        return pd.Series(values).groupby(segment).cummax().to_numpy()
    out = np.empty(len(values), dtype=object)
    running = None
    for i, (v, new) in enumerate(zip(values.tolist(), start_mask.tolist())):
        running = v if new or v > running else running
        out[i] = running
    return out


def _trade_rows(
    money: _Money, info: _TradeInfo, *, t_long: np.ndarray, t_qty: np.ndarray, qd: int,
    avg_entry: np.ndarray, avg_exit: np.ndarray, price_places: int, fees: np.ndarray,
    fees_carried: np.ndarray, fills: np.ndarray,
) -> list[dict[str, Any]]:
    strat = [info.strat_names[i] for i in info.strategy.tolist()]
    sym = [info.sym_names[i] for i in info.symbol.tolist()]
    qty = _quantities(t_qty, qd)
    entry_px = _Money(price_places, price_places).many(avg_entry)
    exit_px = _Money(price_places, price_places).many(avg_exit)
    pnl = money.many(info.pnl)
    fee = money.many(fees)
    fee_c = money.many(fees_carried)
    side = ["LONG" if v else "SHORT" for v in t_long.tolist()]
    return [
        {
            "strategy": s, "symbol": y, "side": sd, "quantity": q,
            "entry_time": et, "exit_time": xt, "avg_entry": ae, "avg_exit": ax,
            "pnl": p, "fees": f, "fees_carried": fc, "fills": int(nf),
        }
        for s, y, sd, q, et, xt, ae, ax, p, f, fc, nf in zip(
            strat, sym, side, qty, info.entry_iso, info.exit_iso, entry_px, exit_px, pnl, fee, fee_c,
            fills.tolist(),
        )
    ]


def _quantities(values: np.ndarray, decimals: int) -> list[int | float]:
    if decimals == 0:
        return [int(v) for v in values.tolist()]
    return [float(scaled_to_decimal(int(v), decimals)) for v in values.tolist()]


def _open_positions(
    *, opening: np.ndarray, e_abs: np.ndarray, e_group: np.ndarray, e_price: np.ndarray,
    e_fee: np.ndarray, e_time: np.ndarray, e_sq: np.ndarray, cum_open_all: np.ndarray,
    open_before_group: np.ndarray, close_before_group: np.ndarray, cum_close_all: np.ndarray,
    e_start: np.ndarray, cycle_start: np.ndarray, group_strategy: np.ndarray, group_symbol: np.ndarray,
    strat_names: list[str], sym_names: list[str], qd: int, pd_: int, scale: int, tz: tzinfo,
) -> list[OpenPosition]:
    import numpy as np

    if len(e_abs) == 0:
        return []
    # Per group: units opened and closed in total; what is left is the open position.
    group_ids = np.flatnonzero(e_start)
    group_end = np.r_[group_ids[1:] - 1, len(e_abs) - 1]
    opened = cum_open_all[group_end] - open_before_group[group_ids]
    closed = cum_close_all[group_end] - close_before_group[group_ids]
    still_open = np.flatnonzero(opened != closed)
    positions = []
    for gi in still_open.tolist():
        lo, hi = int(group_ids[gi]), int(group_end[gi]) + 1
        # Only the last cycle (from the last flat point) can hold open lots.
        flat_points = np.flatnonzero(cycle_start[lo:hi])
        lo += int(flat_points[-1]) if len(flat_points) else 0
        rows = np.flatnonzero(opening[lo:hi]) + lo
        # Opening units in rank order; the group's first `closed` units are gone.
        end_rank = cum_open_all[rows] - open_before_group[int(group_ids[gi])]
        start_rank = end_rank - e_abs[rows]
        left = end_rank - np.maximum(start_rank, closed[gi])
        live = left > 0
        rows, left = rows[live], left[live]
        whole = e_abs[rows]
        fee_left = np.where(left == whole, e_fee[rows], _div_half_even(e_fee[rows] * left, whole))
        times = [time_from_ns(t, tz) for t in e_time[rows].tolist()]
        lots = tuple(
            CarriedLot(quantity=scaled_to_decimal(q, qd), price=scaled_to_decimal(p, pd_), entry_time=t,
                       fees=scaled_to_decimal(f, scale))
            for q, p, t, f in zip(left.tolist(), e_price[rows].tolist(), times, fee_left.tolist())
        )
        g = int(e_group[lo])
        positions.append(OpenPosition(
            strategy=strat_names[int(group_strategy[g])], symbol=sym_names[int(group_symbol[g])],
            side="LONG" if e_sq[rows[-1]] > 0 else "SHORT", lots=lots,
        ))
    positions.sort(key=lambda p: (p.strategy, p.symbol))
    return positions


def _iso_times(ns: np.ndarray, tz: tzinfo) -> list[str]:
    """Vectorised ISO-8601 with offset: seconds, or microseconds when any time has them."""
    import numpy as np

    if len(ns) == 0:
        return []
    ns = np.asarray(ns, dtype=np.int64)
    offsets = _utc_offsets_minutes(ns, tz)
    wall_us = ns // 1000 + offsets * 60_000_000
    unit = "us" if bool((wall_us % 1_000_000).any()) else "s"
    text = np.datetime_as_string(wall_us.astype("datetime64[us]"), unit=unit)
    distinct = np.unique(offsets)
    if len(distinct) == 1:
        return np.char.add(text, _offset_text(int(distinct[0]))).tolist()
    suffix = np.array([_offset_text(int(o)) for o in distinct])
    return np.char.add(text, suffix[np.searchsorted(distinct, offsets)]).tolist()


def _utc_offsets_minutes(ns: np.ndarray, tz: tzinfo) -> np.ndarray:
    """The UTC offset (minutes) of ``tz`` at each instant; one lookup per distinct hour."""
    import numpy as np

    from reports.journal import time_from_ns

    fixed = tz.utcoffset(None)
    if fixed is not None:  # datetime.timezone: one offset for all time
        return np.full(len(ns), int(fixed.total_seconds()) // 60, dtype=np.int64)
    hours = ns // 3_600_000_000_000
    unique_hours, inverse = np.unique(hours, return_inverse=True)
    per_hour = np.array([
        int(time_from_ns(int(h) * 3_600_000_000_000, tz).utcoffset().total_seconds()) // 60  # type: ignore[union-attr]
        for h in unique_hours.tolist()
    ], dtype=np.int64)
    return per_hour[inverse.reshape(-1)]


def _offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    h, mnt = divmod(abs(minutes), 60)
    return f"{sign}{h:02d}:{mnt:02d}"


def _session_flags(table: FillTable, session_open: datetime | None, session_close: datetime | None,
                   tz: tzinfo) -> list[dict[str, Any]]:
    import numpy as np

    from reports.journal import _epoch_ns

    if len(table) == 0 or (session_open is None and session_close is None):
        return []
    outside = np.zeros(len(table), dtype=bool)
    if session_open is not None:
        outside |= table.time_ns < _epoch_ns(session_open)
    if session_close is not None:
        outside |= table.time_ns > _epoch_ns(session_close)
    idx = np.flatnonzero(outside)
    flags: list[dict[str, Any]] = []
    window = f"{session_open.astimezone(tz).strftime('%H:%M') if session_open else '…'}-" \
             f"{session_close.astimezone(tz).strftime('%H:%M') if session_close else '…'}"
    for i in idx[:_MAX_FLAGS].tolist():
        where = f"{table.source}:{int(table.line[i])}" if table.line[i] else (table.source or "fill")
        t = format_time(int(table.time_ns[i]), tz)
        flags.append({
            "kind": "outside_session",
            "message": f"{where}: {table.strategy[i]} {'BUY' if table.is_buy[i] else 'SELL'} "
                       f"{table.symbol[i]} at {t} is outside the session {window}",
            "time": t, "strategy": str(table.strategy[i]), "symbol": str(table.symbol[i]),
            "line": int(table.line[i]),
        })
    if idx.size > _MAX_FLAGS:
        flags.append({"kind": "outside_session", "count": int(idx.size - _MAX_FLAGS),
                      "message": f"{idx.size - _MAX_FLAGS} more fills outside the session {window}"})
    return flags


def _equity_curve(
    money: _Money, time_ns: np.ndarray, delta: np.ndarray, strat: np.ndarray, names: list[str],
    tz: tzinfo, max_points: int,
) -> dict[str, Any]:
    """Cumulative realized PnL after each fill, per strategy and in total (thinned for charts).

    Thinning keeps each bucket's lowest and highest point, so peaks and drawdowns stay
    visible however many fills the day had.
    """
    import numpy as np

    def series(rows: np.ndarray) -> list[list[Any]]:
        if len(rows) == 0:
            return []
        cum = np.cumsum(delta[rows])
        keep = _thin(cum, max_points)
        times = _iso_times(time_ns[rows][keep], tz)
        return [[t, v] for t, v in zip(times, money.many(cum[keep]))]

    out: dict[str, Any] = {"total": series(np.arange(len(delta))), "strategies": {}}
    order = _stable_order(strat)
    keys = strat[order]
    for code in np.unique(strat).tolist():
        lo, hi = np.searchsorted(keys, code, "left"), np.searchsorted(keys, code, "right")
        out["strategies"][names[code]] = series(order[lo:hi])
    out["strategies"] = dict(sorted(out["strategies"].items()))
    return out


def _thin(values: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most ~max_points points: each bucket's lowest and highest, plus the ends."""
    import numpy as np

    n = len(values)
    if n <= max_points:
        return np.arange(n)
    size = -(-n // max(1, max_points // 2 - 1))
    buckets = -(-n // size)
    as_float = values.astype(np.float64)
    padded = np.concatenate([as_float, np.full(buckets * size - n, as_float[-1])]).reshape(buckets, size)
    base = np.arange(buckets) * size
    lows = np.minimum(base + padded.argmin(axis=1), n - 1)
    highs = np.minimum(base + padded.argmax(axis=1), n - 1)
    return np.unique(np.concatenate([[0, n - 1], lows, highs]))


# --------------------------------------------------------------------- reconciliation


@dataclass(frozen=True)
class Mismatch:
    """The same execution on both sides, disagreeing on ``field``."""

    key: str
    field: str
    journal: str
    broker: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "field": self.field, "journal": self.journal, "broker": self.broker}


@dataclass
class Reconciliation:
    """The journal against the broker's fills."""

    matched: int
    missing_in_journal: list[Fill]
    missing_in_broker: list[Fill]
    mismatches: list[Mismatch]

    @property
    def ok(self) -> bool:
        return not (self.missing_in_journal or self.missing_in_broker or self.mismatches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "matched": self.matched,
            "missing_in_journal": [_fill_dict(f) for f in self.missing_in_journal],
            "missing_in_broker": [_fill_dict(f) for f in self.missing_in_broker],
            "mismatches": [m.to_dict() for m in self.mismatches],
        }


def reconcile(journal_fills: FillTable | Sequence[Fill], broker_fills: FillTable | Sequence[Fill]) -> Reconciliation:
    """Match journal fills with the broker's, by trade_id, else by order_id + symbol + side.

    Fills sharing an order_id (no trade_id on one side) are compared as one order: total
    quantity and the exact volume-weighted price, since a broker may split an order into
    several fills that an engine journals as one (or the other way round).
    """
    journal = journal_fills.to_fills() if isinstance(journal_fills, FillTable) else list(journal_fills)
    broker = broker_fills.to_fills() if isinstance(broker_fills, FillTable) else list(broker_fills)
    mismatches: list[Mismatch] = []
    matched = 0

    broker_by_tid: dict[str, list[int]] = {}
    for i, f in enumerate(broker):
        if f.trade_id:
            broker_by_tid.setdefault(f.trade_id, []).append(i)
    used_broker: set[int] = set()
    journal_left: list[Fill] = []
    for f in journal:
        candidates = [i for i in broker_by_tid.get(f.trade_id, []) if i not in used_broker] if f.trade_id else []
        if not candidates:
            journal_left.append(f)
            continue
        i = candidates[0]
        used_broker.add(i)
        matched += 1
        b = broker[i]
        key = f"trade_id {f.trade_id}"
        for name in ("symbol", "side", "quantity", "price"):
            jv, bv = getattr(f, name), getattr(b, name)
            if jv != bv:
                mismatches.append(Mismatch(key, name, _plain(jv) if isinstance(jv, Decimal) else str(jv),
                                           _plain(bv) if isinstance(bv, Decimal) else str(bv)))
    broker_left = [b for i, b in enumerate(broker) if i not in used_broker]

    def by_order(fills: list[Fill]) -> tuple[dict[tuple[str, str, str], list[Fill]], list[Fill]]:
        groups: dict[tuple[str, str, str], list[Fill]] = {}
        loose: list[Fill] = []
        for f in fills:
            if f.order_id:
                groups.setdefault((f.order_id, f.symbol, f.side), []).append(f)
            else:
                loose.append(f)
        return groups, loose

    j_orders, j_loose = by_order(journal_left)
    b_orders, b_loose = by_order(broker_left)
    missing_in_broker = list(j_loose)
    missing_in_journal = list(b_loose)
    for key, j_group in j_orders.items():
        b_group = b_orders.pop(key, None)
        if b_group is None:
            missing_in_broker.extend(j_group)
            continue
        matched += 1
        label = f"order_id {key[0]} {key[1]} {key[2]}"
        jq = sum((f.quantity for f in j_group), Decimal(0))
        bq = sum((f.quantity for f in b_group), Decimal(0))
        if jq != bq:
            mismatches.append(Mismatch(label, "quantity", _plain(jq), _plain(bq)))
        jp = _vwap(j_group)
        bp = _vwap(b_group)
        if jp != bp:
            mismatches.append(Mismatch(label, "price", _fraction_text(jp), _fraction_text(bp)))
    for group in b_orders.values():
        missing_in_journal.extend(group)
    missing_in_broker.sort(key=lambda f: f.time)
    missing_in_journal.sort(key=lambda f: f.time)
    return Reconciliation(matched=matched, missing_in_journal=missing_in_journal,
                          missing_in_broker=missing_in_broker, mismatches=mismatches)


def _vwap(fills: list[Fill]) -> Fraction:
    qty = sum((Fraction(f.quantity) for f in fills), Fraction(0))
    return sum((Fraction(f.quantity) * Fraction(f.price) for f in fills), Fraction(0)) / qty


def _fraction_text(value: Fraction) -> str:
    if value.denominator == 1 or 10 ** 12 % value.denominator == 0:
        return _plain(Decimal(value.numerator) / Decimal(value.denominator))
    return f"{float(value):.6f}"


def _fill_dict(f: Fill) -> dict[str, Any]:
    return {
        "time": f.time.isoformat(), "strategy": f.strategy, "symbol": f.symbol, "side": f.side,
        "quantity": _plain(f.quantity), "price": _plain(f.price), "fees": _plain(f.fees),
        "order_id": f.order_id, "trade_id": f.trade_id,
    }


# --------------------------------------------------------------------- small helpers


def _plain(value: Decimal) -> str:
    m, d = decimal_to_scaled(value)
    return format_scaled(m, d)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _decimal(value: Any, where: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if not d.is_finite():
        raise ValueError(f"{where}: {value!r} is not a finite number")
    return d
