"""Replies are read within limits (issue 11): a channel or health-check endpoint that
answers with a huge body, or trickles one byte at a time, costs tradeday at most 64 KiB
of it and a bounded time; the connection is then closed.

The memory test runs the real ``tradeday notify test`` and reads the child's own peak
RSS from ``os.wait4`` (exact, no sampling)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from session.notify.config import NotificationsConfig
from session.notify.hub import NotificationHub
from session.notify.outbox import Outbox
from tests.conftest import TRADEDAY, write_config
from tests.fakes.http_recorder import HttpRecorder, Reply

MiB = 1024 * 1024
HUGE = 300 * MiB
# Socket buffers on both ends of a loopback connection hold a few MiB that the server
# "sent" before it sees the client hang up; anything near HUGE means the body was read.
WRITTEN_MAX = 64 * MiB

pytestmark = pytest.mark.usefixtures("isolated_redactor", "tradeday_logs_reach_caplog")


def _config_file(folder: Path, url: str, timeout: float = 2) -> Path:
    return write_config(folder, f"""
        engines: [{{name: e, command: ["{sys.executable}", "-c", "pass"]}}]
        notifications:
          enabled: true
          timeout: {timeout}
          channels:
            - {{type: webhook, name: ops, url: "{url}/hook"}}
        """)


def _notify_test_peak_rss(config: Path, cwd: Path, timeout: float = 120) -> tuple[int, str, int]:
    """Run ``tradeday notify test``; its exit code, stdout and peak RSS in bytes.

    The child is reaped with ``os.wait4``, which returns that child's own resource usage
    (``ru_maxrss``, KiB on Linux)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
    out = cwd / "stdout.txt"
    with open(out, "wb") as fh:
        proc = subprocess.Popen([TRADEDAY, "notify", "test", "-c", str(config)], stdout=fh,
                                stderr=subprocess.STDOUT, cwd=cwd, env=env)
    end = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > end:
            proc.kill()
            os.wait4(proc.pid, 0)
            raise AssertionError(f"tradeday notify test still running after {timeout:g}s")
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out.read_text(encoding="utf-8", errors="replace"), usage.ru_maxrss * 1024


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units and wait4 as on Linux")
def test_a_huge_error_body_does_not_grow_the_memory_of_notify_test(tmp_path: Path) -> None:
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir()
    big.mkdir()
    with HttpRecorder(default=Reply.error(500, "small error")) as quiet:
        code, out, baseline = _notify_test_peak_rss(_config_file(small, quiet.url), small)
    assert code == 1 and "HTTP 500: small error" in out, out
    with HttpRecorder(default=Reply.huge(HUGE, 500)) as flood:
        code, out, peak = _notify_test_peak_rss(_config_file(big, flood.url), big)
        (written,) = flood.wait_streamed(1)
    assert code == 1 and "HTTP 500: xxx" in out, out
    growth = peak - baseline
    assert growth < 32 * MiB, f"peak RSS grew by {growth / MiB:.0f} MiB for a {HUGE // MiB} MiB body"
    assert written < WRITTEN_MAX, f"the server wrote {written / MiB:.0f} MiB before the client hung up"


def test_a_trickling_body_is_cut_off_by_the_time_bound(tmp_path: Path) -> None:
    # One byte every 50 ms for 10,000 bytes: 500 s if read to the end; each byte arrives
    # well within the 1 s read timeout, so only a total-time bound stops it.
    with HttpRecorder(default=Reply.trickle(10_000, 0.05, 503)) as slow:
        cfg = _config_file(tmp_path, slow.url, timeout=1)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
        result = subprocess.run([TRADEDAY, "notify", "test", "-c", str(cfg)], capture_output=True, text=True,
                                cwd=tmp_path, env=env, timeout=40)
        (written,) = slow.wait_streamed(1)
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "HTTP 503" in result.stdout
    assert written < 10_000


def test_the_hub_reads_at_most_64_kib_of_each_reply(tmp_path: Path) -> None:
    outbox_path = tmp_path / "notifications" / "outbox.jsonl"
    with HttpRecorder(default=Reply.huge(HUGE, 502)) as flood:
        cfg = NotificationsConfig.model_validate(
            {"enabled": True, "timeout": 2, "backoff": 0.01, "max_attempts": 2, "flush_timeout": 5,
             "channels": [{"type": "slack", "webhook_url": flood.url + "/services/T/B/x"}]})
        hub = NotificationHub(cfg, outbox_path)
        try:
            hub.emit("engine_fatal", None, "engine gave up", "exit 3")
            assert hub.flush(60)
        finally:
            hub.close(flush_timeout=0)
        written = flood.wait_streamed(2)
    assert all(n < WRITTEN_MAX for n in written), written
    (entry,) = Outbox(outbox_path).read()
    assert entry["error"].startswith("HTTP 502: xxx") and len(entry["error"]) < 300


def test_a_health_check_ping_does_not_read_a_huge_reply(tmp_path: Path) -> None:
    with HttpRecorder(default=Reply.huge(HUGE, 200)) as flood:
        cfg = NotificationsConfig.model_validate({"enabled": True, "timeout": 5, "healthcheck_url": flood.url + "/uuid"})
        hub = NotificationHub(cfg, tmp_path / "o.jsonl")
        try:
            assert hub.ping("success") is True
        finally:
            hub.close(flush_timeout=0)
        (written,) = flood.wait_streamed(1)
    assert written < WRITTEN_MAX, f"the server wrote {written / MiB:.0f} MiB"


def test_a_compressed_flood_is_bounded_after_decoding_too() -> None:
    import gzip
    import tracemalloc

    from session.notify.diagnostics import send_test

    bomb = gzip.compress(b"x" * (100 * MiB), compresslevel=9)  # about 100 KB on the wire
    reply = Reply(status=500, body=bomb, headers={"Content-Encoding": "gzip"})
    with HttpRecorder(default=reply) as flood:
        cfg = NotificationsConfig.model_validate(
            {"enabled": True, "timeout": 5, "channels": [{"type": "webhook", "name": "ops", "url": flood.url + "/hook"}]})
        tracemalloc.start()
        try:
            (result,) = send_test(cfg)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert not result.ok and result.error.startswith("HTTP 500: xxx")
    assert peak < 16 * MiB, f"decoding took {peak / MiB:.0f} MiB"
