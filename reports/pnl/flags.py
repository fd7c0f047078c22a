"""Flags on the day's fills: fills outside the market session."""
from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from reports.journal import FillTable, format_time
from reports.journal.times import epoch_ns

_MAX_FLAGS = 50


def session_flags(table: FillTable, session_open: datetime | None, session_close: datetime | None,
                  tz: tzinfo) -> list[dict[str, Any]]:
    import numpy as np

    if len(table) == 0 or (session_open is None and session_close is None):
        return []
    outside = np.zeros(len(table), dtype=bool)
    if session_open is not None:
        outside |= table.time_ns < epoch_ns(session_open)
    if session_close is not None:
        outside |= table.time_ns > epoch_ns(session_close)
    idx = np.flatnonzero(outside)
    flags: list[dict[str, Any]] = []
    window = f"{session_open.astimezone(tz).strftime('%H:%M') if session_open else '…'}-" \
             f"{session_close.astimezone(tz).strftime('%H:%M') if session_close else '…'}"
    for i in idx[:_MAX_FLAGS].tolist():
        where = f"{table.source}:{int(table.line[i])}" if table.line[i] else (table.source or "fill")
        t = format_time(int(table.time_ns[i]), tz)
        flags.append({
            "kind": "outside_session",
            "message": f"{where}: {table.strategy[i]} {'BUY' if table.is_buy[i] else 'SELL'} "
                       f"{table.symbol[i]} at {_to_the_second(t)} is outside the session {window}",
            "time": t, "strategy": str(table.strategy[i]), "symbol": str(table.symbol[i]),
            "line": int(table.line[i]),
        })
    if idx.size > _MAX_FLAGS:
        flags.append({"kind": "outside_session", "count": int(idx.size - _MAX_FLAGS),
                      "message": f"{idx.size - _MAX_FLAGS} more fills outside the session {window}"})
    return flags


def _to_the_second(moment: str) -> str:
    """A message shows a fill's time to the second, with its offset (the ``time`` field keeps it all)."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(moment).replace(microsecond=0).isoformat()
    except ValueError:
        return moment
