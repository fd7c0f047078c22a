"""Carry-over: positions still open at the end of a day, and opening the next day with them."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from core.errors import EodError
from reports.journal import EXACT, MAX_DECIMALS, number_problem
from reports.pnl.decimal_text import number, parse_decimal, plain

_DAMAGED = "the previous report is damaged; rerun it or pass --no-carry"


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
            "quantity": plain(self.quantity),
            "price": plain(self.price),
            "entry_time": self.entry_time.isoformat(),
            "fees": plain(self.fees),
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
        with localcontext(EXACT):
            return sum((lot.quantity for lot in self.lots), Decimal(0))

    @property
    def average_price(self) -> Fraction:
        """Exact quantity-weighted average entry price."""
        qty = Fraction(self.quantity)
        return sum((Fraction(lot.quantity) * Fraction(lot.price) for lot in self.lots), Fraction(0)) / qty if qty else Fraction(0)

    def to_dict(self, *, price_places: int = 4) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "symbol": self.symbol,
            "side": self.side,
            "quantity": number(self.quantity),
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
            raise EodError(f"{where}: missing field {exc}", hint=_DAMAGED) from None
        if side not in ("LONG", "SHORT"):
            raise EodError(f"{where} side: {side!r} must be LONG or SHORT", hint=_DAMAGED)
        lots = [_lot_from_dict(lot, f"{where}.lots[{k}]") for k, lot in enumerate(raw_lots)]
        if not lots:
            raise EodError(f"{where}: an open position without lots", hint=_DAMAGED)
        return cls(strategy=strategy, symbol=symbol, side=side, lots=tuple(lots))


def _lot_from_dict(lot: Any, here: str) -> CarriedLot:
    """One lot of :meth:`OpenPosition.from_dict`; ``here`` names it in messages."""
    try:
        qty = parse_decimal(lot["quantity"], f"{here}.quantity")
        price = parse_decimal(lot["price"], f"{here}.price")
        fees = parse_decimal(lot.get("fees", "0"), f"{here}.fees")
        entry = datetime.fromisoformat(str(lot["entry_time"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise EodError(f"{here}: {exc}", hint=_DAMAGED) from None
    # A lot's fees are at the day's finest scale: up to twice the journal's decimals.
    for name, value, places in (("quantity", qty, MAX_DECIMALS), ("price", price, MAX_DECIMALS),
                                ("fees", fees, 2 * MAX_DECIMALS)):
        problem = number_problem(value, max_decimals=places)
        if problem is not None:
            raise EodError(f"{here}.{name}: {problem}", hint=_DAMAGED)
    if qty <= 0 or price < 0 or fees < 0 or entry.tzinfo is None:
        raise EodError(f"{here}: quantity must be > 0, price and fees >= 0, entry_time with a UTC offset",
                       hint=_DAMAGED)
    return CarriedLot(quantity=qty, price=price, entry_time=entry, fees=fees)


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
