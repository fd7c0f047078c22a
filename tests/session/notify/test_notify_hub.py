"""NotificationHub end to end against real local HTTP servers: retries, Retry-After,
outbox and its drain, de-duplication, rate limits, a never-blocking queue, flushing at
close, filters, and the health-check pings."""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from session.notify.config import NotificationsConfig
from session.notify.hub import NotificationHub
from session.notify.outbox import Outbox
from tests.fakes.http_recorder import HttpRecorder, Reply

FAST = {"enabled": True, "backoff": 0.02, "timeout": 1, "max_retry_wait": 2, "flush_timeout": 3, "max_attempts": 3}

pytestmark = pytest.mark.usefixtures("isolated_redactor", "tradeday_logs_reach_caplog")


def config(*channels: dict[str, Any], **overrides: Any) -> NotificationsConfig:
    return NotificationsConfig.model_validate({**FAST, **overrides, "channels": list(channels)})


def webhook(server: HttpRecorder, name: str = "hook", **extra: Any) -> dict[str, Any]:
    return {"type": "webhook", "name": name, "url": f"{server.url}/{name}", **extra}


class Hubs:
    """Creates hubs and closes whatever a test left open."""

    def __init__(self, tmp_path: Path) -> None:
        self.outbox_path = tmp_path / "notifications" / "outbox.jsonl"
        self.made: list[NotificationHub] = []

    def __call__(self, cfg: NotificationsConfig, **kw: Any) -> NotificationHub:
        hub = NotificationHub(cfg, self.outbox_path, **kw)
        self.made.append(hub)
        return hub

    def outbox(self) -> list[dict[str, Any]]:
        return Outbox(self.outbox_path).read() if self.outbox_path.exists() else []


@pytest.fixture
def hubs(tmp_path: Path) -> Iterator[Hubs]:
    made = Hubs(tmp_path)
    yield made
    for hub in made.made:
        hub.close(flush_timeout=0)


def test_emit_returns_at_once_and_the_message_arrives(hubs: Hubs, server: HttpRecorder) -> None:
    hub = hubs(config(webhook(server)))
    hub.emit("engine_fatal", None, "engine momentum gave up", "exit 3", {"engine": "momentum"})
    (req,) = server.wait_for(1)
    body = req.json()
    assert (body["event"], body["level"], body["title"]) == ("engine_fatal", "critical", "engine momentum gave up")
    assert body["late"] is False and body["repeated"] == 0
    assert hub.flush(2)
    assert hub.stats.sent == 1 and hubs.outbox() == []


def test_retries_5xx_and_dropped_connections_then_succeeds(hubs: Hubs, server: HttpRecorder) -> None:
    server.enqueue(Reply.error(500), Reply.closed(), Reply.error(502), Reply.ok())
    hub = hubs(config(webhook(server), max_attempts=5))
    hub.emit("session_started", None, "session started", "")
    server.wait_for(4)
    assert hub.flush(2)
    assert hub.stats.sent == 1 and hubs.outbox() == []
    assert len({r.body for r in server.requests}) == 1  # the same message each time


def test_retry_after_is_honoured_and_capped(hubs: Hubs, server: HttpRecorder) -> None:
    server.enqueue(Reply.too_many(1), Reply.ok())
    hub = hubs(config(webhook(server), backoff=0.01, max_retry_wait=5))
    hub.emit("message", "info", "first", "")
    first, retry = server.wait_for(2)
    assert 0.95 <= retry.at - first.at < 2.5  # Retry-After: 1 honoured (backoff alone is 0.01 s)
    hub.close()

    server.enqueue(Reply.too_many(3600), Reply.ok())
    capped = hubs(config(webhook(server), backoff=0.01, max_retry_wait=0.3))
    capped.emit("message", "info", "second", "")
    reqs = server.wait_for(4)
    assert 0.25 <= reqs[3].at - reqs[2].at < 1.0  # an hour asked, max_retry_wait (0.3 s) waited
    assert capped.flush(2) and capped.stats.sent == 1


