"""Decimal values as report text and JSON numbers, and read back from them."""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from reports.journal import decimal_to_scaled, format_scaled


def plain(value: Decimal) -> str:
    """Plain decimal text (no exponent, trailing zeros trimmed)."""
    m, d = decimal_to_scaled(value)
    return format_scaled(m, d)


# Whole numbers up to 2**53 are JSON integers; beyond that a float (JSON readers, and orjson,
# do not take integers past 64 bits): the exact value is in the lots' strings.
JSON_EXACT_INT = 2 ** 53


def number(value: Decimal) -> int | float:
    """A JSON number: an int when the value is whole (and not huge), else a float."""
    if value == value.to_integral_value(rounding=ROUND_FLOOR) and abs(value) < JSON_EXACT_INT:
        return int(value)
    return float(value)


def parse_decimal(value: Any, where: str) -> Decimal:
    """A finite Decimal from report text; ValueError naming ``where`` otherwise."""
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if not d.is_finite():
        raise ValueError(f"{where}: {value!r} is not a finite number")
    return d
