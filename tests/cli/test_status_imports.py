"""`tradeday status` reads a state file and the day's journal: it must start without the heavy
libraries (issue 15, cold start). A real `status` process, on a config with a state file, a
journal and a previous daily report (so the carried positions are read too), lists at exit the
modules it loaded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, write_config

DAY = "2026-03-03"  # a Tuesday; the previous report is Monday's
HEAVY = ("pydantic", "pydantic_core", "pandas", "numpy", "pandas_market_calendars", "exchange_calendars", "matplotlib", "jinja2",
         "kiteconnect", "ib_async", "requests")  # psutil is fine: status looks at the recorded pid
# Whole packages status has no use for: the end of day's pipeline, the FIFO, the CSV fast path.
NOT_NEEDED = ("session.eod.pipeline", "session.eod.hooks", "reports.pnl.day", "reports.pnl.fifo",
              "reports.journal.fastcsv", "reports.journal.fastfields", "reports.journal.read", "reports.render", "session.supervisor")

# The console script's own entry point, in a process that prints sys.modules as it exits.
SCRIPT = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
from cli.main import main
main(sys.argv[1:])
"""


def test_status_loads_neither_pandas_nor_numpy_nor_the_end_of_day(tmp_path: Path) -> None:
    art = tmp_path / "artifacts"
    cfg = write_config(tmp_path, f"""
        version: "1.0.0"
        mode: paper
        market: {{calendar: XNYS}}
        engines:
          - name: demo
            command: ["{sys.executable}", "-c", "pass"]
        paths: {{artifacts: {art}}}
        reports: {{carry: true}}
    """)
    (art / "state").mkdir(parents=True)
    (art / "state" / f"{DAY}.json").write_text(json.dumps({
        "phase": "DONE", "exit_code": 0, "orchestrator": {"pid": 999999999}, "calendar": "XNYS",
        "mode": "paper", "engines": [{"name": "demo", "state": "STOPPED", "restarts": 0}]}))
    (art / "journal").mkdir()
    (art / "journal" / f"{DAY}.csv").write_text(
        "time,strategy,symbol,side,quantity,price,fees,order_id,trade_id\n"
        f"{DAY}T10:00:00-05:00,s1,AAPL,SELL,10,191.50,0.50,O2,T2\n")
    (art / "reports" / "daily").mkdir(parents=True)
    (art / "reports" / "daily" / "2026-03-02.json").write_text(json.dumps({"schema": "tradeday.daily/1", "open_positions": [
        {"strategy": "s1", "symbol": "AAPL", "side": "LONG", "quantity": 10, "avg_price": 190.0,
         "lots": [{"quantity": "10", "price": "190.00", "entry_time": "2026-03-02T15:00:00-05:00",
                   "fees": "0.50"}]}]}))

    env = {**os.environ, "TRADEDAY_CACHE_DIR": str(tmp_path / "cache")}
    argv = [sys.executable, "-c", SCRIPT, "status", "-c", str(cfg), "--date", DAY, "--json"]
    first = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=60, env=env)
    assert first.returncode == 0, first.stderr
    # The second start answers from the config snapshot (session/config/snapshot.py): neither the
    # config models nor typer's TypeAdapters, so no pydantic at all.
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == first.stdout
    status = json.loads(done.stdout)
    assert status["phase"] == "DONE" and status["engines"][0]["name"] == "demo"
    # The carried lot was closed today: the PnL path (journal + previous report) really ran.
    assert status["pnl"]["carried_from"] == "2026-03-02", json.dumps(status["pnl"])
    assert status["pnl"]["realized_pnl"] == 14.5 and status["pnl"]["open_positions"] == 0
    loaded = json.loads(done.stderr.rpartition("MODULES ")[2])
    assert [m for m in loaded if m.split(".")[0] in HEAVY] == []
    assert [m for m in loaded if m in NOT_NEEDED or m.startswith("session.supervisor.")] == []
