"""The precheck report for people (one row per check and a READY line) or machines (JSON).

``tradeday precheck`` and ``run --dry-run`` print the same thing. A row per check, not per
result: an ok check is one short row (its ids), and only a check that warns or fails shows its
messages and hints (``--verbose``: every message, and how long each check took). The last line
names the failing ids. On a terminal: colours by level (ok green, WARN yellow, FAIL red) and the
table fits the terminal's width; otherwise plain lines wrapped to the width (cron's mail, pipes).
"""
from __future__ import annotations

import shutil
import sys
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.console import out, print_json

if TYPE_CHECKING:
    from session.checks import CheckResult, PrecheckReport

_STATUS = {"INFO": "ok", "WARNING": "WARN", "ERROR": "FAIL"}
_STYLE = {"ok": "green", "WARN": "yellow", "FAIL": "bold red", "silenced": "dim"}


@dataclass
class CheckRow:
    """One check: its worst status and what to show of its results."""

    check: str
    status: str  # ok | WARN | FAIL | silenced
    ids: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # one entry per shown result: "id: message (hint: ...)"
    duration_ms: float = 0.0


def check_rows(report: PrecheckReport, *, verbose: bool = False) -> list[CheckRow]:
    """The report as one row per check, in the order the checks ran."""
    rows: dict[str, CheckRow] = {}
    rank = {"ok": 0, "silenced": 1, "WARN": 2, "FAIL": 3}
    for r in report.results:
        status = "silenced" if r.silenced else _STATUS[r.level.name]
        name = r.check or r.id.split(".")[0]
        row = rows.setdefault(name, CheckRow(check=name, status="ok"))
        if rank[status] > rank[row.status]:
            row.status = status
        row.ids.append(r.id)
        row.duration_ms = max(row.duration_ms, r.duration_ms)
        if verbose or status in ("WARN", "FAIL"):
            row.details.append(_detail(r, status))
    return list(rows.values())


def _detail(r: CheckResult, status: str) -> str:
    text = f"{r.id}: {r.message}"
    if status == "silenced":
        text += " (silenced)"
    return text + (f" (hint: {r.hint})" if r.hint else "")


def _session_line(report: PrecheckReport) -> str:
    s = report.session
    if not s["known"]:
        why = (f"{s['special_session']} announced, times not published" if s["special_session"]
               else f"no holiday data for {s['date'][:4]}")
        return f"{s['date']} {s['calendar']}: unknown ({why})"
    if s["is_trading_day"]:
        kind = s["special_session"] or ("early close" if s["early_close"] else "regular session")
        return f"{s['date']} {s['calendar']}: {kind} {s['open'][11:16]}-{s['close'][11:16]} {s['timezone']}"
    return f"{s['date']} {s['calendar']}: no session ({s['holiday'] or 'weekend'})"


def verdict(report: PrecheckReport) -> str:
    """``READY: 0 failing, 1 warning (secrets.W001)`` / ``NOT READY: 1 failing (clock.E001), ...``."""
    failing = [r.id for r in report.failures()]
    warned = [r.id for r in report.results if r.level.name == "WARNING" and not r.silenced and r.id not in failing]
    text = f"{'NOT READY' if failing else 'READY'}: {len(failing)} failing"
    if failing:
        text += f" ({', '.join(dict.fromkeys(failing))})"
    text += f", {len(warned)} warning{'s' if len(warned) != 1 else ''}"
    return text + (f" ({', '.join(dict.fromkeys(warned))})" if warned else "")


def render_report(report: PrecheckReport, *, as_json: bool, verbose: bool = False) -> None:
    """The precheck rows (or JSON); `run --dry-run` prints the same."""
    if as_json:
        print_json(report.to_json())
        return
    from core.redact import GLOBAL_REDACTOR

    title = f"precheck ({report.mode}) - {_session_line(report)}"
    rows = check_rows(report, verbose=verbose)
    for row in rows:
        row.details = [GLOBAL_REDACTOR(d) for d in row.details]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.text import Text

        _rich_table(title, rows, verbose)
        Console(highlight=False).print(Text(verdict(report), style="bold green" if report.ok else "bold red"))
    else:
        _plain(title, rows, verbose, shutil.get_terminal_size((100, 24)).columns)
        out(verdict(report))


def _summary_ids(row: CheckRow) -> str:
    return ", ".join(dict.fromkeys(row.ids))


def _rich_table(title: str, rows: list[CheckRow], verbose: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", expand=False, show_lines=False)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("details", overflow="fold", ratio=1)
    if verbose:
        table.add_column("time", justify="right", no_wrap=True)
    for row in rows:
        # Text(), not str: messages carry user and engine text ("[/tag]" is not markup).
        details = Text("\n".join(row.details)) if row.details else Text(_summary_ids(row), style="dim")
        cells = [Text(row.check), Text(row.status, style=_STYLE[row.status]), details]
        if verbose:
            cells.append(Text(f"{row.duration_ms:.0f} ms"))
        table.add_row(*cells)
    Console(highlight=False).print(table)


def _plain(title: str, rows: list[CheckRow], verbose: bool, width: int) -> None:
    """Aligned lines, at most ``width`` wide: details wrap under their own column. A word longer
    than the room (a path) is never split, so it can still be copied whole."""
    out(title)
    name_w = max((len(r.check) for r in rows), default=5)
    indent = name_w + 2 + 4 + 2  # check, status (ok/WARN/FAIL), two spaces each
    room = max(30, width - indent)
    for row in rows:
        status = row.status if row.status != "silenced" else "sil."
        head = f"{row.check:<{name_w}}  {status:<4}  "
        texts = row.details or [_summary_ids(row)]
        if verbose:
            texts = [*texts[:-1], f"{texts[-1]} ({row.duration_ms:.0f} ms)"]
        first = True
        for text in texts:
            for piece in textwrap.wrap(text, room, break_long_words=False, break_on_hyphens=False) or [""]:
                out((head if first else " " * indent) + piece)
                first = False
