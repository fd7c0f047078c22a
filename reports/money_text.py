"""Amounts and figures as report text: the ``money``, ``signed``, ``percent`` and ``number``
filters of the report templates (re-exported by reports.render), and the fast path of amounts:
no Decimal where none is needed (a report prints a few hundred amounts, each ~2 us through a
Decimal)."""
from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any


@functools.lru_cache(maxsize=64)
def minor_unit_of(currency: str) -> int:
    """``reports.pnl.minor_unit``, looked up once per currency (not an import per amount)."""
    from reports.pnl import minor_unit

    return minor_unit(currency)


def float_amount_text(value: float, places: int) -> str | None:
    """``f"{abs(Decimal(str(value))):,.{places}f}"`` when ``value`` has no more decimals than are
    printed, else None (the caller makes the Decimal).

    Then the float printed to ``places`` decimals is that text: its shortest repr is the
    Decimal's digits, and below ``10 ** (15 - places)`` the float is within half a unit of the
    last printed place of them (a double has 15 good digits), so no rounding differs.
    """
    if type(places) is not int or not 0 <= places <= 15 or not abs(value) < _BELOW[places]:  # also NaN
        return None
    shortest = repr(value)
    point = shortest.find(".")
    if point < 0 or "e" in shortest or len(shortest) - point - 1 > places:
        return None
    return format(abs(value), _GROUPED[places])


# Per number of places (0..15): the bound of float_amount_text, and the format of the amount.
_BELOW = tuple(10.0 ** (15 - places) for places in range(16))
_GROUPED = tuple(f",.{places}f" for places in range(16))


def format_money(value: Any, currency: str = "", *, signed: bool = False, places: int | None = None) -> str:
    """``1234.5`` -> ``1,234.50 INR``; signed: ``+1,234.50 INR`` / ``-87.20 USD``; None -> ``—``.

    Decimal places: the currency's minor unit (2 for INR/USD, 0 for JPY) unless given.
    """
    if value is None:
        return "—"
    places = places if places is not None else (minor_unit_of(currency) if currency else 2)
    text = float_amount_text(value, places) if type(value) is float else None  # most amounts: no Decimal
    if text is not None:
        sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
        return f"{sign}{text} {currency}" if currency else sign + text
    d = Decimal(str(value))
    text = f"{abs(d):,.{places}f}"
    sign = "-" if d < 0 else ("+" if signed and d > 0 else "")
    return f"{sign}{text}{f' {currency}' if currency else ''}"


def format_percent(value: Any, places: int = 1) -> str:
    """A 0..1 fraction as a percentage: ``0.625`` -> ``62.5%``; None -> ``—``."""
    if value is None:
        return "—"
    return f"{Decimal(str(value)) * 100:.{places}f}%"


def format_number(value: Any, places: int | None = None) -> str:
    if value is None:
        return "—"
    if places is None:
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    return f"{value:,.{places}f}"
