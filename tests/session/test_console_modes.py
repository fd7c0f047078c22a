"""What engine output reaches the terminal: the ``[name]`` prefix, the per-engine ``console:
true|false|errors`` setting, and notification echoes naming the engine once. Through the real
path: ``tradeday run`` and the Supervisor with real engine processes (tests/engines/chatty.py)."""
from __future__ import annotations

import io
import os
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from session.supervisor import EngineSpec, Supervisor
from tests.conftest import ENGINES, run_tradeday, write_config
from tests.session.test_run import config_text, market_today

PY = sys.executable
FILLER = 3000  # ~250 KB per engine: many reads, lines split across them
# The lines of chatty.py that `console: errors` shows, in order (stdout and stderr each keep
# their own order; across the two pipes the console may interleave them).
ERROR_LINES_STDOUT = ["12:00:01 ERROR {n} order rejected: margin", "{n} FATAL: cannot continue"]
ERROR_LINES_STDERR = [
    "{n} CRITICAL broker session lost",
    "{n} Traceback (most recent call last):",
    '  File "{n}.py", line 3, in <module>',
    "    raise ValueError('boom')",
    "ValueError: boom {n}",
]


def chatty(name: str, **fields: str) -> str:
    more = "".join(f", {k}: {v}" for k, v in fields.items())
    return (f'  - {{name: {name}, command: ["{PY}", "{ENGINES}/chatty.py", "{name}", "{FILLER}"],'
            f" restart: never, start_secs: 0s{more}}}")


def log_body(log: Path) -> list[str]:
    """The engine's own lines in its log, without timestamps and tradeday's notes."""
    lines = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    return [line for line in lines if not line.startswith("### tradeday:")]


def shown(console: list[str], name: str) -> list[str]:
    tag = f"[{name}] "
    return [line[len(tag):] for line in console if line.startswith(tag)]


def test_console_settings_prefix_and_echoes_through_tradeday_run(tmp_path: Path, cli_home: Path) -> None:
    engines = "\n        ".join([chatty("loud"), chatty("hush", console="false"), chatty("picky", console="errors")])
    cfg = write_config(tmp_path, config_text(engines))
    proc = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "30s"], cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    console = (proc.stdout + proc.stderr).splitlines()
    logs = tmp_path / "artifacts" / "logs" / str(market_today())

    # console: true (the default): every line, prefixed once with [name], nothing else added.
    loud_log = log_body(logs / "loud.log")
    assert len(loud_log) == 12 + FILLER + 1 and "@tradeday" not in "".join(loud_log)
    assert Counter(shown(console, "loud")) == Counter(loud_log)
    assert not any("[loud]" in line[1:] for line in console if line.startswith("[loud] "))

    # console: false: nothing on the terminal, everything in its log.
    assert shown(console, "hush") == []
    assert not any(line.startswith("hush ") or " hush filler" in line for line in console)
    assert Counter(log_body(logs / "hush.log")) == Counter(line.replace("loud", "hush") for line in loud_log)

    # console: errors: exactly the error lines (stdout and stderr alike), the log keeps all.
    picky = shown(console, "picky")
    assert [line for line in picky if line in _lines(ERROR_LINES_STDOUT, "picky")] == _lines(ERROR_LINES_STDOUT, "picky")
    assert [line for line in picky if line in _lines(ERROR_LINES_STDERR, "picky")] == _lines(ERROR_LINES_STDERR, "picky")
    assert len(picky) == len(ERROR_LINES_STDOUT) + len(ERROR_LINES_STDERR), picky
    assert len(log_body(logs / "picky.log")) == len(loud_log)

    # A notification echo names the engine once, for every console setting (it is tradeday's line).
    for name in ("loud", "hush", "picky"):
        [echo] = [line for line in console if f"BUY 10 AAPL {name}" in line]
        assert echo.endswith(f"[{name}] INFO: BUY 10 AAPL {name}"), echo
        assert echo.count(name) == 2 and "engine " + name not in echo, echo


def _lines(templates: list[str], name: str) -> list[str]:
    return [t.format(n=name) for t in templates]


def test_console_setting_changes_on_a_running_engine(tmp_path: Path) -> None:
    """A hot reload (Supervisor.update_policy) takes a chatty engine off the console at once."""
    flag = tmp_path / "changed"
    spec = EngineSpec(name="e", argv=[PY, str(ENGINES / "chatty.py"), "e", "0", "--until", str(flag)],
                      cwd=tmp_path, env={"PATH": os.environ.get("PATH", "")}, log_file=tmp_path / "e.log",
                      restart="never", start_secs=0, hang_timeout=0)
    console = _SharedBuffer()
    sup = Supervisor([spec], console=console)
    sup.start()
    try:
        assert console.wait_for(b"[e] e waiting\n")
        sup.update_policy("e", console="errors")
        flag.touch()  # the engine prints "AFTER" only now: after the change, in a later read
        assert sup.run_until(datetime.now(UTC) + timedelta(seconds=30), threading.Event()) == "all_finished"
    finally:
        sup.stop_all()
    log = log_body(spec.log_file)
    assert "e AFTER the change" in log and "e done" in log
    assert b"AFTER" not in console.getvalue() and b"[e] e done" not in console.getvalue()


class _SharedBuffer(io.BytesIO):
    """A console a test can wait on (the supervisor writes from its reader threads)."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()

    def write(self, data: bytes) -> int:  # type: ignore[override]
        with self._changed:
            written = super().write(data)
            self._changed.notify_all()
        return written

    def wait_for(self, needle: bytes, timeout: float = 30) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: needle in self.getvalue(), timeout)
