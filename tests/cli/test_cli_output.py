"""Output helpers: tables for people must show user and engine text verbatim."""
from __future__ import annotations

import sys

import pytest

from cli.common import print_table


@pytest.mark.parametrize("tty", [True, False])
def test_table_shows_markup_like_text_verbatim(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                               tty: bool) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    print_table("checks", ["check", "message"], [["engines", "engine printed [/bold] and [red]x[/red]"]])
    out = capsys.readouterr().out
    assert "[/bold] and [red]x[/red]" in out
