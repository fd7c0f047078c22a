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


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest one-character inserts, deletes and substitutions."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def within_edits(wanted: str, candidates: Iterable[str], max_edits: int) -> list[str]:
    """The candidates at most ``max_edits`` edits from ``wanted``, in the candidates' order
    (for short names, where difflib's ratio is too forgiving or too strict)."""
    return [c for c in candidates if edit_distance(wanted, c) <= max_edits]
