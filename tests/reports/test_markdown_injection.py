"""Hostile values in a report (issue 11): an analytics/backtest hook's JSON, strategy and symbol
names, notes, step messages. The Markdown is parsed back (markdown-it, CommonMark + tables) and
must have exactly the headings, table rows, links and code of the same report with harmless
values; the HTML must hold no tag the template did not write."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from html.parser import HTMLParser
from typing import Any

import pytest
from markdown_it import MarkdownIt

from reports.journal import Fill
from reports.pnl import compute_day
from reports.render import build_daily_report, render_daily_html, render_daily_markdown

IST = timezone(timedelta(hours=5, minutes=30))
DAY = datetime(2026, 11, 20, 9, 20, tzinfo=IST)

HOSTILE = [
    "\n## Forged heading\n",
    "x |\n| forged | row |\n|---|---|\n| a | b",
    "\r\n# Forged with CR\r\n",
    "line\u2028# Forged after a line separator",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "`code` and ```\nfence\n```",
    "[click](javascript:alert(1)) ![pixel](http://evil.example/p.png)",
    "back\\slash|pipe#hash",
    "\n    indented code block\n",
    "\n> quoted\n- listed\n1. numbered\n",
    "<!-- comment -->",
]


def hostile(i: int) -> str:
    return f"v{i}{HOSTILE[i % len(HOSTILE)]}"


def plain(i: int) -> str:
    return f"v{i}"


def document(text) -> dict[str, Any]:
    """The same report twice over: ``text(i)`` gives value i (hostile or plain)."""
    fills = [
        Fill(DAY, text(0), text(1), "BUY", D(10), D("100"), D("1")),
        Fill(DAY + timedelta(minutes=5), text(0), text(1), "SELL", D(10), D("101"), D("1")),
        Fill(DAY + timedelta(minutes=6), text(2), text(3), "BUY", D(1), D("50"), D("0")),
    ]
    day = compute_day(fills, currency="INR")
    analytics = {
        text(4): text(5),
        "nested": {text(6): text(7), "deeper": {"k": text(8)}},
        "items": [text(9), text(10)],
        "number": 1.5,
        text(11): {"k": text(12)},
    }
    return build_daily_report(
        date="2026-11-20", mode=text(13), config_path=f"/srv/{text(14)}/tradeday.yaml", config_sha256="ab" * 32,
        market={"calendar": "XNSE", "open": datetime(2026, 11, 20, 9, 15, tzinfo=IST),
                "close": datetime(2026, 11, 20, 15, 30, tzinfo=IST), "kind": "regular"},
        day=day, session={"status": text(15), "engines": [{"name": text(16), "starts": 1, "restarts": 0,
                                                            "final_state": text(17), "exit_code": 0,
                                                            "runtime_s": 60.0}]},
        steps=[{"name": "analytics", "status": text(18), "exit_code": 0, "duration_s": 1.0, "message": text(19)}],
        analytics=analytics, backtest={text(20): text(21), "list": [{"a": text(22)}]},
        notes=[text(23), text(24)], journal_warnings=[text(25)],
        generated_at=datetime(2026, 11, 20, 16, 0, tzinfo=IST),
    )


def structure(markdown: str) -> dict[str, Any]:
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    everything = list(tokens)
    for t in tokens:
        everything.extend(t.children or [])
    kinds = [t.type for t in everything]
    headings = [tokens[i + 1].content.split(" ")[0] for i, t in enumerate(tokens) if t.type == "heading_open"]
    return {
        "headings": headings,
        "rows": kinds.count("tr_open"),
        "cells": kinds.count("td_open") + kinds.count("th_open"),
        "list items": kinds.count("list_item_open"),
        "links": kinds.count("link_open"),
        "images": kinds.count("image"),
        "code": kinds.count("code_inline") + kinds.count("fence") + kinds.count("code_block"),
        "html": kinds.count("html_block") + kinds.count("html_inline"),
        "quotes": kinds.count("blockquote_open"),
        "rules": kinds.count("hr"),
    }


@pytest.mark.parametrize("chart", [None, "2026-11-20.png"])
def test_hostile_values_cannot_forge_markdown(chart):
    expected = structure(render_daily_markdown(document(plain), chart_name=chart))
    assert expected["headings"] and expected["rows"] and expected["html"] == 0
    text = render_daily_markdown(document(hostile), chart_name=chart)
    assert structure(text) == expected
    # Every value is still there, as text.
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    for word in ("Forged heading", "forged", "alert(1)", "javascript:alert(1)", "indented code block"):
        assert word in rendered


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.comments = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(sorted(name for name, _ in attrs))))

    def handle_comment(self, data: str) -> None:
        self.comments += 1


def tags(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    return parser


def test_html_report_escapes_everything():
    expected = tags(render_daily_html(document(plain), chart_name="2026-11-20.png"))
    html = render_daily_html(document(hostile), chart_name="2026-11-20.png")
    found = tags(html)
    assert found.tags == expected.tags and found.comments == expected.comments == 0
    assert ("script", ()) not in found.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The hook's values are in the HTML report too, escaped.
    assert "Forged heading" in html and "onerror=alert(1)&gt;" in html
