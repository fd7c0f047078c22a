"""Open lots column by column: the carry state from one day to the next.

A :class:`LotBook` holds every lot still open at the end of a day as a few arrays (FIFO
order within each position, positions sorted by strategy and symbol), so the next day
puts them in front of its fills without a Python object per lot, and the report's
``open_positions`` are written from the arrays. :class:`~reports.pnl.carry.OpenPosition`
objects are made only when a caller asks for them (:meth:`LotBook.positions`).

Exactness: every number is an integer count of ``10**-decimals`` units, with the fewest
decimals that hold the book's values exactly (what reading the report's decimal strings
back gives), so a book handed on in memory or through the side file and one read back
from the report open the next day identically.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING, Any

from reports.journal import decimal_to_scaled, format_scaled, scaled_to_decimal, time_from_ns
from reports.journal.times import epoch_ns
from reports.pnl.carry import CarriedLot, OpenPosition
from reports.pnl.decimal_text import JSON_EXACT_INT
from reports.pnl.kernels import INT64_SAFE, int_div_half_even, objects

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True, eq=False)
class LotBook:
    """Open positions and their FIFO lots as arrays.

    Position ``i`` owns lots ``offsets[i]:offsets[i + 1]`` (``offsets`` is ``counts``'
    running sum from 0). ``qty`` is in ``10**-qd`` units (> 0), ``price`` in ``10**-pd``,
    ``fee`` in ``10**-fd`` (the lot's share of its opening fill's fees), ``time_ns`` the
    entry instant (to the microsecond, as the report prints it). Integer arrays are int64,
    or object arrays of Python ints for values past int64.
    """

    strategy: tuple[str, ...]
    symbol: tuple[str, ...]
    is_long: np.ndarray  # bool per position
    counts: np.ndarray  # lots per position (>= 1)
    qty: np.ndarray
    price: np.ndarray
    fee: np.ndarray
    time_ns: np.ndarray
    qd: int
    pd: int
    fd: int
    tz: tzinfo = UTC  # entry times print in this zone
    price_places: int = 4  # avg_price in the document

    def __len__(self) -> int:
        return len(self.strategy)

    @property
    def n_lots(self) -> int:
        return int(self.qty.shape[0])

    @property
    def offsets(self) -> np.ndarray:
        import numpy as np

        return np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(self.counts, dtype=np.int64)])

    @classmethod
    def empty(cls) -> LotBook:
        import numpy as np

        none = np.zeros(0, dtype=np.int64)
        return cls(strategy=(), symbol=(), is_long=np.zeros(0, dtype=bool), counts=none, qty=none, price=none,
                   fee=none, time_ns=none, qd=0, pd=0, fd=0)

    @classmethod
    def from_positions(cls, positions: Sequence[OpenPosition], *, tz: tzinfo = UTC,
                       price_places: int = 4) -> LotBook:
        """A book from :class:`OpenPosition` objects (their order kept)."""
        import numpy as np

        lots = [lot for p in positions for lot in p.lots]
        qty, qd = _scaled([decimal_to_scaled(lot.quantity) for lot in lots])
        price, pd_ = _scaled([decimal_to_scaled(lot.price) for lot in lots])
        fee, fd = _scaled([decimal_to_scaled(lot.fees) for lot in lots])
        return cls(
            strategy=tuple(p.strategy for p in positions), symbol=tuple(p.symbol for p in positions),
            is_long=np.array([p.side == "LONG" for p in positions], dtype=bool),
            counts=np.array([len(p.lots) for p in positions], dtype=np.int64),
            qty=qty, price=price, fee=fee,
            time_ns=np.array([epoch_ns(lot.entry_time) for lot in lots], dtype=np.int64),
            qd=qd, pd=pd_, fd=fd, tz=tz, price_places=price_places,
        )

    def with_display(self, *, tz: tzinfo, price_places: int) -> LotBook:
        return LotBook(strategy=self.strategy, symbol=self.symbol, is_long=self.is_long, counts=self.counts,
                       qty=self.qty, price=self.price, fee=self.fee, time_ns=self.time_ns, qd=self.qd, pd=self.pd,
                       fd=self.fd, tz=tz, price_places=price_places)

    # -- per lot, for the next day's rows

    def lot_strategy(self) -> np.ndarray:
        import numpy as np

        return np.repeat(objects(list(self.strategy)), self.counts)

    def lot_symbol(self) -> np.ndarray:
        import numpy as np

        return np.repeat(objects(list(self.symbol)), self.counts)

    def lot_is_long(self) -> np.ndarray:
        import numpy as np

        return np.repeat(self.is_long, self.counts)

    # -- out

    def positions(self) -> list[OpenPosition]:
        """The book as OpenPosition objects with exact Decimal lots (one object per lot)."""
        out = []
        bounds = self.offsets.tolist()
        qty, price, fee, times = self.qty.tolist(), self.price.tolist(), self.fee.tolist(), self.time_ns.tolist()
        for i in range(len(self)):
            lo, hi = bounds[i], bounds[i + 1]
            lots = tuple(
                CarriedLot(quantity=scaled_to_decimal(qty[k], self.qd), price=scaled_to_decimal(price[k], self.pd),
                           entry_time=time_from_ns(times[k], self.tz), fees=scaled_to_decimal(fee[k], self.fd))
                for k in range(lo, hi)
            )
            out.append(OpenPosition(strategy=self.strategy[i], symbol=self.symbol[i],
                                    side="LONG" if self.is_long[i] else "SHORT", lots=lots))
        return out

    def to_json(self) -> list[dict[str, Any]]:
        """The report's ``open_positions``: what ``[p.to_dict() for p in self.positions()]`` gives."""
        from reports.pnl.isotimes import iso_times_each

        if len(self) == 0:
            return []
        bounds = self.offsets.tolist()
        lot_rows = [
            {"quantity": q, "price": p, "entry_time": t, "fees": f}
            for q, p, t, f in zip(_texts(self.qty, self.qd), _texts(self.price, self.pd),
                                  iso_times_each(self.time_ns, self.tz), _texts(self.fee, self.fd), strict=True)
        ]
        quantities, averages = self._quantities_and_averages(bounds)
        sides = ["LONG" if v else "SHORT" for v in self.is_long.tolist()]
        return [
            {"strategy": strategy, "symbol": symbol, "side": side, "quantity": quantity, "avg_price": average,
             "lots": lot_rows[lo:hi]}
            for strategy, symbol, side, quantity, average, lo, hi in zip(
                self.strategy, self.symbol, sides, quantities, averages, bounds[:-1], bounds[1:], strict=True)
        ]

    def _quantities_and_averages(self, bounds: list[int]) -> tuple[list[int | float], list[float]]:
        """Per position: its quantity as a JSON number and its exact average price, rounded half-even."""
        import numpy as np

        starts = np.asarray(bounds[:-1], dtype=np.int64)
        wide = self.qty.dtype == object or self.price.dtype == object or not _fits(self.qty, self.price)
        q = self.qty.astype(object) if wide else self.qty
        cost = q * (self.price.astype(object) if wide else self.price)
        unit = 10 ** self.qd
        places, pd_ = self.price_places, self.pd
        if not wide:
            fast = _vector_quantities_and_averages(np.add.reduceat(q, starts), np.add.reduceat(cost, starts),
                                                   unit, places, pd_)
            if fast is not None:
                return fast
        total_q = np.add.reduceat(q, starts).tolist()
        total_cost = np.add.reduceat(cost, starts).tolist()
        quantities: list[int | float] = []
        averages: list[float] = []
        for tq, tc in zip(total_q, total_cost, strict=True):
            tq, tc = int(tq), int(tc)
            if tq % unit == 0 and abs(tq // unit) < JSON_EXACT_INT:
                quantities.append(tq // unit)
            else:
                quantities.append(tq / unit)  # int / int: correctly rounded, as float(Decimal) is
            # avg = tc / tq in 10**-pd units; to `places` decimals, half to even.
            num, den = (tc * 10 ** (places - pd_), tq) if places >= pd_ else (tc, tq * 10 ** (pd_ - places))
            averages.append(int_div_half_even(num, den) / 10 ** places)
        return quantities, averages


def _vector_quantities_and_averages(total_q: np.ndarray, total_cost: np.ndarray, unit: int, places: int,
                                    pd_: int) -> tuple[list[int | float], list[float]] | None:
    """:meth:`LotBook._quantities_and_averages` in int64 and float64, or None when a value could
    leave the range where that is exact: every integer below 2**53 (a float holds it exactly,
    and then one IEEE division is the correctly rounded quotient Python's ``int / int`` gives),
    every product below int64's."""
    import numpy as np

    from reports.pnl.kernels import div_half_even

    scale_num, scale_den = 10 ** max(places - pd_, 0), 10 ** max(pd_ - places, 0)
    if (len(total_q) == 0 or unit > JSON_EXACT_INT or 10 ** places > JSON_EXACT_INT
            or float(np.abs(total_q).max()) * scale_den >= JSON_EXACT_INT
            or float(np.abs(total_cost).max()) * scale_num >= INT64_SAFE):
        return None
    rounded = div_half_even(total_cost * scale_num, total_q * scale_den)
    if float(np.abs(rounded).max()) >= JSON_EXACT_INT:
        return None
    averages: list[float] = (rounded / float(10 ** places)).tolist()
    whole = total_q // unit
    exact = total_q % unit == 0
    if bool(exact.all()):
        return whole.tolist(), averages
    as_float = (total_q / float(unit)).tolist()
    quantities: list[int | float] = [w if e else f for w, e, f in zip(whole.tolist(), exact.tolist(), as_float,
                                                                     strict=True)]
    return quantities, averages


def trimmed(values: np.ndarray, decimals: int) -> tuple[np.ndarray, int]:
    """``values`` (10**-decimals) with the fewest decimals that hold them exactly."""
    import numpy as np

    if decimals == 0 or len(values) == 0:
        return values, 0 if len(values) == 0 else decimals
    drop = 0
    while drop < decimals and bool((values % (10 ** (drop + 1)) == 0).all()):
        drop += 1
    if drop == 0:
        return values, decimals
    out = values // (10 ** drop)
    if out.dtype == object and all(abs(v) < INT64_SAFE for v in out.tolist()):
        out = np.array(out.tolist(), dtype=np.int64)
    return out, decimals - drop


def _scaled(parts: list[tuple[int, int]]) -> tuple[np.ndarray, int]:
    """(mantissa, decimals) pairs at one scale: int64, or Python ints past it."""
    import numpy as np

    decimals = max((d for _, d in parts), default=0)
    values = [m * 10 ** (decimals - d) for m, d in parts]
    if all(abs(v) < INT64_SAFE for v in values):
        return np.array(values, dtype=np.int64), decimals
    return objects(values), decimals


def _fits(qty: np.ndarray, price: np.ndarray) -> bool:
    """True when every per-position sum of quantity * price stays inside int64."""
    import numpy as np

    if len(qty) == 0:
        return True
    bound = float(np.abs(qty).astype(np.float64).sum()) * float(np.abs(price).astype(np.float64).max())
    return bound * 4 < INT64_SAFE


def _texts(values: np.ndarray, decimals: int) -> list[str]:
    """Plain decimal text of each value (trailing zeros trimmed), each distinct value formatted once."""
    import numpy as np

    if values.dtype == object or len(values) < 64:
        return [format_scaled(v, decimals) for v in values.tolist()]
    unique, inverse = np.unique(values, return_inverse=True)
    if decimals == 0:
        texts = objects(list(map(repr, unique.tolist())))  # an int's repr is its str, made faster
    elif decimals <= _TABLE_DECIMALS and int(unique[0]) >= 0:  # sorted: all >= 0
        # The whole part's digits and the fraction's text from a table, concatenated in numpy's
        # object loop: one repr per value instead of a format() and an rstrip().
        whole, frac = np.divmod(unique, 10 ** decimals)
        texts = objects(list(map(repr, whole.tolist()))) + _fraction_texts(decimals)[frac]
    elif 0 < decimals <= 18 and int(unique[0]) >= 0:  # format_scaled's text, steps inlined
        frac_format = f"0{decimals}d"
        texts = objects([f"{w}.{format(f, frac_format).rstrip('0')}" if f else str(w)
                         for w, f in zip((unique // 10 ** decimals).tolist(), (unique % 10 ** decimals).tolist(),
                                         strict=True)])
    else:
        texts = objects([format_scaled(v, decimals) for v in unique.tolist()])
    result: list[str] = texts[inverse.reshape(-1)].tolist()
    return result


# Fractions of up to 3 decimals (prices in cents or ticks, fees in paise) come from a table of
# at most 1,000 texts, made once.
_TABLE_DECIMALS = 3


@functools.cache
def _fraction_texts(decimals: int) -> np.ndarray:
    """``f / 10**decimals``'s text after the whole part, per ``f``: ``""`` for 0, ``".05"``, ``".5"``..."""
    return objects([f".{f:0{decimals}d}".rstrip("0") if f else "" for f in range(10 ** decimals)])


def book_columns(book: LotBook) -> dict[str, Any]:
    """The book as JSON-ready columns (exact: integers, as digit strings past int64)."""
    def ints(values: np.ndarray) -> list[Any]:
        return [str(v) for v in values.tolist()] if values.dtype == object else values.tolist()

    return {
        "strategy": list(book.strategy), "symbol": list(book.symbol), "long": book.is_long.tolist(),
        "lots": book.counts.tolist(), "qd": book.qd, "pd": book.pd, "fd": book.fd,
        "quantity": ints(book.qty), "price": ints(book.price), "fees": ints(book.fee),
        "entry_ns": book.time_ns.tolist(),
    }


def book_from_columns(data: Any) -> LotBook | None:
    """:func:`book_columns` read back; None when anything is missing or out of range."""
    import numpy as np

    try:
        strategy, symbol = [str(s) for s in data["strategy"]], [str(s) for s in data["symbol"]]
        is_long = np.array(data["long"], dtype=bool)
        counts = np.array(data["lots"], dtype=np.int64)
        qd, pd_, fd = (int(data[k]) for k in ("qd", "pd", "fd"))
        qty, price, fee = (_int_column(data[k]) for k in ("quantity", "price", "fees"))
        time_ns = np.array(data["entry_ns"], dtype=np.int64)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    n, m = len(strategy), int(counts.sum()) if len(counts) else 0
    if not (len(symbol) == len(is_long) == len(counts) == n and len(qty) == len(price) == len(fee)
            == len(time_ns) == m and (counts >= 1).all() and 0 <= qd <= 80 and 0 <= pd_ <= 80 and 0 <= fd <= 80):
        return None
    if m and not (bool((qty > 0).all()) and bool((price >= 0).all()) and bool((fee >= 0).all())):
        return None
    return LotBook(strategy=tuple(strategy), symbol=tuple(symbol), is_long=is_long, counts=counts, qty=qty,
                   price=price, fee=fee, time_ns=time_ns, qd=qd, pd=pd_, fd=fd)


def _int_column(values: list[Any]) -> np.ndarray:
    import numpy as np

    if all(type(v) is int for v in values):
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            pass
    if not all(type(v) is int or (type(v) is str and v.isdigit()) for v in values):
        raise ValueError("not integers")
    return objects([int(v) for v in values])
