"""Every ```python block of docs/*.md and the README that imports `tradeday` runs as written: in a fresh
interpreter, in a working directory holding the `config.paper.yaml` the blocks name, with the
environment variables they read pointing at a loopback HTTP server. What reached the server is
checked afterwards, so a block cannot pass by sending nothing."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, write_config
from tests.fakes.http_recorder import HttpRecorder
from tests.session.test_run import config_text, sample_engine

FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
USES_API = re.compile(r"^\s*(from tradeday\b|import tradeday\b)", re.M)
SECRET = "docs-webhook-secret"

RUNNER = r"""
import json, sys, traceback
results = []
for block in json.load(open(sys.argv[1])):
    try:
        exec(compile(block["code"], block["where"], "exec"), {"__name__": "__main__"})
        results.append({"where": block["where"], "ok": True})
    except BaseException:
        results.append({"where": block["where"], "ok": False, "error": traceback.format_exc()})
print("RESULTS " + json.dumps(results))
"""


def api_blocks() -> list[dict[str, str]]:
    blocks = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if USES_API.search(match.group(1)):
                line = text.count("\n", 0, match.start()) + 2
                blocks.append({"where": f"{doc.relative_to(REPO)}:{line}", "code": match.group(1)})
    return blocks


def test_every_python_api_block_in_the_docs_runs(tmp_path: Path) -> None:
    blocks = api_blocks()
    assert sum(b["where"].startswith("docs/PYTHON_API.md") for b in blocks) >= 8
    assert any(b["where"].startswith("README.md") for b in blocks)
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    write_config(tmp_path, config_text(sample_engine()), name="config.paper.yaml")
    journal = tmp_path / "artifacts" / "journal" / "2026-11-20.csv"
    with HttpRecorder() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
        env.update(SLACK_WEBHOOK_URL=server.url + "/services/T/B/X", DISCORD_WEBHOOK_URL=server.url + "/api/webhooks/1/x",
                   ALERT_WEBHOOK_URL=server.url + "/hook", ALERT_WEBHOOK_SECRET=SECRET, TRADEDAY_JOURNAL=str(journal))
        proc = subprocess.run([sys.executable, "-c", RUNNER, str(tmp_path / "blocks.json")], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        requests = list(server.requests)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULTS ")), None)
    assert line is not None, proc.stderr[-3000:]
    failed = [f"{r['where']}:\n{r['error']}" for r in json.loads(line[len("RESULTS "):]) if not r["ok"]]
    assert not failed, "\n".join(failed)

    paths = [r.path for r in requests]
    assert "/services/T/B/X" not in paths  # SlackNotifier(min_level=WARNING) held back an INFO message
    assert paths.count("/api/webhooks/1/x") == 1
    hooks = [r for r in requests if r.path == "/hook"]
    for r in hooks:  # the secret signs every body
        expected = "sha256=" + hmac.new(SECRET.encode(), r.body, hashlib.sha256).hexdigest()
        assert r.header("X-Tradeday-Signature") == expected
    bodies = [r.json() for r in hooks]
    assert [b["event"] for b in bodies] == ["message", "fill", "order_error", "circuit_breaker", "risk"]
    first = bodies[0]  # a copilot_quant receiver reads metadata and timestamp
    assert first["metadata"] == first["fields"] == {"symbol": "AAPL", "quantity": 100, "price": 150.0}
    assert first["timestamp"] == first["time"] and first["title"] == "Order Filled"
    assert bodies[1]["metadata"]["order_id"] == 4711 and bodies[3]["metadata"]["drawdown"] == "12.00%"
    assert journal.read_text().count("momentum,AAPL") == 2