def test_gives_up_after_max_attempts_and_keeps_the_message_in_the_outbox(
    hubs: Hubs, server: HttpRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    server.default = Reply.error(503)
    hub = hubs(config(webhook(server), max_attempts=3))
    hub.emit("eod_failed", None, "end of day failed", "reports missing", {"step": "reports"})
    server.wait_for(3)
    assert hub.flush(2)
    (entry,) = hubs.outbox()
    assert entry["channel"] == "hook" and entry["type"] == "webhook"
    assert entry["attempts"] == 3 and entry["permanent"] is False and entry["error"].startswith("HTTP 503")
    assert entry["message"]["title"] == "end of day failed" and entry["message"]["metadata"] == {"step": "reports"}
    assert len(server.requests) == 3
    assert "kept in the outbox" in caplog.text


def test_permanent_4xx_is_not_retried_but_logged_and_kept(
    hubs: Hubs, server: HttpRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    server.default = Reply.error(404, "no_service")
    hub = hubs(config(webhook(server)))
    hub.emit("engine_hung", None, "engine hung", "")
    server.wait_for(1)
    assert hub.flush(2)
    time.sleep(0.1)
    assert len(server.requests) == 1
    (entry,) = hubs.outbox()
    assert entry["permanent"] is True and "404" in entry["error"]
    assert any(r.levelno == logging.ERROR and "refused" in r.getMessage() for r in caplog.records)


def test_the_next_hub_drains_the_outbox_oldest_first_marked_late(hubs: Hubs, server: HttpRecorder) -> None:
    with HttpRecorder(default=Reply.error(500)) as down:
        first = hubs(config(webhook(down, "hook"), webhook(down, "other"), max_attempts=1))
        first.emit("engine_fatal", None, "first problem", "")
        first.emit("engine_fatal", None, "second problem", "")
        first.close()
    kept = hubs.outbox()
    for name in ("hook", "other"):  # the two channels' threads interleave; each keeps its order
        assert [e["message"]["title"] for e in kept if e["channel"] == name] == ["first problem", "second problem"]

    # Only "hook" is configured now: its entries are re-sent, "other"'s stay.
    second = hubs(config(webhook(server, "hook")))
    second.drain_outbox()
    reqs = server.wait_for(2)
    assert second.flush(3)
    bodies = [r.json() for r in reqs]
    assert [b["title"] for b in bodies] == ["first problem (late)", "second problem (late)"]
    assert all(b["late"] is True for b in bodies)
    left = hubs.outbox()
    assert [e["channel"] for e in left] == ["other", "other"]
    assert second.stats.late_sent == 2


def test_drain_stops_while_the_channel_still_fails(hubs: Hubs) -> None:
    with HttpRecorder(default=Reply.error(500)) as down:
        first = hubs(config(webhook(down), max_attempts=1))
        for i in range(3):
            first.emit("message", "warning", f"problem {i}", "")
        first.close()
        assert len(hubs.outbox()) == 3
        down.requests.clear()
        second = hubs(config(webhook(down), max_attempts=5))
        second.drain_outbox()
        time.sleep(0.5)
        assert second.flush(2)
        assert len(down.requests) == 2  # late messages get 2 tries, then the drain stops
        assert len(hubs.outbox()) == 3


def test_live_messages_go_out_before_the_backlog_and_new_failures_append(hubs: Hubs, server: HttpRecorder) -> None:
    outbox = Outbox(hubs.outbox_path)
    from session.notify.message import NotificationMessage
    from session.notify.outbox import make_entry, new_entry_id

    old = NotificationMessage("old news", "", "info", event="session_closed")
    outbox.append([make_entry(entry_id=new_entry_id(), channel="hook", channel_type="webhook", message=old,
                              attempts=1, error="HTTP 500", permanent=False)])
    hub = hubs(config(webhook(server)))
    hub.emit("engine_fatal", None, "fresh alert", "")
    hub.drain_outbox()
    reqs = server.wait_for(2)
    titles = [r.json()["title"] for r in reqs]
    assert set(titles) == {"fresh alert", "old news (late)"}
    assert hub.flush(2) and hubs.outbox() == []


def test_same_key_within_the_window_is_sent_once_then_reports_repeats(hubs: Hubs, server: HttpRecorder) -> None:
    now = [1000.0]
    hub = hubs(config(webhook(server), dedup_window="10m"), clock=lambda: now[0])
    for _ in range(3):
        hub.emit("engine_hung", None, "engine momentum hung", "no output for 5m")
    hub.emit("engine_hung", None, "engine momentum hung", "different text")  # not identical: sent
    hub.emit("engine_restarted", None, "restart 1", "a", key="restart:momentum")
    hub.emit("engine_restarted", None, "restart 2", "b", key="restart:momentum")  # same key: folded
    now[0] += 601
    hub.emit("engine_hung", None, "engine momentum hung", "no output for 5m")
    reqs = server.wait_for(4)
    assert hub.flush(2)
    bodies = [r.json() for r in reqs]
    assert [b["repeated"] for b in bodies] == [0, 0, 0, 2]
    assert "repeated 2 times" in bodies[3]["message"]
    assert hub.stats.suppressed == 3
    hub.close()
    # The folded "restart 2" is not lost: close() sends it with its count.
    last = server.wait_for(5)[4].json()
    assert last["title"] == "restart 2" and last["repeated"] == 1


def test_rate_limit_holds_back_messages_beyond_the_limit(hubs: Hubs, server: HttpRecorder) -> None:
    hub = hubs(config(webhook(server, rate_limit=3)))
    for i in range(5):
        hub.emit("fill", None, f"fill {i}", "")
    server.wait_for(3)
    time.sleep(0.4)
    assert len(server.requests) == 3
    start = time.monotonic()
    hub.close(flush_timeout=0.3)
    assert time.monotonic() - start < 0.3 + 3.0  # gives up at flush_timeout (generous: a busy machine)
    left = hubs.outbox()
    assert [e["message"]["title"] for e in left] == ["fill 3", "fill 4"]
    assert "rate limit" in left[0]["error"]


def test_emit_never_blocks_even_with_a_hanging_channel(hubs: Hubs) -> None:
    with HttpRecorder(default=Reply.hanging(30)) as hanging:
        hub = hubs(config(webhook(hanging), timeout=0.2, queue_size=100, max_attempts=2))
        start = time.monotonic()
        for i in range(10_000):
            level = "critical" if i % 200 == 0 else "info"
            hub.emit("message", level, f"message {i}", "")
        emit_time = time.monotonic() - start
        assert emit_time < 10.0, f"10k emits took {emit_time:.2f}s"  # blocking ones would take 2,000 s
        assert hub.stats.dropped >= 10_000 - 100 - 2
        start = time.monotonic()
        hub.close(flush_timeout=0.5)
        assert time.monotonic() - start < 0.5 + 3.0  # gives up at flush_timeout (generous: a busy machine)
    kept = hubs.outbox()
    assert 100 <= len(kept) <= 102
    # Lower levels were dropped first: every CRITICAL survived.
    assert sum(1 for e in kept if e["message"]["level"] == "critical") == 50


def test_a_message_written_by_its_sender_as_close_gives_up_is_kept_once(hubs: Hubs) -> None:
    """The sender's own outbox write of a failed message races close() giving up on it: the
    message was in flight a moment before. It is kept once, not once by each (which would
    send it twice later). Found under load by the 10k-emit test above (51 CRITICALs of 50)."""
    from filelock import FileLock

    with HttpRecorder(default=Reply.hanging(30)) as hanging:
        hub = hubs(config(webhook(hanging), timeout=0.3, max_attempts=1))
        worker = hub._workers[0]
        held, done = threading.Event(), threading.Event()

        def hold_the_outbox_until_close_gives_up() -> None:
            # The sender's write of the failed message waits on this lock, so close()
            # finds it still running at its deadline. (filelock's locks are per thread.)
            with FileLock(str(hub.outbox.lock_path)):
                held.set()
                deadline = time.monotonic() + 30
                while not worker.abandoned and time.monotonic() < deadline:
                    time.sleep(0.01)
            done.set()

        helper = threading.Thread(target=hold_the_outbox_until_close_gives_up, daemon=True)
        helper.start()
        assert held.wait(30)
        hub.emit("message", "critical", "only one", "")
        hanging.wait_for(1)
        hub.close(flush_timeout=0.6)  # past the 0.3 s attempt: the sender is at the lock
        assert done.wait(30)
        worker.thread.join(30)
    kept = hubs.outbox()
    assert [e["message"]["title"] for e in kept] == ["only one"]


def test_close_flushes_pending_messages_within_flush_timeout(hubs: Hubs) -> None:
    with HttpRecorder(default=Reply(hang=0.2)) as slow:
        hub = hubs(config(webhook(slow)))
        for i in range(3):
            hub.emit("daily_summary", None, f"summary {i}", "")
        start = time.monotonic()
        hub.close(flush_timeout=5)
        took = time.monotonic() - start
        assert len(slow.requests) == 3 and hub.stats.sent == 3
        assert took < 4.0  # returned once all were sent, not at the 5 s flush_timeout
    assert hubs.outbox() == []


def test_close_gives_up_at_flush_timeout_and_keeps_the_rest(hubs: Hubs) -> None:
    with HttpRecorder(default=Reply.hanging(30)) as hanging:
        hub = hubs(config(webhook(hanging), timeout=5))
        hub.emit("daily_summary", None, "summary", "")
        hub.emit("session_closed", None, "closed", "")
        hanging.wait_for(1)
        start = time.monotonic()
        hub.close(flush_timeout=0.4)
        assert time.monotonic() - start < 1.0
    assert sorted(e["message"]["title"] for e in hubs.outbox()) == ["closed", "summary"]


def test_disabled_hub_does_nothing(hubs: Hubs, server: HttpRecorder) -> None:
    hub = hubs(config(webhook(server), enabled=False, healthcheck_url=server.url + "/hc"))
    before = set(threading.enumerate())
    hub.emit("engine_fatal", None, "x", "y")
    hub.drain_outbox()
    assert hub.ping("start") is False
    hub.close()
    time.sleep(0.1)
    assert server.requests == [] and not hubs.outbox_path.exists()
    # No thread started (a thread of an earlier test may end meanwhile: not counted).
    assert set(threading.enumerate()) - before == set()


def test_channel_filters_and_event_switches(hubs: Hubs, server: HttpRecorder) -> None:
    hub = hubs(
        config(
            webhook(server, "all"),
            webhook(server, "critical", min_level="critical"),
            webhook(server, "fills", events=["fill"]),
            events={"no_session": True, "config_reloaded": False},
            dedup_window=0,
        )
    )
    hub.emit("fill", None, "filled", "")
    hub.emit("engine_fatal", None, "dead", "")
    hub.emit("no_session", None, "holiday", "")
    hub.emit("config_reloaded", None, "reloaded", "")
    assert hub.flush(3)
    got = sorted((r.path, r.json()["title"]) for r in server.requests)
    assert got == [
        ("/all", "dead"), ("/all", "filled"), ("/all", "holiday"),
        ("/critical", "dead"),
        ("/fills", "filled"),
    ]


def test_no_session_is_off_by_default(hubs: Hubs, server: HttpRecorder) -> None:
    hub = hubs(config(webhook(server)))
    hub.emit("no_session", None, "holiday", "")
    hub.emit("session_started", None, "started", "")
    server.wait_for(1)
    assert hub.flush(2)
    assert [r.json()["title"] for r in server.requests] == ["started"]


def test_unusable_channels_are_skipped_with_a_warning(
    hubs: Hubs, server: HttpRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = config({"type": "slack", "webhook_url": "https://hooks.slack.com/services/YOUR/WEBHOOK/URL"}, webhook(server))
    hub = hubs(cfg)
    assert hub.channel_names == ["hook"]
    assert "slack not used" in caplog.text and "placeholder" in caplog.text
    hub.emit("session_started", None, "started", "")
    server.wait_for(1)


def test_engine_protocol_messages_go_through_the_hub(hubs: Hubs, server: HttpRecorder) -> None:
    from session.notify.engine_protocol import parse_engine_line

    hub = hubs(config(webhook(server)))
    msg = parse_engine_line(b'@tradeday {"event": "circuit_breaker", "message": "drawdown 12%", "drawdown": 0.12}\n', "momentum")
    assert msg is not None
    hub.emit_message(msg)
    body = server.wait_for(1)[0].json()
    assert body["event"] == "circuit_breaker" and body["level"] == "critical"
    assert body["fields"] == {"engine": "momentum", "drawdown": 0.12}


# ---------------------------------------------------------------- health check
def test_healthcheck_pings_follow_the_healthchecks_io_convention(hubs: Hubs, server: HttpRecorder) -> None:
    hub = hubs(config(healthcheck_url=server.url + "/ping/abc-uuid"))
    assert hub.ping("start") is True
    assert hub.ping("success") is True
    assert hub.ping("fail", body="engine momentum gave up") is True
    paths = [r.path for r in server.wait_for(3)]
    assert paths == ["/ping/abc-uuid/start", "/ping/abc-uuid", "/ping/abc-uuid/fail"]
    assert server.requests[2].body == b"engine momentum gave up"


def test_healthcheck_ping_never_raises_or_blocks_past_its_timeout(hubs: Hubs) -> None:
    with HttpRecorder(default=Reply.hanging(30)) as hanging:
        hub = hubs(config(healthcheck_url=hanging.url + "/uuid", timeout=0.3))
        start = time.monotonic()
        assert hub.ping("start") is False
        assert time.monotonic() - start < 0.8
        dead_url = hanging.url
    hub2 = hubs(config(healthcheck_url=dead_url + "/uuid", timeout=0.3))  # nothing listens now
    assert hub2.ping("success") is False
    assert hubs(config(healthcheck_url="not a url")).ping("fail") is False
    assert hubs(config(healthcheck_url=dead_url)).ping("bogus") is False


def test_outbox_append_and_remove_are_safe_across_threads_and_keep_damaged_lines(tmp_path: Path) -> None:
    from session.notify.message import NotificationMessage
    from session.notify.outbox import make_entry

    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(path)
    path.write_text("this line is damaged\n", encoding="utf-8")

    def writer(n: int) -> None:
        for i in range(20):
            msg = NotificationMessage(f"m{n}-{i}", "", "info")
            outbox.append([make_entry(entry_id=f"{n}-{i}", channel="c", channel_type="webhook", message=msg,
                                      attempts=1, error="", permanent=False)])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = outbox.read()
    assert len(entries) == 80
    assert outbox.remove([e["id"] for e in entries]) == 80
    assert path.read_text(encoding="utf-8") == "this line is damaged\n"
    json.dumps(outbox.pending_by_channel())


def _seed_outbox(hubs: Hubs, titles: list[str]) -> None:
    from session.notify.message import NotificationMessage
    from session.notify.outbox import make_entry, new_entry_id

    Outbox(hubs.outbox_path).append(
        make_entry(entry_id=new_entry_id(), channel="hook", channel_type="webhook",
                   message=NotificationMessage(t, "", "warning", event="message"), attempts=1, error="HTTP 500", permanent=False)
        for t in titles
    )


def test_one_refused_late_entry_does_not_block_the_rest(hubs: Hubs, server: HttpRecorder) -> None:
    _seed_outbox(hubs, ["bad", "good 1", "good 2"])
    server.enqueue(Reply.error(400, "bad content"))
    hub = hubs(config(webhook(server)))
    hub.drain_outbox()
    server.wait_for(3)
    assert hub.flush(2)
    assert [e["message"]["title"] for e in hubs.outbox()] == ["bad"]


def test_a_refused_channel_stops_the_drain(hubs: Hubs, server: HttpRecorder) -> None:
    _seed_outbox(hubs, ["a", "b", "c", "d"])
    server.default = Reply.error(404, "webhook deleted")
    hub = hubs(config(webhook(server)))
    hub.drain_outbox()
    server.wait_for(2)
    time.sleep(0.2)
    assert hub.flush(2)
    assert len(server.requests) == 2 and len(hubs.outbox()) == 4


def test_an_unknown_level_falls_back_to_the_event_default(hubs: Hubs, server: HttpRecorder) -> None:
    hub = hubs(config(webhook(server)))
    hub.emit("engine_fatal", "SEVERE", "engine gave up", "")
    assert server.wait_for(1)[0].json()["level"] == "critical"
