"""Conventions every command keeps (README "Commands"): ``-h`` works everywhere, every command takes
``--log-level`` (wired to tradeday's logging) and ``--config/-c`` (all but ``init``, which writes a
config), and shell completion is on.

The commands are enumerated from the Typer app itself, so a new command is covered the day it is
registered; ``SAMPLE_ARGS`` must then learn how to run it (a test says so).
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from cli.main import app
from tests.conftest import run_tradeday, write_config

# The one command without --config/-c: it writes a config instead of reading one (README says so).
NO_CONFIG_OPTION = {"init"}
DEBUG_MARK = "DEBUG   tradeday.cli:"  # the line cli.common's --log-level callback logs at DEBUG


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk(sub, (*path, name))


ALL = list(walk(typer.main.get_command(app)))
# What runs: plain commands, and groups that do something without a subcommand (`calendar`).
RUNNABLE = [path for path, cmd in ALL
            if path and (not hasattr(cmd, "commands") or getattr(cmd, "invoke_without_command", False))]


def ids(paths: list[tuple[str, ...]]) -> list[str]:
    return [" ".join(p) or "tradeday" for p in paths]


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    cfg = write_config(tmp_path, f"""
        mode: paper
        market: {{calendar: XNYS}}
        engines: [{{name: e, command: ["{sys.executable}", "-c", "pass"]}}]
        broker: {{kind: none}}
        paths: {{artifacts: artifacts}}
        notifications: {{enabled: false}}
        checks: {{min_free_disk: 1MiB}}
        """)
    other = write_config(tmp_path, cfg.read_text().replace("name: e", "name: f"), name="other.yaml")
    holidays = tmp_path / "holidays.csv"
    holidays.write_text("date,description\n2026-12-25,Christmas\n", encoding="utf-8")
    logs = tmp_path / "artifacts" / "logs" / "2026-11-20"
    logs.mkdir(parents=True)
    (logs / "tradeday.log").write_text("a line\n", encoding="utf-8")
    return {"cfg": cfg, "other": other, "holidays": holidays, "init": tmp_path / "fresh"}


# How to run each command for real (quickly, with the fixture's config); "-c CFG" is added.
SAMPLE_ARGS: dict[str, list[str]] = {
    "calendar": ["--date", "2026-11-27"],
    "calendar import": ["{holidays}"],
    "config validate": [],
    "config show": [],
    "config history": [],
    "config diff": ["{cfg}", "{other}"],
    "engine restart": ["demo", "--date", "2026-11-20"],  # no run in progress: exit 7, after the options
    "engine start": ["demo", "--date", "2026-11-20"],
    "engine stop": ["demo", "--date", "2026-11-20"],
    "eod": ["--date", "2026-11-20", "--no-analytics", "--no-backtest"],
    "init": ["{init}", "--market", "nyse", "--broker", "none"],
    "logs": ["--date", "2026-11-20"],
    "notify test": [],
    "precheck": ["--only", "config"],
    "report": ["2026-11-20"],
    "run": ["--dry-run", "--start-now"],
    "schedule": ["cron"],
    "status": ["--date", "2026-11-20"],
}


def test_every_command_has_sample_arguments() -> None:
    assert set(ids(RUNNABLE)) == set(SAMPLE_ARGS), "a command was added or removed: update SAMPLE_ARGS"


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=ids([p for p, _ in ALL]))
def test_help_everywhere(path: tuple[str, ...], cli_home: Path) -> None:
    r = run_tradeday([*path, "-h"], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    assert r.stdout.lstrip().startswith("Usage: tradeday" + "".join(f" {p}" for p in path))
    assert "Traceback" not in r.stderr


# Every command's --log-level is the one cli.common.LogLevelOpt (test_config_option_on_every_command
# style checks below read the params): the DEBUG run proves each command wires it; that a lower level
# hides DEBUG is shown on a command of each kind (a plain one, a group's, the day, a writer).
QUIET_SAMPLES = {("status",), ("config", "validate"), ("run",), ("init",)}


@pytest.mark.parametrize("path", RUNNABLE, ids=ids(RUNNABLE))
def test_log_level_on_every_command(path: tuple[str, ...], setup: dict[str, Path], cli_home: Path) -> None:
    name = " ".join(path)
    args = [a.format(**setup) for a in SAMPLE_ARGS[name]]
    config = [] if path[0] in NO_CONFIG_OPTION else ["-c", str(setup["cfg"])]
    debug = run_tradeday([*path, *args, *config, "--log-level", "DEBUG"], cwd=cli_home)
    assert "No such option" not in debug.stderr and "Traceback" not in debug.stderr, debug.stderr
    assert DEBUG_MARK in debug.stderr, debug.stderr  # the level reached setup_logging
    if path not in QUIET_SAMPLES:
        return
    if path[0] == "init":  # a second init into the same folder would be refused
        args = [a.replace(str(setup["init"]), str(setup["init"]) + "-2") for a in args]
    quiet = run_tradeday([*path, *args, *config, "--log-level", "warning"], cwd=cli_home)
    assert "No such option" not in quiet.stderr and DEBUG_MARK not in quiet.stderr, quiet.stderr


def test_a_bad_log_level_is_a_usage_error(cli_home: Path) -> None:
    bad = run_tradeday(["status", "--log-level", "LOUD"], cwd=cli_home)
    assert bad.returncode == 2 and "LOUD" in bad.stderr and "Traceback" not in bad.stderr
    assert run_tradeday(["--help"], cwd=cli_home).stdout.lstrip().startswith("Usage: tradeday")


@pytest.mark.parametrize("path", RUNNABLE, ids=ids(RUNNABLE))
def test_config_option_on_every_command(path: tuple[str, ...]) -> None:
    command = dict(ALL)[path]
    opts = {o for p in command.params for o in p.opts}
    [log_level] = [p for p in command.params if "--log-level" in p.opts]
    [status_level] = [p for p in dict(ALL)[("status",)].params if "--log-level" in p.opts]
    # one callback (Typer wraps it per command): the QUIET_SAMPLES runs cover all
    assert log_level.callback is not None and status_level.callback is not None
    assert (log_level.callback.__module__, log_level.callback.__qualname__) == \
        (status_level.callback.__module__, status_level.callback.__qualname__) == ("cli.common", "_apply_log_level")
    if path[0] in NO_CONFIG_OPTION:
        assert "--config" not in opts
    else:
        assert {"--config", "-c"} <= opts


def test_readme_names_the_command_without_config() -> None:
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "Every command but `tradeday init` takes `--config/-c PATH`" in readme
    assert "`--log-level`" in readme


def test_shell_completion(cli_home: Path) -> None:
    # Shell detection would look at the parent process (pytest); name the shell instead.
    env = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    script = run_tradeday(["--show-completion", "bash"], cwd=cli_home, env=env)
    assert script.returncode == 0, script.stderr
    assert "_TRADEDAY_COMPLETE=complete_bash" in script.stdout
    # What bash then runs at each <TAB>: the real completion of a partial command line.
    words = run_tradeday([], cwd=cli_home, env={"_TRADEDAY_COMPLETE": "complete_bash",
                                                "COMP_WORDS": "tradeday con", "COMP_CWORD": "1"})
    assert words.returncode == 0, words.stderr
    assert words.stdout.split() == ["config"]
    options = run_tradeday([], cwd=cli_home, env={"_TRADEDAY_COMPLETE": "complete_bash",
                                                  "COMP_WORDS": "tradeday logs --da", "COMP_CWORD": "2"})
    assert options.stdout.split() == ["--date"]
