"""Everything tradeday writes is private: files 0600, folders 0700 (README "Security").

The full demo through the console script (`tradeday run --start-now --duration 5s` on a copy
of configs/dev.yaml with its own artifacts folder), then every file and folder under that
folder is checked: logs, state, the notification outbox, locks, config history, reports,
analytics, the journal. With `paths.group`, files are 0640 and folders 0750, in that group.
"""
from __future__ import annotations

import grp
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_tradeday
from tests.fakes.ports import free_port


def demo_config(tmp_path: Path, *, group: str | None = None) -> tuple[Path, Path]:
    """configs/dev.yaml with its own artifacts folder, and an outbox (a channel nobody answers)."""
    data = yaml.safe_load((REPO / "configs" / "dev.yaml").read_text())
    artifacts = tmp_path / "artifacts"
    data["root"] = str(REPO)  # the sample engine and hooks, as in the repository
    data["paths"] = {"artifacts": str(artifacts), **({"group": group} if group else {})}
    data["checks"]["min_free_disk"] = "1MiB"
    data["session"]["heartbeat_interval"] = "1s"
    # A channel whose port refuses: its messages stay in the outbox file, which is checked too.
    data["notifications"] = {"enabled": True, "flush_timeout": "1s", "timeout": "1s", "max_attempts": 1,
                             "channels": [{"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/hook"}]}
    cfg = tmp_path / "configs" / "dev.yaml"
    cfg.parent.mkdir()
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    return cfg, artifacts


def run_demo(tmp_path: Path, cli_home: Path, *, group: str | None = None) -> Path:
    cfg, artifacts = demo_config(tmp_path, group=group)
    assert not artifacts.exists()
    # The caller's umask is the usual 022: tradeday must not depend on it being strict.
    r = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "5s"], cwd=cli_home, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "report (md)" in r.stdout
    return artifacts


def modes_under(artifacts: Path) -> dict[str, tuple[str, int, int]]:
    """{relative path: (kind, permission bits, gid)} for the folder itself and all below it."""
    found = {}
    for path in [artifacts, *artifacts.rglob("*")]:
        info = path.lstat()
        kind = "dir" if stat.S_ISDIR(info.st_mode) else "file"
        found[str(path.relative_to(artifacts)) or "."] = (kind, stat.S_IMODE(info.st_mode) & 0o777, info.st_gid)
    return found


def assert_written(found: dict[str, tuple[str, int, int]]) -> None:
    """The demo wrote what the test claims to check: every kind of file is there."""
    names = set(found)
    for expected in ("logs", "state", "notifications", "config-history", "reports", "journal", "analytics"):
        assert expected in names, f"the demo wrote no {expected}/ folder: {sorted(names)}"
    assert any(n.endswith(".lock") for n in names), "no lock file"
    assert any(n.endswith("tradeday.log") for n in names), "no tradeday.log"
    assert any(n.endswith("outbox.jsonl") for n in names), "no outbox"
    assert any(n.startswith("reports/daily/") and n.endswith(".md") for n in names), "no daily report"
    assert any(n.startswith("config-history/") and n.endswith(".yaml") for n in names), "no config version"


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_demo_writes_only_private_files_and_folders(tmp_path: Path, cli_home: Path) -> None:
    found = modes_under(run_demo(tmp_path, cli_home))
    assert_written(found)
    wrong = {name: f"{kind} {mode:04o}" for name, (kind, mode, _gid) in found.items()
             if mode != (0o700 if kind == "dir" else 0o600)}
    assert not wrong, f"not private (files 0600, folders 0700): {wrong}"


def shareable_group() -> grp.struct_group:
    """A group other than our own primary group, so that the test sees tradeday set it."""
    for name in ("adm", "daemon", "staff", "users"):
        try:
            group = grp.getgrnam(name)
        except KeyError:
            continue
        if group.gr_gid != os.getgid():
            return group
    pytest.skip("no second group on this machine")


def test_paths_group_shares_read_access_with_that_group(tmp_path: Path, cli_home: Path) -> None:
    group = shareable_group()
    found = modes_under(run_demo(tmp_path, cli_home, group=group.gr_name))
    assert_written(found)
    wrong = {name: f"{kind} {mode:04o} gid {gid}" for name, (kind, mode, gid) in found.items()
             if mode != (0o750 if kind == "dir" else 0o640) or gid != group.gr_gid}
    assert not wrong, f"not shared with group {group.gr_name} (files 0640, folders 0750): {wrong}"


def test_an_unknown_group_is_a_config_error(tmp_path: Path, cli_home: Path) -> None:
    cfg, artifacts = demo_config(tmp_path, group="no-such-group-xq")
    r = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "1s"], cwd=cli_home)
    assert r.returncode == 3, r.stderr
    assert "paths.group" in r.stderr and "no-such-group-xq" in r.stderr and "Traceback" not in r.stderr
    assert not artifacts.exists()


# --- the day lock, in process (whatever the caller's umask) ------------------------------------------

def test_the_day_lock_and_its_pid_file_are_0600(tmp_path: Path) -> None:
    from datetime import date

    from session.lock import acquire_day_lock, lock_path

    day = date(2026, 11, 2)
    path = lock_path(tmp_path, day)
    with acquire_day_lock(tmp_path, day):  # the test process's umask is 022
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.with_name(path.name + ".pid").stat().st_mode) == 0o600
    # A lock file left by an older version, readable by all, is made private once held.
    path.chmod(0o644)
    with acquire_day_lock(tmp_path, day):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
