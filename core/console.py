"""Printing for people and machines: every line passes the redactor first.

Plain ``sys.stdout.write`` for lines; rich only for tables on a terminal (it is slow and
hard-wraps when stdout is not a TTY).
"""
from __future__ import annotations

import sys
from typing import Any


def err(text: str) -> None:
    from core.redact import GLOBAL_REDACTOR

    sys.stderr.write(GLOBAL_REDACTOR(text) + "\n")
    sys.stderr.flush()


def out(text: str) -> None:
    sys.stdout.write(text + "\n")


def print_json(data: Any) -> None:
    import json

    from core.redact import GLOBAL_REDACTOR

    out(GLOBAL_REDACTOR(json.dumps(data, indent=2, ensure_ascii=False, default=str)))


def print_table(title: str | None, columns: list[str], rows: list[list[str]],
                styles: list[str | None] | None = None) -> None:
    """A rich table on a terminal; plain aligned columns otherwise (cron mail, pipes)."""
    from core.redact import GLOBAL_REDACTOR

    rows = [[GLOBAL_REDACTOR(str(c)) for c in row] for row in rows]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title)
        for col in columns:
            table.add_column(col, overflow="fold")
        for i, row in enumerate(rows):
            # Text(), not str: rich parses strings as markup, and messages carry user and
            # engine text ("[/tag]" would raise MarkupError or vanish).
            table.add_row(*(Text(c) for c in row), style=(styles[i] if styles else None))
        Console().print(table, highlight=False)
        return
    widths = [max(len(columns[i]), *(len(r[i]) for r in rows)) if rows else len(columns[i])
              for i in range(len(columns))]
    if title:
        out(title)
    out("  ".join(c.ljust(widths[i]) for i, c in enumerate(columns)).rstrip())
    for row in rows:
        out("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
