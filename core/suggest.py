"""'Did you mean ...?' for names a person typed: config keys, enum values, calendar names."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_matches(wanted: str, candidates: Iterable[str], *, n: int = 1, ignore_case: bool = False) -> list[str]:
    """Up to ``n`` candidates close to ``wanted``, best first, spelled as the candidates are."""
    names = list(candidates)
    if not ignore_case:
        return difflib.get_close_matches(wanted, names, n=n, cutoff=0.6)
    by_lower = {c.lower(): c for c in names}
    return [by_lower[c] for c in difflib.get_close_matches(wanted.lower(), list(by_lower), n=n, cutoff=0.6)]


def did_you_mean(wanted: str, candidates: Iterable[str], *, n: int = 1, ignore_case: bool = False) -> str:
    """``"did you mean 'kite'?"`` (or ``"did you mean A, B?"`` for several), or ``""``."""
    found = close_matches(wanted, candidates, n=n, ignore_case=ignore_case)
    if not found:
        return ""
    if len(found) == 1:
        return f"did you mean '{found[0]}'?"
    return f"did you mean {', '.join(found)}?"
