"""The HTML daily report has every section of the Markdown one, in the same order, with the same
data: both are parsed (markdown-it-py for the Markdown, html.parser for both) and their headings,
table cells, list items and paragraphs compared."""
from __future__ import annotations

from html.parser import HTMLParser

from markdown_it import MarkdownIt

from reports.journal import read_journal
from reports.pnl import reconcile
from reports.render import render_daily_html, render_daily_markdown
from tests.reports.test_render import FIXTURES, daily_doc

BLOCKS = {"h1", "h2", "h3", "li", "td", "th", "p"}


class Blocks(HTMLParser):
    """(tag, text) of every block element, text with whitespace collapsed; nested blocks (a list
    item's paragraph) count once, for the outer element."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple[str, str]] = []
        self._open: list[tuple[str, list[str]]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[type-arg]
        if tag in ("style", "title", "script"):
            self._skip += 1
        elif tag in BLOCKS:
            self._open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "script"):
            self._skip -= 1
        elif tag in BLOCKS and self._open and self._open[-1][0] == tag:
            name, parts = self._open.pop()
            text = " ".join("".join(parts).split())
            if self._open:
                self._open[-1][1].append(text)
            elif text:
                self.blocks.append((name if name != "th" else "td", text))

    def handle_data(self, data: str) -> None:
        if not self._skip and self._open:
            self._open[-1][1].append(data)


def blocks(html: str) -> list[tuple[str, str]]:
    parser = Blocks()
    parser.feed(html)
    return parser.blocks


def full_doc() -> dict:
    """A day with every section: symbols, open positions, engines, a reconciliation that found
    differences, analytics, backtest, steps, flags, notes, several runs."""
    journal = read_journal(FIXTURES / "2026-11-20.csv", display_name="j.csv").fills
    broker = read_journal(FIXTURES / "2026-11-23.csv", display_name="b.csv").fills  # another day: differences
    doc = daily_doc(reconciliation=reconcile(journal, broker), analytics={"sharpe": 1.2, "by_hour": {"10": 3}},
                    backtest={"strategy": "meanrev", "trades": [1, 2, 3]}, notes=["rolled INFY", "a <b>tag</b> & co"])
    doc["session"]["runs"] = [{"run": 1, "exit_code": 130}, {"run": 2, "exit_code": 0}]
    doc["steps"].append({"name": "report", "status": "failed", "exit_code": None, "duration_s": None,
                         "message": "template x.md.j2:3: boom"})
    return doc


def test_html_report_has_the_markdown_reports_sections_and_data() -> None:
    doc = full_doc()
    md = render_daily_markdown(doc, chart_name="2026-11-20.png")
    html = render_daily_html(doc, chart_name="2026-11-20.png")
    from_md = blocks(MarkdownIt("commonmark").enable("table").render(md))
    from_html = blocks(html)
    headings = [t for tag, t in from_md if tag in ("h1", "h2")]
    for section in ("Summary", "Strategy Performance", "Symbols", "Open Positions (carried to the next session)",
                    "Engines", "Reconciliation", "Analytics", "Backtest", "Steps", "Flags", "Notes"):
        assert section in headings, headings
    assert [t for tag, t in from_html if tag in ("h1", "h2")] == headings
    assert from_html == from_md  # every cell, item and paragraph, in order
    assert 'src="2026-11-20.png"' in html
    assert "a &lt;b&gt;tag&lt;/b&gt; &amp; co" in html  # escaped, as the Markdown is


def test_times_are_shown_to_the_second_with_their_offset() -> None:
    doc = full_doc()
    doc["generated_at"] = "2026-11-20T16:05:12.345678+05:30"
    for text in (render_daily_markdown(doc), render_daily_html(doc)):
        assert "2026-11-20 16:05:12 +05:30" in text
        assert ".345678" not in text
