"""The engine line protocol: ``@tradeday {json}`` on an engine's stdout."""
from __future__ import annotations

import time

import pytest

from session.notify.engine_protocol import is_protocol_line, parse_engine_line
from session.notify.levels import AlertLevel


@pytest.mark.parametrize("line", ["", "hello", "INFO filled 10 INFY", "@tradeday", "@tradedayX {}", " @tradeday {}", b"plain bytes\n"])
def test_ordinary_lines_are_not_notifications(line: str | bytes) -> None:
    assert parse_engine_line(line, "momentum") is None
    assert not is_protocol_line(line)


def test_a_fill_line_becomes_a_notification_with_fields() -> None:
    line = b'@tradeday {"event": "fill", "title": "Bought 10 INFY", "message": "at 1520.50", "qty": 10, "price": 1520.5, "tags": ["a"]}\n'
    msg = parse_engine_line(line, "momentum")
    assert msg is not None
    assert (msg.event, msg.level, msg.title, msg.message) == ("fill", AlertLevel.INFO, "momentum: Bought 10 INFY", "at 1520.50")
    assert msg.metadata == {"engine": "momentum", "qty": 10, "price": 1520.5, "tags": '["a"]'}


@pytest.mark.parametrize(
    "event, level",
    [("fill", "info"), ("order_error", "warning"), ("risk", "warning"), ("circuit_breaker", "critical"), ("message", "info")],
)
def test_default_levels_and_titles_per_event(event: str, level: str) -> None:
    msg = parse_engine_line(f'@tradeday {{"event": "{event}"}}', "e1")
    assert msg is not None and msg.level is AlertLevel(level) and msg.title.startswith("e1: ")


def test_level_given_by_the_engine_is_used_case_insensitively() -> None:
    msg = parse_engine_line('@tradeday {"event": "message", "level": "CRITICAL", "title": "margin call"}\r\n', "e1")
    assert msg is not None and msg.level is AlertLevel.CRITICAL and msg.title == "e1: margin call"


def test_an_engine_cannot_claim_to_be_another() -> None:
    msg = parse_engine_line('@tradeday {"event": "message", "engine": "other"}', "mine")
    assert msg is not None and msg.metadata["engine"] == "mine"


@pytest.mark.parametrize(
    "payload, reason",
    [
        ("{not json", "not JSON"),
        ('["event", "fill"]', "not a JSON object"),
        ('{"event": "launch_missiles"}', "event must be one of"),
        ('{"title": "no event"}', "event must be one of"),
        ('{"event": "fill", "level": "apocalyptic"}', "level must be"),
        ("[" * 100_000, "JSON"),
    ],
)
def test_malformed_protocol_lines_give_a_warning_and_never_raise(payload: str, reason: str) -> None:
    for line in (f"@tradeday {payload}", f"@tradeday {payload}".encode()):
        msg = parse_engine_line(line, "momentum")
        assert msg is not None
        assert msg.level is AlertLevel.WARNING and "malformed" in msg.title and reason in msg.message
        assert len(msg.message) < 500


def test_invalid_utf8_does_not_raise() -> None:
    msg = parse_engine_line(b'@tradeday {"event": "message", "message": "\xff\xfe"}', "e")
    assert msg is not None and msg.event == "message"


def test_huge_values_are_clipped() -> None:
    msg = parse_engine_line('@tradeday {"event": "message", "title": "' + "t" * 5000 + '", "message": "' + "m" * 50000 + '"}', "e")
    assert msg is not None and len(msg.title) <= 260 and len(msg.message) <= 4000


def test_non_protocol_lines_are_cheap() -> None:
    line = b"2026-03-02 10:15:00 INFO strategy momentum: signal BUY INFY 10 @ 1520.50\n"
    start = time.perf_counter()
    for _ in range(200_000):
        parse_engine_line(line, "momentum")
    per_line = (time.perf_counter() - start) / 200_000
    assert per_line < 5e-6, f"{per_line * 1e9:.0f} ns per line"
