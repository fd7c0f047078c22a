"""The outbox is claimed before it is sent (issue 10), and what notify writes is private
(issue 11).

Two processes draining the same outbox deliver each entry once; a claim held by a live
process is respected, one left by a dead process (or by an earlier process that had the
same pid, as pid 1 in a container) is taken over. Outbox, lock and claim files are 0600,
their folders 0700."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from session.notify.config import NotificationsConfig
from session.notify.hub import NotificationHub
from session.notify.message import NotificationMessage
from session.notify.outbox import Outbox, make_entry, new_entry_id
from tests.conftest import REPO, TRADEDAY, write_config
from tests.fakes.http_recorder import HttpRecorder, Reply

pytestmark = pytest.mark.usefixtures("isolated_redactor", "tradeday_logs_reach_caplog")


def _entries(outbox: Outbox, channel: str, titles: list[str]) -> list[str]:
    ids = [new_entry_id() for _ in titles]
    outbox.append(
        make_entry(entry_id=entry_id, channel=channel, channel_type="webhook",
                   message=NotificationMessage(title=title, message="kept from an earlier run", event="engine_fatal"),
                   attempts=5, error="HTTP 503", permanent=False)
        for entry_id, title in zip(ids, titles, strict=True)
    )
    return ids


def _late_titles(server: HttpRecorder) -> Counter[str]:
    bodies = [r.json() for r in server.requests]
    return Counter(b["title"].removesuffix(" (late)") for b in bodies if b.get("late"))


def _hub_config(server: HttpRecorder, **extra: Any) -> NotificationsConfig:
    return NotificationsConfig.model_validate(
        {"enabled": True, "timeout": 5, "flush_timeout": 30, "backoff": 0.01,
         "channels": [{"type": "webhook", "name": "ops", "url": server.url + "/hook", "rate_limit": 1000}], **extra})


def test_two_notify_test_processes_deliver_each_outbox_entry_once(tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    outbox = Outbox(artifacts / "notifications" / "outbox.jsonl")
    titles = [f"entry-{i:02d}" for i in range(16)]
    _entries(outbox, "ops", titles)
    # A slow receiver, so that both drains are busy at the same time.
    with HttpRecorder(default=Reply(hang=0.25)) as server:
        cfg = write_config(tmp_path, f"""
            engines: [{{name: e, command: ["{sys.executable}", "-c", "pass"]}}]
            paths: {{artifacts: "{artifacts}"}}
            notifications:
              enabled: true
              timeout: 20
              flush_timeout: 60
              channels:
                - {{type: webhook, name: ops, url: "{server.url}/hook", rate_limit: 1000}}
            """)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
        procs = [subprocess.Popen([TRADEDAY, "notify", "test", "-c", str(cfg), "--json"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env) for _ in range(2)]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], results
        received = _late_titles(server)
    assert received == Counter({title: 1 for title in titles}), results
    reports = [json.loads(out) for out, _ in results]
    assert sum(r["outbox"]["resent"] for r in reports) == len(titles)
    assert outbox.read() == []
    assert list(outbox.claims_dir.iterdir()) == []  # every claim went with its entry


_CLAIMER = """
import sys
from session.notify.outbox import Outbox
ttl = float(sys.argv[3]) if len(sys.argv) > 3 else 900.0
ok = Outbox(sys.argv[1]).claim(sys.argv[2], ttl)
print("claimed" if ok else "refused", flush=True)
sys.stdin.read()  # hold the claim until the test closes stdin (or kills us)
"""


def _claim_in(outbox: Outbox, entry_id: str, *prefix: str, ttl: float = 900.0) -> subprocess.Popen[str]:
    """A process that claims ``entry_id`` (run under ``prefix``, e.g. unshare) and waits."""
    return subprocess.Popen([*prefix, sys.executable, "-c", _CLAIMER, str(outbox.path), entry_id, str(ttl)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def _answer(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    return proc.stdout.readline().strip()


def _claimer(outbox: Outbox, entry_id: str, *prefix: str, ttl: float = 900.0) -> subprocess.Popen[str]:
    proc = _claim_in(outbox, entry_id, *prefix, ttl=ttl)
    assert _answer(proc) == "claimed"
    return proc


def _end(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(10)


def _drain(server: HttpRecorder, outbox: Outbox) -> NotificationHub:
    hub = NotificationHub(_hub_config(server), outbox.path)
    try:
        hub.drain_outbox()
        assert hub.flush(30)
    finally:
        hub.close(flush_timeout=0)
    return hub


def test_a_live_claim_is_respected_and_a_dead_ones_claim_is_taken_over(tmp_path: Path, server: HttpRecorder) -> None:
    outbox = Outbox(tmp_path / "notifications" / "outbox.jsonl")
    held, free = _entries(outbox, "ops", ["held by another process", "free"])
    proc = _claimer(outbox, held)
    try:
        assert Outbox(outbox.path).claim(held) is False  # not even this process may take it
        hub = _drain(server, outbox)
        assert _late_titles(server) == Counter({"free": 1})
        assert hub.stats.late_sent == 1
        assert [e["id"] for e in outbox.read()] == [held]
    finally:
        proc.kill()
        proc.wait(10)
    _drain(server, outbox)
    assert _late_titles(server) == Counter({"free": 1, "held by another process": 1})
    assert outbox.read() == []
    assert list(outbox.claims_dir.iterdir()) == []


def test_a_claim_released_by_a_live_process_is_free_again(tmp_path: Path, server: HttpRecorder) -> None:
    outbox = Outbox(tmp_path / "outbox.jsonl")
    (entry_id,) = _entries(outbox, "ops", ["x"])
    assert outbox.claim(entry_id) is True
    assert outbox.claim(entry_id) is True  # its own claim
    outbox.release([entry_id])
    proc = _claimer(outbox, entry_id)
    proc.kill()
    proc.wait(10)
    assert outbox.claim(entry_id) is True  # its claimant is dead
    assert outbox.remove([entry_id]) == 1
    assert outbox.claim(entry_id) is False  # gone: nothing to claim


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0, reason="needs unshare and root")
def test_a_claim_from_another_pid_namespace_holds_until_it_expires(tmp_path: Path) -> None:
    # Each container run of tradeday is pid 1 in a namespace of its own: a pid from
    # another namespace says nothing here (pid 1 is always alive), so only the expiry
    # the claimant set frees its claim.
    outbox = Outbox(tmp_path / "outbox.jsonl")
    (entry_id,) = _entries(outbox, "ops", ["x"])
    ns = ["unshare", "--pid", "--fork", "--mount-proc"]
    first = _claimer(outbox, entry_id, *ns, ttl=8)  # long enough to start the second
    try:
        (claim_file,) = outbox.claims_dir.iterdir()
        expires = json.loads(claim_file.read_text(encoding="utf-8"))["expires"]
        second = _claim_in(outbox, entry_id, *ns)  # pid 1 too, in another namespace
        assert _answer(second) == "refused"
        _end(second)
    finally:
        _end(first)
    while time.time() < expires:  # wait for the claimant's own bound, not a guess
        time.sleep(0.05)
    third = _claim_in(outbox, entry_id, *ns)
    assert _answer(third) == "claimed"
    _end(third)


def test_a_message_still_in_flight_at_close_is_written_claimed(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.jsonl")
    # The receiver answers 200, but only after close() has given up waiting for it.
    with HttpRecorder(default=Reply(hang=2.0)) as slow:
        hub = NotificationHub(_hub_config(slow, flush_timeout=0.2), outbox.path)
        hub.emit("engine_fatal", None, "in flight at close", "exit 3")
        slow.wait_for(1)
        hub.close()
        (entry,) = outbox.read()
        other = _claim_in(outbox, entry["id"])
        assert _answer(other) == "refused"  # this process may still deliver it
        _end(other)
        end = time.monotonic() + 30
        while outbox.read() and time.monotonic() < end:  # the late success removes it
            time.sleep(0.05)
    assert outbox.read() == []
    assert list(outbox.claims_dir.iterdir()) == []


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outbox_lock_and_claim_files_are_0600_in_0700_folders(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        outbox_path = tmp_path / "artifacts" / "notifications" / "outbox.jsonl"
        with HttpRecorder(default=Reply.error(503)) as down:
            hub = NotificationHub(_hub_config(down, max_attempts=1), outbox_path)
            try:
                hub.emit("engine_fatal", None, "engine gave up", "exit 3")
                assert hub.flush(10)
            finally:
                hub.close(flush_timeout=0)
        outbox = Outbox(outbox_path)
        (entry,) = outbox.read()
        assert _mode(outbox_path) == 0o600
        assert _mode(outbox.lock_path) == 0o600
        assert _mode(outbox_path.parent) == 0o700
        assert outbox.claim(entry["id"])
        (claim,) = outbox.claims_dir.iterdir()
        assert _mode(claim) == 0o600 and _mode(outbox.claims_dir) == 0o700
        outbox.release([entry["id"]])
        _entries(outbox, "ops", ["y"])
        assert outbox.remove([entry["id"]]) == 1  # the rewrite keeps the mode
        assert _mode(outbox_path) == 0o600
        # An outbox an older tradeday left world-readable is tightened at the next write.
        outbox_path.chmod(0o644)
        _entries(outbox, "ops", ["z"])
        assert _mode(outbox_path) == 0o600
    finally:
        os.umask(old)
