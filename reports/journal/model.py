"""The journal's data: the format's columns, :class:`Fill`, :class:`FillTable`, :class:`LoadedJournal`."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EodError
from reports.journal.scaled import number_problem, object_array, scaled_column, scaled_to_decimal
from reports.journal.times import common_tz, epoch_ns, time_from_ns, time_problem

if TYPE_CHECKING:  # numpy is imported lazily: the CLI must start fast.
    import numpy as np


JOURNAL_COLUMNS: tuple[str, ...] = (
    "time", "strategy", "symbol", "side", "quantity", "price", "fees", "order_id", "trade_id",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("time", "strategy", "symbol", "side", "quantity", "price")
SIDES: tuple[str, str] = ("BUY", "SELL")


class JournalError(EodError):
    """The fills journal (or a broker export) is missing, unreadable or invalid."""


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution, as a person or an importer sees it."""

    time: datetime
    strategy: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    fees: Decimal = Decimal(0)
    order_id: str = ""
    trade_id: str = ""

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError(f"fill time {self.time.isoformat()} has no UTC offset")
        problem = time_problem(self.time)
        if problem is not None:
            raise ValueError(f"fill time {self.time.isoformat()} {problem}")
        if self.side not in SIDES:
            raise ValueError(f"side {self.side!r} must be BUY or SELL")
        for name in ("quantity", "price", "fees"):
            if not isinstance(getattr(self, name), Decimal):
                object.__setattr__(self, name, Decimal(str(getattr(self, name))))
            problem = number_problem(getattr(self, name))
            if problem is not None:
                raise ValueError(f"{name} {getattr(self, name)} {problem}")
        if self.quantity <= 0:
            raise ValueError(f"quantity {self.quantity} must be > 0")
        if self.price < 0:
            raise ValueError(f"price {self.price} must be >= 0")
        if self.fees < 0:
            raise ValueError(f"fees {self.fees} must be >= 0")


@dataclass(frozen=True, eq=False)
class FillTable:
    """Fills column by column, numbers as exact scaled integers.

    ``quantity[i] * 10**-quantity_decimals`` is the quantity of fill ``i`` (likewise
    price and fees). Integer arrays are int64, or object arrays of Python ints when a
    value would not fit. ``strategy``/``symbol`` are object arrays of str; ``order_id``/
    ``trade_id`` are object arrays of str or numpy bytes arrays (read them with
    :func:`text_of`). ``line`` is the source line (0 when the fill did not come from
    a file). ``tz`` is the journal's common UTC offset (UTC when offsets differ), used
    to print times the way the journal wrote them.
    """

    time_ns: np.ndarray
    strategy: np.ndarray
    symbol: np.ndarray
    is_buy: np.ndarray
    quantity: np.ndarray
    quantity_decimals: int
    price: np.ndarray
    price_decimals: int
    fees: np.ndarray
    fee_decimals: int
    order_id: np.ndarray
    trade_id: np.ndarray
    line: np.ndarray
    source: str = ""
    tz: tzinfo = UTC
    # Optional: the strategy/symbol columns as codes into name lists (the fast reader
    # has them already; compute_day then skips factorizing a million strings).
    strategy_codes: np.ndarray | None = None
    strategy_names: tuple[str, ...] | None = None
    symbol_codes: np.ndarray | None = None
    symbol_names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return int(self.time_ns.shape[0])

    @classmethod
    def empty(cls, *, source: str = "", tz: tzinfo = UTC) -> FillTable:
        return cls.from_fills([], source=source, tz=tz)

    @classmethod
    def from_fills(cls, fills: Iterable[Fill], *, source: str = "", tz: tzinfo | None = None) -> FillTable:
        import numpy as np

        rows = list(fills)
        qty, qd = scaled_column([f.quantity for f in rows])
        price, pd_ = scaled_column([f.price for f in rows])
        fees, fd = scaled_column([f.fees for f in rows])
        if tz is None:
            tz = common_tz({_utc_offset(f) for f in rows})
        return cls(
            time_ns=np.array([epoch_ns(f.time) for f in rows], dtype=np.int64),
            strategy=object_array([f.strategy for f in rows]),
            symbol=object_array([f.symbol for f in rows]),
            is_buy=np.array([f.side == "BUY" for f in rows], dtype=bool),
            quantity=qty, quantity_decimals=qd,
            price=price, price_decimals=pd_,
            fees=fees, fee_decimals=fd,
            order_id=object_array([f.order_id for f in rows]),
            trade_id=object_array([f.trade_id for f in rows]),
            line=np.zeros(len(rows), dtype=np.int64),
            source=source,
            tz=tz,
        )

    def take(self, index: np.ndarray) -> FillTable:
        """The rows at ``index`` (an integer or boolean numpy array), in that order."""
        return FillTable(
            time_ns=self.time_ns[index], strategy=self.strategy[index], symbol=self.symbol[index],
            is_buy=self.is_buy[index], quantity=self.quantity[index],
            quantity_decimals=self.quantity_decimals, price=self.price[index],
            price_decimals=self.price_decimals, fees=self.fees[index], fee_decimals=self.fee_decimals,
            order_id=self.order_id[index], trade_id=self.trade_id[index], line=self.line[index],
            source=self.source, tz=self.tz,
            strategy_codes=None if self.strategy_codes is None else self.strategy_codes[index],
            strategy_names=self.strategy_names,
            symbol_codes=None if self.symbol_codes is None else self.symbol_codes[index],
            symbol_names=self.symbol_names,
        )

    def to_fills(self) -> list[Fill]:
        """Back to :class:`Fill` objects (fine for a day's fills; avoid for millions)."""
        out = []
        for i in range(len(self)):
            out.append(Fill(
                time=time_from_ns(int(self.time_ns[i]), self.tz),
                strategy=str(self.strategy[i]), symbol=str(self.symbol[i]),
                side="BUY" if self.is_buy[i] else "SELL",
                quantity=scaled_to_decimal(int(self.quantity[i]), self.quantity_decimals),
                price=scaled_to_decimal(int(self.price[i]), self.price_decimals),
                fees=scaled_to_decimal(int(self.fees[i]), self.fee_decimals),
                order_id=text_of(self.order_id[i]), trade_id=text_of(self.trade_id[i]),
            ))
        return out


@dataclass
class LoadedJournal:
    """A journal read from disk: its fills (sorted by time) and what was dropped."""

    path: Path
    fills: FillTable
    warnings: list[str] = field(default_factory=list)


def _utc_offset(fill: Fill) -> timedelta:
    offset = fill.time.utcoffset()
    if offset is None:  # Fill.__post_init__ refuses such times; this narrows the type
        raise ValueError(f"fill time {fill.time.isoformat()} has no UTC offset")
    return offset


def text_of(value: Any) -> str:
    """A FillTable text cell as str (id columns from the fast reader hold ASCII bytes)."""
    return value.decode("ascii") if isinstance(value, bytes) else str(value)
