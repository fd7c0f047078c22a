"""Hot reload under faults: a config that is huge, an alias bomb or a read that never returns
must not hold up supervision (SIGTERM still stops tradeday at once); a change of a key that only
a new run can apply (``paths.artifacts``) is refused loudly, and the day's report still has the
day's fills."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from tests.chaos.dayrun import (
    config_text,
    finish,
    log_of,
    market_today,
    running,
    sample_engine,
    state_of,
    text_of,
    wait_for,
    wait_for_line,
    wait_for_phase,
    write,
)
from tests.fakes.http_recorder import HttpRecorder

NOTICED = "config file changed"  # tradeday.log, when the reload thread starts loading a change


def replace_config(path: Path, text: str | bytes) -> None:
    """Write the new config beside it and rename it over the old (a new inode, a new mtime)."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(text.encode() if isinstance(text, str) else text)
    os.replace(tmp, path)


def huge_config(base: str, size: int = 10 * 1024 * 1024) -> str:
    """A valid config of ``size`` bytes: the engine's own section holds the bulk."""
    line = "  - " + "x" * 95 + "\n"
    return base + "universe:\n" + line * (size // len(line))


def alias_bomb(base: str) -> str:
    """Nine levels of nine aliases: 9**9 nodes once expanded."""
    lines = ['bomb0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"bomb{level}: &a{level} [{refs}]")
    return base + "\n".join(lines) + "\n"


def sigterm_after_reload_starts(tmp_path: Path, cli_home: Path, new_text: str | None) -> tuple[int, str]:
    cfg = write(tmp_path, config_text(sample_engine()))
    with running(["run", "-c", str(cfg), "--start-now", "--duration", "120s"], cwd=cli_home) as proc:
        wait_for_phase(tmp_path, "TRADING", proc=proc, with_engines=True)
        if new_text is None:
            # A config whose read never returns (a FIFO nobody writes: a hung network mount).
            fifo = tmp_path / "fifo.yaml"
            os.mkfifo(fifo)
            os.replace(fifo, cfg)
        else:
            replace_config(cfg, new_text)
        wait_for_line(log_of(tmp_path), NOTICED, proc=proc)
        proc.send_signal(signal.SIGTERM)
        out, err = finish(proc, timeout=30)
    state = state_of(tmp_path)
    assert state["phase"] == "DONE" and state["engines"][0]["state"] == "STOPPED"
    return proc.returncode, err


def test_sigterm_during_the_reload_of_a_huge_config(tmp_path: Path, cli_home: Path) -> None:
    code, err = sigterm_after_reload_starts(tmp_path, cli_home, huge_config(config_text(sample_engine())))
    assert code == 143, err


def test_sigterm_during_the_reload_of_an_alias_bomb(tmp_path: Path, cli_home: Path) -> None:
    code, err = sigterm_after_reload_starts(tmp_path, cli_home, alias_bomb(config_text(sample_engine())))
    assert code == 143, err


def test_sigterm_during_a_reload_whose_read_never_returns(tmp_path: Path, cli_home: Path) -> None:
    code, err = sigterm_after_reload_starts(tmp_path, cli_home, None)
    assert code == 143, err


def test_a_reload_that_moves_the_artifacts_is_refused_and_the_report_keeps_the_fills(
        tmp_path: Path, cli_home: Path) -> None:
    with HttpRecorder() as hook:
        notifications = f"""\
            notifications:
              enabled: true
              dedup_window: 0s
              channels:
                - {{type: webhook, url: "{hook.url}/hook"}}
            """
        text = config_text(sample_engine(), eod="eod: {enabled: true}", extra=notifications)
        cfg = write(tmp_path, text)
        journal = tmp_path / "artifacts" / "journal" / f"{market_today()}.csv"
        with running(["run", "-c", str(cfg), "--start-now", "--duration", "5s"], cwd=cli_home) as proc:
            wait_for_phase(tmp_path, "TRADING", proc=proc, with_engines=True)
            assert wait_for(lambda: len(text_of(journal).splitlines()) > 1, timeout=20), "no fills yet"
            moved = text + f"paths: {{artifacts: {tmp_path / 'elsewhere'}}}\n"
            moved = moved.replace("heartbeat_interval: 1s", "heartbeat_interval: 2s")
            replace_config(cfg, moved)
            wait_for_line(log_of(tmp_path), "takes effect at the next run", proc=proc)
            out, err = finish(proc, timeout=40)
        assert proc.returncode == 0, err
        assert wait_for(lambda: any(b.get("event") == "daily_summary" for b in (r.json() for r in hook.requests)),
                        timeout=10)
        bodies = [r.json() for r in hook.requests]
    rejected = [b for b in bodies if b["event"] == "config_rejected"]
    assert len(rejected) == 1, bodies
    assert rejected[0]["level"].lower() == "warning"
    text_rejected = rejected[0]["title"] + " " + rejected[0]["message"]
    assert "paths.artifacts" in text_rejected and "takes effect at the next run" in text_rejected
    reloaded = [b for b in bodies if b["event"] == "config_reloaded"]
    assert reloaded and "session.heartbeat_interval" in reloaded[0]["message"]  # the safe part applied
    fills = len(journal.read_text().splitlines()) - 1
    report = json.loads((tmp_path / "artifacts" / "reports" / "daily" / f"{market_today()}.json").read_text())
    assert report["summary"]["fills"] == fills > 0
    assert not (tmp_path / "elsewhere" / "journal").exists() and not (tmp_path / "elsewhere" / "reports").exists()
    assert "paths.artifacts" in err  # the WARNING is on stderr too


def test_the_reload_whitelist(tmp_path: Path) -> None:
    """Which changes a reload applies and which wait for the next run (session/reload.py)."""
    from session.config import load_config
    from session.reload import plan_reload

    base = config_text(sample_engine()) + "strategy: {lots: 1}\n"
    current = load_config(write(tmp_path, base, "a.yaml"))
    changed = (base.replace("heartbeat_interval: 1s", "heartbeat_interval: 2s, start_before_open: 1m")
               .replace("stop_timeout: 5s", "stop_timeout: 9s, max_restarts: 2, env: {X: '1'}")
               .replace("strategy: {lots: 1}", "strategy: {lots: 2}")
               + "paths: {artifacts: elsewhere}\nbroker: {kind: ibkr}\n")
    plan = plan_reload(current, load_config(write(tmp_path, changed, "b.yaml")))
    assert plan.applied == ["session.heartbeat_interval", "engines[demo].max_restarts",
                            "engines[demo].stop_timeout"]
    assert set(plan.rejected) == {"paths.artifacts", "broker.kind", "session.start_before_open",
                                  "engines[demo].env.X"}  # the engine's own `strategy` is neither
    merged = plan.merged
    assert merged.session.heartbeat_interval == 2
    assert merged.session.start_before_open == current.session.start_before_open
    assert merged.engines[0].stop_timeout == 9 and merged.engines[0].env == {}
    assert merged.artifacts_dir == current.artifacts_dir and merged.path == current.path
