"""The daily report's JSON text, written in pieces when the day has many trades.

A day of 5M fills has ~1.35M trades: its JSON is ~500 MB, which as one bytes object sits in
memory beside the document it was made from. :func:`report_json_chunks` gives the same
bytes (tests/reports/test_table_rows.py compares them with the one-piece text) as a
sequence of pieces: the document without its trades, split where the trades go, and the
trades ``TRADES_PER_CHUNK`` at a time, for reports/fileset.py to write one after another.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

TRADES_PER_CHUNK = 50_000
_OPEN = b'{\n  "t": [\n'
_CLOSE = b"\n  ]\n}"


def report_json_chunks(doc: Mapping[str, Any], *, per_chunk: int = TRADES_PER_CHUNK) -> Iterator[bytes]:
    """Pieces whose concatenation is ``dumps_report_bytes(doc)``."""
    import orjson

    from reports.render import dumps_report_bytes, json_default, json_options

    trades = doc.get("trades")
    # a list, or a TradeList (reports.pnl.trade_list) whose slices are made on demand
    if not isinstance(trades, Sequence) or isinstance(trades, str) or len(trades) <= per_chunk:
        yield dumps_report_bytes(doc)
        return
    marker = f"tradeday-trades-{secrets.token_hex(16)}"
    text = dumps_report_bytes({**doc, "trades": marker})
    # "trades" is a key of the top-level object: two spaces in, its elements four.
    needle = b'\n  "trades": "' + marker.encode() + b'"'
    at = text.find(needle)
    if at < 0 or text.find(needle, at + 1) >= 0:  # cannot happen: a random marker, one top-level key
        yield dumps_report_bytes(doc)
        return
    yield text[:at] + b'\n  "trades": [\n'
    option = json_options() & ~orjson.OPT_APPEND_NEWLINE
    for lo in range(0, len(trades), per_chunk):
        # A list one level down in a small object is indented as the document's trades are.
        part = orjson.dumps({"t": trades[lo:lo + per_chunk]}, option=option, default=json_default)
        body = memoryview(part)[len(_OPEN):len(part) - len(_CLOSE)]
        yield (b",\n" + body) if lo else bytes(body)
    yield b"\n  ]" + text[at + len(needle):]
