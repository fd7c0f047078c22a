"""Reconciliation: the journal's fills against the broker's."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from reports.journal import EXACT, Fill, FillTable, format_scaled
from reports.pnl.decimal_text import plain

_OrderKey = tuple[str, str, str]  # order_id, symbol, side


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


@dataclass
class _Matching:
    """Reconciliation in progress: what matched so far and what is left on each side."""

    journal_left: list[Fill]
    broker_left: list[Fill]
    matched: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)


def reconcile(journal_fills: FillTable | Sequence[Fill], broker_fills: FillTable | Sequence[Fill]) -> Reconciliation:
    """Match journal fills with the broker's, by trade_id, else by order_id + symbol + side.

    Fills sharing an order_id (no trade_id on one side) are compared as one order: total
    quantity and the exact volume-weighted price, since a broker may split an order into
    several fills that an engine journals as one (or the other way round).
    """
    journal = journal_fills.to_fills() if isinstance(journal_fills, FillTable) else list(journal_fills)
    broker = broker_fills.to_fills() if isinstance(broker_fills, FillTable) else list(broker_fills)
    state = _match_trade_ids(journal, broker)
    missing_in_journal, missing_in_broker = _match_orders(state)
    missing_in_broker.sort(key=lambda f: f.time)
    missing_in_journal.sort(key=lambda f: f.time)
    return Reconciliation(matched=state.matched, missing_in_journal=missing_in_journal,
                          missing_in_broker=missing_in_broker, mismatches=state.mismatches)


def _match_trade_ids(journal: list[Fill], broker: list[Fill]) -> _Matching:
    """Pair fills with the same trade_id (each broker fill once) and compare them field by field."""
    state = _Matching(journal_left=[], broker_left=[])
    broker_by_tid: dict[str, list[int]] = {}
    for i, f in enumerate(broker):
        if f.trade_id:
            broker_by_tid.setdefault(f.trade_id, []).append(i)
    used_broker: set[int] = set()
    for f in journal:
        candidates = [i for i in broker_by_tid.get(f.trade_id, []) if i not in used_broker] if f.trade_id else []
        if not candidates:
            state.journal_left.append(f)
            continue
        i = candidates[0]
        used_broker.add(i)
        state.matched += 1
        b = broker[i]
        key = f"trade_id {f.trade_id}"
        for name in ("symbol", "side", "quantity", "price"):
            jv, bv = getattr(f, name), getattr(b, name)
            if jv != bv:
                state.mismatches.append(Mismatch(key, name, plain(jv) if isinstance(jv, Decimal) else str(jv),
                                                 plain(bv) if isinstance(bv, Decimal) else str(bv)))
    state.broker_left = [b for i, b in enumerate(broker) if i not in used_broker]
    return state


def _match_orders(state: _Matching) -> tuple[list[Fill], list[Fill]]:
    """Compare what is left as whole orders; returns (missing_in_journal, missing_in_broker)."""
    j_orders, j_loose = _by_order(state.journal_left)
    b_orders, b_loose = _by_order(state.broker_left)
    missing_in_broker = list(j_loose)
    missing_in_journal = list(b_loose)
    for order_key, j_group in j_orders.items():
        b_group = b_orders.pop(order_key, None)
        if b_group is None:
            missing_in_broker.extend(j_group)
            continue
        state.matched += 1
        label = f"order_id {order_key[0]} {order_key[1]} {order_key[2]}"
        with localcontext(EXACT):
            jq = sum((f.quantity for f in j_group), Decimal(0))
            bq = sum((f.quantity for f in b_group), Decimal(0))
        if jq != bq:
            state.mismatches.append(Mismatch(label, "quantity", plain(jq), plain(bq)))
        jp = _vwap(j_group)
        bp = _vwap(b_group)
        if jp != bp:
            state.mismatches.append(Mismatch(label, "price", _fraction_text(jp), _fraction_text(bp)))
    for group in b_orders.values():
        missing_in_journal.extend(group)
    return missing_in_journal, missing_in_broker


def _by_order(fills: list[Fill]) -> tuple[dict[_OrderKey, list[Fill]], list[Fill]]:
    """Fills grouped by (order_id, symbol, side), and the fills without an order_id."""
    groups: dict[_OrderKey, list[Fill]] = {}
    loose: list[Fill] = []
    for f in fills:
        if f.order_id:
            groups.setdefault((f.order_id, f.symbol, f.side), []).append(f)
        else:
            loose.append(f)
    return groups, loose


def _vwap(fills: list[Fill]) -> Fraction:
    qty = sum((Fraction(f.quantity) for f in fills), Fraction(0))
    return sum((Fraction(f.quantity) * Fraction(f.price) for f in fills), Fraction(0)) / qty


def _fraction_text(value: Fraction) -> str:
    if value.denominator == 1 or 10 ** 12 % value.denominator == 0:
        return format_scaled(value.numerator * (10 ** 12 // value.denominator), 12)  # exact
    return f"{float(value):.6f}"


def _fill_dict(f: Fill) -> dict[str, Any]:
    return {
        "time": f.time.isoformat(), "strategy": f.strategy, "symbol": f.symbol, "side": f.side,
        "quantity": plain(f.quantity), "price": plain(f.price), "fees": plain(f.fees),
        "order_id": f.order_id, "trade_id": f.trade_id,
    }
