"""The first phase of the day: carried lots and the day's fills as one set of exact arrays.

Quantities, prices and fees are brought to one number of decimals each (the finer of
the journal's and the carried lots'), and every (strategy, symbol) gets a group code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reports.journal import FillTable
from reports.pnl.kernels import factorize, factorize_ints, fits_int64, rescale
from reports.pnl.lots import LotBook

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Scales:
    """How many decimals each kind of integer below has."""

    qd: int  # quantities are in 10**-qd units
    pd: int  # prices, 10**-pd
    notional_places: int  # quantity * price, 10**-(qd+pd)
    scale: int  # S: every money integer (fees, PnL) is in 10**-S units
    price_places: int  # average prices in the document: two digits finer than the inputs
    money_places: int  # the currency's minor unit


@dataclass(frozen=True)
class Rows:
    """Carried lots (first ``n_carry`` rows) then the day's fills, as exact arrays."""

    scales: Scales
    n_carry: int
    n: int  # the day's fills
    qty: np.ndarray
    price: np.ndarray
    fee: np.ndarray
    is_buy: np.ndarray
    time_ns: np.ndarray
    strategy: np.ndarray
    symbol: np.ndarray
    is_carry: np.ndarray


@dataclass(frozen=True)
class Groups:
    """Strategy and symbol codes per row, and the (strategy, symbol) group of each row."""

    strat_codes: np.ndarray
    strat_names: list[str]
    sym_codes: np.ndarray
    sym_names: list[str]
    group: np.ndarray  # per row: index into group_strategy/group_symbol
    group_strategy: np.ndarray
    group_symbol: np.ndarray


def scales_for(table: FillTable, carry: LotBook, money_places: int) -> Scales:
    qd = max(table.quantity_decimals, carry.qd)
    pd_ = max(table.price_decimals, carry.pd)
    fd = max(table.fee_decimals, carry.fd)
    notional_places = qd + pd_
    return Scales(
        qd=qd, pd=pd_, notional_places=notional_places, scale=max(notional_places, fd),
        price_places=max(pd_, money_places) + 2, money_places=money_places,
    )


def normalise(table: FillTable, carry: LotBook, money_places: int) -> Rows:
    """Carried lots in front of the day's fills, every number at the common scale."""
    import numpy as np

    scales = scales_for(table, carry, money_places)
    qd, pd_, scale = scales.qd, scales.pd, scales.scale
    n_carry = carry.n_lots
    n = len(table)
    qty = rescale(table.quantity, qd - table.quantity_decimals)
    price = rescale(table.price, pd_ - table.price_decimals)
    fee = rescale(table.fees, scale - table.fee_decimals)
    if n_carry:
        qty = _join(rescale(carry.qty, qd - carry.qd), qty)
        price = _join(rescale(carry.price, pd_ - carry.pd), price)
        fee = _join(rescale(carry.fee, scale - carry.fd), fee)
        is_buy = np.concatenate([carry.lot_is_long(), table.is_buy])
        time_ns = np.concatenate([carry.time_ns.astype(np.int64), table.time_ns])
        strategy = np.concatenate([carry.lot_strategy(), table.strategy.astype(object)])
        symbol = np.concatenate([carry.lot_symbol(), table.symbol.astype(object)])
    else:
        is_buy, time_ns, strategy, symbol = table.is_buy, table.time_ns, table.strategy, table.symbol
    is_carry = np.zeros(n_carry + n, dtype=bool)
    is_carry[:n_carry] = True

    if not fits_int64(qty, price, fee, scale - scales.notional_places):
        qty, price, fee = (a.astype(object) for a in (qty, price, fee))
    return Rows(scales=scales, n_carry=n_carry, n=n, qty=qty, price=price, fee=fee, is_buy=is_buy,
                time_ns=time_ns, strategy=strategy, symbol=symbol, is_carry=is_carry)


def _join(carried: np.ndarray, today: np.ndarray) -> np.ndarray:
    """Carried values in front of today's, exactly (Python ints when either side needs them)."""
    import numpy as np

    if carried.dtype == object or today.dtype == object:
        out = np.empty(len(carried) + len(today), dtype=object)
        out[: len(carried)] = carried.tolist()
        out[len(carried):] = today.tolist()
        return out
    return np.concatenate([carried, today])


def group_codes(table: FillTable, rows: Rows) -> Groups:
    """Codes for strategies, symbols and (strategy, symbol) pairs, in order of appearance."""
    import numpy as np

    if rows.n_carry == 0 and table.strategy_codes is not None and table.symbol_codes is not None:
        strat_codes, strat_names = table.strategy_codes, list(table.strategy_names or ())
        sym_codes, sym_names = table.symbol_codes, list(table.symbol_names or ())
    else:
        strat_codes, strat_names = factorize(rows.strategy)
        sym_codes, sym_names = factorize(rows.symbol)
    width = max(len(sym_names), 1)
    pair = strat_codes.astype(np.int64) * width + sym_codes
    group, group_keys = factorize_ints(pair)
    return Groups(
        strat_codes=strat_codes, strat_names=strat_names, sym_codes=sym_codes, sym_names=sym_names,
        group=group,
        group_strategy=(group_keys // width).astype(np.int64),
        group_symbol=(group_keys % width).astype(np.int64),
    )
