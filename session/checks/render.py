"""The precheck report for people (a table and a READY line) or machines (JSON).

``tradeday precheck`` and ``run --dry-run`` print the same thing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.console import out, print_json, print_table

if TYPE_CHECKING:
    from session.checks import PrecheckReport

_STYLE = {"INFO": None, "WARNING": "yellow", "ERROR": "bold red"}


def render_report(report: PrecheckReport, *, as_json: bool) -> None:
    """The precheck table (or JSON); `run --dry-run` prints the same."""
    if as_json:
        print_json(report.to_json())
        return
    s = report.session
    if not s["known"]:
        why = (f"{s['special_session']} announced, times not published" if s["special_session"]
               else f"no holiday data for {s['date'][:4]}")
        summary = f"{s['date']} {s['calendar']}: unknown ({why})"
    elif s["is_trading_day"]:
        kind = s["special_session"] or ("early close" if s["early_close"] else "regular session")
        summary = f"{s['date']} {s['calendar']}: {kind} {s['open'][11:16]}-{s['close'][11:16]} {s['timezone']}"
    else:
        summary = f"{s['date']} {s['calendar']}: no session ({s['holiday'] or 'weekend'})"
    rows, styles = [], []
    for r in report.results:
        status = "silenced" if r.silenced else {"INFO": "ok", "WARNING": "WARN", "ERROR": "FAIL"}[r.level.name]
        rows.append([r.check, f"{status} {r.id}", r.message, r.hint, f"{r.duration_ms:.0f} ms"])
        styles.append(None if r.silenced else _STYLE[r.level.name])
    print_table(f"precheck ({report.mode}) - {summary}", ["check", "status", "message", "hint", "time"], rows, styles)
    failures = report.failures()
    out(f"{'READY' if not failures else 'NOT READY'}: {len(failures)} failing, "
        f"{sum(1 for r in report.results if r.level.name == 'WARNING' and not r.silenced)} warning(s)")
