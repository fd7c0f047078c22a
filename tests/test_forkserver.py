"""The suite's fork server (tests/forkserver.py) gives a run what an exec of the console script
gives it: output, exit status, environment, working directory, umask, stdin, fresh signal
dispositions; and execs when a fork cannot be the same run."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import FORK_SERVER, run_tradeday, write_config
from tests.forkserver import startup_env

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")


def _both(args: list[str], **kw: object) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    return run_tradeday(args, **kw), run_tradeday(args, fresh=True, **kw)  # type: ignore[arg-type]


def test_a_forked_run_prints_and_exits_as_an_exec_does(tmp_path: Path, cli_home: Path) -> None:
    assert FORK_SERVER.usable(dict(os.environ)), "the fork server did not start"
    cfg = write_config(tmp_path, f"""
        root: {tmp_path}
        market: {{calendar: XNYS}}
        engines: [{{name: e, command: ["{sys.executable}", "-c", "pass"]}}]
    """)
    bad = write_config(tmp_path, "market: {calendar: XNYS}\nnot_a_section: 1\n", name="typo.yaml")
    codes = set()
    for args in (["--help"], ["config", "show", "-c", str(cfg)], ["config", "validate", "-c", str(bad)],
                 ["report", "--nosuch"], ["config", "show", "-c", str(tmp_path / "missing.yaml")]):
        forked, execed = _both(args, cwd=cli_home)
        assert (forked.returncode, forked.stdout, forked.stderr) == \
            (execed.returncode, execed.stdout, execed.stderr), args
        codes.add(forked.returncode)
    assert codes == {0, 2, 3}  # successes and errors alike


PROBE = textwrap.dedent("""
    import os, signal, sys
    print(os.getcwd(), oct(os.umask(0)), os.environ.get("PROBE_VAR"), sys.stdin.read().strip(),
          signal.getsignal(signal.SIGTERM) is signal.SIG_DFL,
          signal.getsignal(signal.SIGINT) is signal.default_int_handler,
          signal.getsignal(signal.SIGPIPE) is signal.SIG_IGN, sys.argv[1:], sep="|")
    print("to stderr", file=sys.stderr)
    sys.exit(int(os.environ["PROBE_EXIT"]))
""")


def test_the_child_gets_the_callers_cwd_env_umask_stdin_and_fresh_signals(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """What a child is given, read by a probe script run in place of `cli.main:main`, against
    the same probe exec'd by subprocess.run. The server has run other children before (and
    is a long-lived process with its own state): none of it reaches this one."""
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    env = {**os.environ, "PROBE_VAR": "x1", "PROBE_EXIT": "3"}
    old = os.umask(0o027)
    try:
        assert FORK_SERVER.usable(env)
        forked = FORK_SERVER.run([sys.executable, "a b"], env, None, 30, "hello\r\n", script=str(probe))
        execed = subprocess.run([sys.executable, str(probe), "a b"], env=env, input="hello\r\n",
                                capture_output=True, text=True, timeout=30)
    finally:
        os.umask(old)
    assert forked.stdout == f"{tmp_path / 'here'}|0o27|x1|hello|True|True|True|['a b']\n"
    assert (forked.returncode, forked.stdout, forked.stderr) == (3, execed.stdout, "to stderr\n")
    assert execed.returncode == 3


def test_an_interpreter_start_up_variable_makes_it_an_exec() -> None:
    env = dict(os.environ)
    assert FORK_SERVER.usable(env)
    for name, value in (("LANG", "C"), ("PYTHONIOENCODING", "latin-1"), ("LD_PRELOAD", "x.so"),
                        ("FAKETIME", "@2026-01-01 00:00:00")):
        if env.get(name) != value:
            assert not FORK_SERVER.usable({**env, name: value}), name
    assert FORK_SERVER.usable({**env, "PYTHONPYCACHEPREFIX": "/tmp/elsewhere", "TZ": "Asia/Kolkata"})
    assert startup_env({"PYTHONPATH": "a", "HOME": "/h"}) == {"PYTHONPATH": "a"}


def test_a_timeout_kills_the_run_and_raises_as_subprocess_does(tmp_path: Path, cli_home: Path) -> None:
    cfg = write_config(tmp_path, f"""
        root: {tmp_path}
        market: {{calendar: XNYS}}
        engines: [{{name: e, command: ["{sys.executable}", "-c", "import time; time.sleep(60)"]}}]
    """)
    with pytest.raises(subprocess.TimeoutExpired):
        run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "60s"], cwd=cli_home, timeout=3)
    assert run_tradeday(["--help"], cwd=cli_home, timeout=30).returncode == 0
