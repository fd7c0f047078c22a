"""The fills journal: one file per trading day, read, validated and written exactly.

Format (public contract, docs/REPORTS.md): CSV with the header
``time,strategy,symbol,side,quantity,price,fees,order_id,trade_id`` or JSON Lines with
the same field names. ``time`` is ISO-8601 with a UTC offset; ``side`` is BUY or SELL;
``quantity`` > 0; ``price`` >= 0; ``fees`` >= 0 (optional, default 0); ``order_id``
and ``trade_id`` are optional, ``trade_id`` unique when present.

Money is exact: every number is held as an integer count of ``10**-decimals`` units
(``quantity``, ``price`` and ``fees`` each with their own column-wide number of
decimals), never as a float. A million rows are parsed column-wise with numpy (the
digits are read straight from the bytes), so the exact path is also the fast one;
rows the fast path cannot read (spaces, exponents, signs) go through
:class:`decimal.Decimal` one by one, which also words the error message.

Modules: :mod:`.model` (the format's columns, Fill, FillTable, LoadedJournal),
:mod:`.read` (read_journal: the general CSV and JSON Lines readers), :mod:`.fastcsv`
(the plain-CSV fast path: the file's fields located) with :mod:`.fastfields` (their bytes decoded), :mod:`.validate` with :mod:`.decimal_column` and
:mod:`.problems` (text columns into checked fills), :mod:`.scaled` and :mod:`.times`
(exact numbers and instants), :mod:`.write` (write_journal).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

# Loaded on first use (core/lazy.py): the live reader needs .scaled and .times, not the numpy readers.
_EXPORTS = {
    "JOURNAL_COLUMNS": "reports.journal.model",
    "REQUIRED_COLUMNS": "reports.journal.model",
    "SIDES": "reports.journal.model",
    "Fill": "reports.journal.model",
    "FillTable": "reports.journal.model",
    "JournalError": "reports.journal.model",
    "LoadedJournal": "reports.journal.model",
    "text_of": "reports.journal.model",
    "read_journal": "reports.journal.read",
    "EXACT": "reports.journal.scaled",
    "MAX_DECIMALS": "reports.journal.scaled",
    "MAX_INTEGER_DIGITS": "reports.journal.scaled",
    "decimal_to_scaled": "reports.journal.scaled",
    "format_scaled": "reports.journal.scaled",
    "number_problem": "reports.journal.scaled",
    "scaled_to_decimal": "reports.journal.scaled",
    "format_time": "reports.journal.times",
    "time_from_ns": "reports.journal.times",
    "fills_from_text_columns": "reports.journal.validate",
    "write_journal": "reports.journal.write",
}
lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reports.journal.model import (
        JOURNAL_COLUMNS,
        REQUIRED_COLUMNS,
        SIDES,
        Fill,
        FillTable,
        JournalError,
        LoadedJournal,
        text_of,
    )
    from reports.journal.read import read_journal
    from reports.journal.scaled import (
        EXACT,
        MAX_DECIMALS,
        MAX_INTEGER_DIGITS,
        decimal_to_scaled,
        format_scaled,
        number_problem,
        scaled_to_decimal,
    )
    from reports.journal.times import format_time, time_from_ns
    from reports.journal.validate import fills_from_text_columns
    from reports.journal.write import write_journal

__all__ = [
    "EXACT",
    "JOURNAL_COLUMNS",
    "MAX_DECIMALS",
    "MAX_INTEGER_DIGITS",
    "REQUIRED_COLUMNS",
    "SIDES",
    "Fill",
    "FillTable",
    "JournalError",
    "LoadedJournal",
    "decimal_to_scaled",
    "fills_from_text_columns",
    "format_scaled",
    "format_time",
    "number_problem",
    "read_journal",
    "scaled_to_decimal",
    "text_of",
    "time_from_ns",
    "write_journal",
]
