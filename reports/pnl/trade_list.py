"""A day's trades as dicts made on demand, for days with very many of them.

1.35M trades (a day of 5M fills) as dicts are ~1.3 GB; the report writes them to JSON in
pieces (reports/report_json.py), so above :data:`LAZY_TRADES` ``DayResult.trades`` is a
:class:`TradeList`: a read-only sequence of the same dicts, made a slice at a time from
the day's arrays. Indexing, slicing, iterating, ``len`` and ``==`` with a list work as on
the list; JSON writers get the list from ``json_rows()`` (reports.render.json_default).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

LAZY_TRADES = 100_000
_PIECE = 50_000


class TradeList(Sequence[dict[str, Any]]):
    def __init__(self, n: int, rows: Callable[[int, int], list[dict[str, Any]]]) -> None:
        self._n = n
        self._rows = rows

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            lo, hi, step = index.indices(self._n)
            if step == 1:
                return self._rows(lo, hi) if hi > lo else []
            return [self[i] for i in range(lo, hi, step)]
        i = index + self._n if index < 0 else index
        if not 0 <= i < self._n:
            raise IndexError("trade index out of range")
        return self._rows(i, i + 1)[0]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for lo in range(0, self._n, _PIECE):
            yield from self._rows(lo, min(self._n, lo + _PIECE))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, TradeList)):
            return len(other) == self._n and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like a list

    def json_rows(self) -> list[dict[str, Any]]:
        """Every trade as a dict, in a list (what orjson / json need)."""
        return list(self)

    def __repr__(self) -> str:
        return f"<TradeList of {self._n} trades>"
