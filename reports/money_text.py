"""Amounts as report text, fast: what ``reports.render.format_money`` prints, without a Decimal
where none is needed (a report prints a few hundred amounts, each ~2 us through a Decimal)."""
from __future__ import annotations

import functools


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
    if not 0 <= places <= 15 or not abs(value) < 10.0 ** (15 - places):  # also NaN
        return None
    shortest = repr(value)
    point = shortest.find(".")
    if point < 0 or "e" in shortest or len(shortest) - point - 1 > places:
        return None
    return f"{abs(value):,.{places}f}"
