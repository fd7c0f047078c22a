"""Bad values found while validating: the earliest becomes the error, with a hint per field."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reports.journal.model import JournalError

if TYPE_CHECKING:  # numpy is imported lazily: the CLI must start fast.
    import numpy as np


@dataclass
class Problems:
    """The bad rows found so far; the earliest (by line) becomes the error."""

    source: str
    found: list[tuple[int, str, str]] = field(default_factory=list)
    count: int = 0

    def add(self, lines: np.ndarray, mask: np.ndarray, field_name: str, describe: Callable[[int], str]) -> None:
        import numpy as np

        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return
        self.count += int(idx.size)
        first = int(idx[np.argmin(lines[idx])])
        self.found.append((int(lines[first]), field_name, describe(first)))

    def add_one(self, line: int, field_name: str, message: str) -> None:
        self.count += 1
        self.found.append((line, field_name, message))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        line, field_name, message = min(self.found, key=lambda t: t[0])
        more = f" (and {self.count - 1} more bad value{'s' if self.count > 2 else ''})" if self.count > 1 else ""
        raise JournalError(f"{self.source}:{line} {field_name}: {message}{more}", hint=_HINTS.get(field_name))


_HINTS = {
    "time": "write ISO-8601 with a UTC offset, e.g. 2026-11-20T09:15:02+05:30",
    "side": "use BUY or SELL",
    "quantity": "quantities are positive numbers; the side says the direction",
    "price": "prices are plain numbers >= 0, like 718.25",
    "fees": "fees are plain numbers >= 0 (leave empty for none)",
    "strategy": "every fill needs the strategy that traded it",
    "symbol": "every fill needs its symbol",
}
