"""`tradeday init DIR --market nse|nyse [--broker kite|ibkr|none]`: a new user's first folder.

Every market x broker: the files and their modes, the config passes `config validate` with its
artifacts inside DIR, a second init is refused (exit 2, naming the file) unless --force, which still
keeps filled-in secrets; and with `--broker none` a short demo-style run works from an unrelated
working directory (the engine written into DIR, not the repo's examples/).
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_tradeday

COMBOS = [(market, broker) for market in ("nse", "nyse") for broker in ("kite", "ibkr", "none")]
CALENDAR = {"nse": "XNSE", "nyse": "XNYS"}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def init(target: Path, market: str, broker: str | None, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["init", str(target), "--market", market, *(["--broker", broker] if broker else []), *extra]
    return run_tradeday(args, cwd=cwd)


@pytest.mark.parametrize(("market", "broker"), COMBOS)
def test_init_writes_a_commented_valid_private_setup(tmp_path: Path, cli_home: Path, market: str,
                                                      broker: str) -> None:
    target = tmp_path / "desk"
    r = init(target, market, broker, cli_home)
    assert r.returncode == 0, r.stderr
    cfg = target / "tradeday.yaml"
    text = cfg.read_text(encoding="utf-8")
    assert sum(1 for line in text.splitlines() if line.lstrip().startswith("#")) >= 15  # commented
    data = yaml.safe_load(text)
    assert data["mode"] == "paper"
    assert data["market"]["calendar"] == CALENDAR[market]
    assert data["broker"]["kind"] == broker
    assert data["paths"]["artifacts"] == "artifacts"

    secrets = target / "secrets"
    if broker == "kite":
        assert mode_of(secrets) == 0o700
        for name, key in (("kite.env", "KITE_API_KEY="), ("kite_tokens.env", "ACCESS_TOKEN=")):
            path = secrets / name
            assert mode_of(path) == 0o600, name
            assert key in [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        assert data["broker"]["kite"] == {"secrets_file": "secrets/kite.env", "tokens_file": "secrets/kite_tokens.env"}
    else:
        assert not secrets.exists()
    if broker == "ibkr":
        assert data["broker"]["ibkr"]["port"] in (7497, 4002)  # a paper port
        assert data["broker"]["ibkr"]["host"] == "127.0.0.1"

    ignored = (target / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "secrets/" in ignored and "artifacts/" in ignored

    # The engine is in DIR, runnable by tradeday's interpreter, and is what the config runs.
    engine = target / "engines" / "placeholder_engine.py"
    assert engine.is_file()
    assert data["engines"][0]["command"][:2] == ["{python}", "engines/placeholder_engine.py"]

    # The next three commands, with the config's absolute path (cron needs it).
    assert f"edit {cfg}" in r.stdout
    assert f"tradeday precheck -c {cfg}" in r.stdout
    assert f"tradeday schedule cron -c {cfg}" in r.stdout

    valid = run_tradeday(["config", "validate", "-c", str(cfg), "--json"], cwd=cli_home)
    assert valid.returncode == 0, valid.stderr
    assert json.loads(valid.stdout)["ok"] is True
    assert (target / "artifacts" / "config-history").is_dir()  # paths.artifacts resolved inside DIR
    assert not (cli_home / "artifacts").exists()

    again = init(target, market, broker, cli_home)
    assert again.returncode == 2 and str(cfg) in again.stderr and "Traceback" not in again.stderr


def test_the_broker_defaults_to_the_markets_own(tmp_path: Path, cli_home: Path) -> None:
    for market, broker in (("nse", "kite"), ("nyse", "ibkr")):
        target = tmp_path / market
        r = init(target, market, None, cli_home)
        assert r.returncode == 0, r.stderr
        assert yaml.safe_load((target / "tradeday.yaml").read_text())["broker"]["kind"] == broker


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, cli_home: Path) -> None:
    target = tmp_path / "desk"
    assert init(target, "nse", "kite", cli_home).returncode == 0
    cfg = target / "tradeday.yaml"
    cfg.write_text(cfg.read_text() + "# my own edit\n", encoding="utf-8")
    api = target / "secrets" / "kite.env"
    api.write_text("KITE_API_KEY=filledinkey123\n", encoding="utf-8")

    again = init(target, "nse", "kite", cli_home)
    assert again.returncode == 2
    assert str(cfg) in again.stderr and "--force" in again.stderr and "Traceback" not in again.stderr
    assert cfg.read_text().endswith("# my own edit\n")  # nothing was written

    forced = init(target, "nse", "kite", cli_home, "--force")
    assert forced.returncode == 0, forced.stderr
    assert not cfg.read_text().endswith("# my own edit\n")
    assert api.read_text() == "KITE_API_KEY=filledinkey123\n"  # filled-in secrets survive --force
    assert mode_of(api) == 0o600
    assert str(api) in forced.stdout and "kept" in forced.stdout
    assert "filledinkey123" not in forced.stdout + forced.stderr


def test_init_keeps_an_existing_gitignore_and_adds_what_is_missing(tmp_path: Path, cli_home: Path) -> None:
    target = tmp_path / "repo"
    target.mkdir()
    (target / ".gitignore").write_text("__pycache__/\nartifacts/\n", encoding="utf-8")
    r = init(target, "nyse", "none", cli_home)
    assert r.returncode == 0, r.stderr
    lines = (target / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["__pycache__/", "artifacts/"]
    assert lines.count("artifacts/") == 1 and "secrets/" in lines


def test_init_into_a_file_or_with_a_bad_market_is_a_usage_error(tmp_path: Path, cli_home: Path) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    r = init(a_file, "nse", "none", cli_home)
    assert r.returncode == 2 and str(a_file) in r.stderr and "Traceback" not in r.stderr
    r = run_tradeday(["init", str(tmp_path / "x"), "--market", "lse"], cwd=cli_home)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("market", ["nse", "nyse"])
def test_a_short_run_of_the_new_setup(tmp_path: Path, cli_home: Path, market: str) -> None:
    target = tmp_path / "desk"
    assert init(target, market, "none", cli_home).returncode == 0
    cfg = target / "tradeday.yaml"
    r = run_tradeday(["run", "--start-now", "--duration", "3s", "-c", str(cfg)], cwd=cli_home, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    artifacts = target / "artifacts"
    logs = list((artifacts / "logs").glob("*/placeholder.log"))
    assert logs, list(artifacts.rglob("*"))
    log = logs[0].read_text(encoding="utf-8")
    assert "placeholder engine" in log and "stopping" in log  # it ran, and stopped on SIGTERM
    assert list((artifacts / "reports" / "daily").glob("*.json"))
    assert not (cli_home / "artifacts").exists()


def test_the_placeholder_engine_refuses_live(tmp_path: Path, cli_home: Path) -> None:
    """Exit 78 (FATAL, no restart loop) in live mode: a placeholder must never pass for a live engine."""
    target = tmp_path / "desk"
    assert init(target, "nyse", "none", cli_home).returncode == 0
    env = {**os.environ, "TRADEDAY_MODE": "live"}
    r = subprocess.run([sys.executable, str(target / "engines" / "placeholder_engine.py"), "--mode", "live"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 78 and "replace" in r.stdout + r.stderr


def test_the_templates_ship_in_the_wheel() -> None:
    """What init writes comes from session/scaffold/; each file there must be package data."""
    import fnmatch
    import tomllib

    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["session"]
    scaffold = REPO / "session" / "scaffold"
    data_files = [p.relative_to(REPO / "session").as_posix() for p in scaffold.rglob("*")
                  if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert data_files
    for name in data_files:
        assert any(fnmatch.fnmatch(name, g) for g in globs), f"{name} is not in package-data"


@contextmanager
def mounted_tmpfs(folder: Path, options: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"),
                                reason="needs root (mount)")


@needs_root
def test_init_on_a_read_only_disk_says_so(tmp_path: Path, cli_home: Path) -> None:
    with mounted_tmpfs(tmp_path / "ro", "ro,size=1m") as folder:
        r = init(folder / "desk", "nse", "kite", cli_home)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "read-only" in r.stderr.lower() and str(folder / "desk") in r.stderr


@needs_root
def test_init_on_a_full_disk_names_what_was_written(tmp_path: Path, cli_home: Path) -> None:
    # One 4 KiB page: the config fits, the engine after it does not.
    with mounted_tmpfs(tmp_path / "full", "size=4k") as folder:
        r = init(folder, "nyse", "none", cli_home)
        assert r.returncode == 2, r.stderr
        assert "Traceback" not in r.stderr and "No space left" in r.stderr
        assert f"already written: {folder / 'tradeday.yaml'}" in r.stderr
        assert not [p for p in folder.rglob(".*.tmp")]  # no half-written temp file left behind
