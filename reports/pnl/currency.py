"""Which currency a market reports in, and how many decimals its minor unit has."""
from __future__ import annotations

from core.errors import EodError

MARKET_CURRENCY: dict[str, str] = {
    "XNSE": "INR", "NSE": "INR", "BSE": "INR", "XBOM": "INR", "NFO": "INR", "MCX": "INR",
    "XNYS": "USD", "NYSE": "USD", "NASDAQ": "USD", "XNAS": "USD", "CBOE": "USD", "CME": "USD",
}
# ISO 4217 minor units that are not 2.
_MINOR_UNITS: dict[str, int] = {
    "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "HUF": 2,
    "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
}


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
