"""An artifacts folder tradeday cannot write: a regular file in its place, a read-only mount,
a folder that belongs to another user (seen by root, and by that other user for real).
Loading the config writes nothing, so every command gets as far as its own work and exits
with its documented code, one clear line, never a traceback:

- ``config validate`` 0, with a warning that the version could not be recorded;
- ``config show`` 0, ``status`` 0 ("no run recorded");
- ``precheck`` and ``run`` 1, naming the folder and the fix (``filesystem.E00x``);
- ``eod`` 5 (the end of day failed: its log and report cannot be written), and so ``report``
  when there is a day to report on.

Real files, real tmpfs mounts, real uids, the real console script.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.exitcodes import ExitCode
from tests.conftest import FIXTURES, TRADEDAY, caches_for_user, run_tradeday, write_config

OTHER_UID = 12345
JOURNAL = FIXTURES / "journals" / "2026-11-20.csv"  # a day of fills, for `report`
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT or not shutil.which("mount"), reason="needs root (mount, chown)")

CONFIG = f"""
    mode: paper
    market: {{calendar: XNYS}}
    session: {{allowed_window: "00:00-23:59"}}
    engines: [{{name: e, command: ["{sys.executable}", "-c", "pass"]}}]
    paths: {{artifacts: art}}
    notifications: {{enabled: false}}
    checks: {{min_free_disk: 1KiB}}
    """

# Each command, its arguments, and the exit code it documents for an unwritable artifacts folder.
COMMANDS: list[tuple[list[str], int]] = [
    (["config", "validate"], ExitCode.OK),
    (["config", "show"], ExitCode.OK),
    (["config", "history"], ExitCode.OK),
    (["status"], ExitCode.OK),
    (["precheck"], ExitCode.PRECHECK_FAILED),
    (["run", "--dry-run"], ExitCode.PRECHECK_FAILED),
    (["run", "--start-now", "--duration", "1s"], ExitCode.PRECHECK_FAILED),
    (["eod", "--no-analytics", "--no-backtest"], ExitCode.EOD_FAILED),
]


def check_every_command(config: Path, cwd: Path, problem_id: str, must_name: list[str],
                        runner: list[str] | None = None) -> None:
    for args, expected in COMMANDS:
        proc = run_as(runner, [*args, "-c", str(config)], cwd)
        context = f"tradeday {' '.join(args)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, context
        assert proc.returncode == expected, context
        if args == ["config", "validate"]:
            assert "warning: cannot record the config version" in proc.stderr, context
        if expected in (ExitCode.PRECHECK_FAILED, ExitCode.EOD_FAILED):
            text = " ".join((proc.stdout + proc.stderr).split())  # precheck wraps its lines
            for needle in must_name:
                assert needle in text, f"{needle!r} missing; {context}"
    proc = run_as(runner, ["precheck", "-c", str(config), "--json", "--only", "filesystem"], cwd)
    data = json.loads(proc.stdout)
    assert proc.returncode == ExitCode.PRECHECK_FAILED
    failing = [c for c in data["checks"] if c["level"] == "ERROR"]
    assert [c["id"] for c in failing] == [problem_id], failing  # one finding, not one per folder
    assert failing[0]["hint"], failing


def run_as(runner: list[str] | None, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    if runner is None:
        return run_tradeday(args, cwd=cwd, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
    env["HOME"] = str(cwd)
    env.update(caches_for_user(OTHER_UID))
    return subprocess.run([*runner, TRADEDAY, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)


@contextmanager
def mounted_tmpfs(folder: Path, options: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def test_artifacts_is_a_regular_file(tmp_path: Path, cli_home: Path) -> None:
    config = write_config(tmp_path, CONFIG)
    (tmp_path / "art").write_text("not a folder\n")
    check_every_command(config, cli_home, "filesystem.E003",
                        [f"{tmp_path / 'art'} is a file, not a folder", "paths.artifacts"])
    assert (tmp_path / "art").read_text() == "not a folder\n"


@needs_root
def test_artifacts_on_a_read_only_mount(tmp_path: Path, cli_home: Path) -> None:
    config = write_config(tmp_path, CONFIG)
    with mounted_tmpfs(tmp_path / "art", "ro,size=1m"):
        check_every_command(config, cli_home, "filesystem.E004",
                            [f"{tmp_path / 'art'} is on a read-only filesystem", "remount it read-write"])


@needs_root
def test_artifacts_remounted_read_only_with_a_day_of_data(tmp_path: Path, cli_home: Path) -> None:
    # Yesterday's files are there and readable; nothing new can be written.
    config = write_config(tmp_path, CONFIG)
    art = tmp_path / "art"
    with mounted_tmpfs(art, "size=2m"):
        assert run_tradeday(["config", "validate", "-c", str(config)], cwd=cli_home).returncode == 0
        (art / "journal").mkdir()
        shutil.copy(JOURNAL, art / "journal" / JOURNAL.name)
        subprocess.run(["mount", "-o", "remount,ro", str(art)], check=True)
        check_every_command(config, cli_home, "filesystem.E004", [f"{art} is on a read-only filesystem"])
        history = run_tradeday(["config", "history", "-c", str(config), "--json"], cwd=cli_home)
        assert history.returncode == 0 and len(json.loads(history.stdout)) == 1
        report = run_tradeday(["report", JOURNAL.stem, "-c", str(config)], cwd=cli_home)
        assert report.returncode == ExitCode.EOD_FAILED and "Traceback" not in report.stderr
        assert "Read-only file system" in report.stderr


@needs_root
def test_artifacts_owned_by_another_uid_seen_by_root(tmp_path: Path, cli_home: Path) -> None:
    # Root can write anywhere, but what it wrote would belong to root and lock out the
    # folder's owner: judged by owner and mode bits, as the kernel would for another user.
    config = write_config(tmp_path, CONFIG)
    art = tmp_path / "art"
    art.mkdir(mode=0o755)
    os.chown(art, OTHER_UID, OTHER_UID)
    check_every_command(config, cli_home, "filesystem.E005",
                        [f"{art} is not writable by uid 0", f"belongs to uid {OTHER_UID}", "chown -R 0:0",
                         "fsGroup"])
    assert list(art.iterdir()) == []  # nothing written there by any command


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder another uid can reach (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="tradeday-uid-test-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@needs_root
def test_artifacts_owned_by_root_run_as_another_user(shared_folder: Path) -> None:
    # The fresh Docker volume: root's folder, tradeday running as an unprivileged user.
    runner = ["setpriv", f"--reuid={OTHER_UID}", f"--regid={OTHER_UID}", "--clear-groups"]
    if not shutil.which("setpriv"):
        pytest.skip("setpriv is not installed")
    home = shared_folder / "home"
    home.mkdir()
    os.chown(home, OTHER_UID, OTHER_UID)
    probe = run_as(runner, ["--version"], home)
    if probe.returncode != 0:
        pytest.skip(f"tradeday does not run as uid {OTHER_UID} here: {probe.stderr.strip()}")
    config = write_config(shared_folder, CONFIG)
    config.chmod(0o644)
    art = shared_folder / "art"
    art.mkdir(mode=0o755)
    check_every_command(config, home, "filesystem.E005",
                        [f"{art} is not writable by uid {OTHER_UID}", "belongs to uid 0", "fsGroup",
                         f"chown -R {OTHER_UID}:{OTHER_UID}"], runner=runner)


def test_a_missing_artifacts_folder_under_an_unwritable_parent_says_mkdir(tmp_path: Path, cli_home: Path) -> None:
    if not IS_ROOT:
        pytest.skip("needs root to chown")
    config = write_config(tmp_path, CONFIG.replace("artifacts: art", "artifacts: vol/art"))
    vol = tmp_path / "vol"
    vol.mkdir(mode=0o755)
    os.chown(vol, OTHER_UID, OTHER_UID)
    proc = run_tradeday(["precheck", "-c", str(config), "--json", "--only", "filesystem"], cwd=cli_home)
    assert proc.returncode == ExitCode.PRECHECK_FAILED, proc.stderr
    (finding,) = [c for c in json.loads(proc.stdout)["checks"] if c["level"] == "ERROR"]
    assert finding["id"] == "filesystem.E005"
    assert f"cannot create the artifacts folder {vol / 'art'}" in finding["message"]
    assert f"mkdir -p {vol / 'art'}" in finding["hint"]
    assert not (vol / "art").exists()


def test_a_usable_folder_is_recorded_only_after_the_check(tmp_path: Path, cli_home: Path) -> None:
    # Loading writes nothing; precheck records the version once the filesystem check passed.
    config = write_config(tmp_path, CONFIG)
    history = tmp_path / "art" / "config-history"
    for args in (["config", "show"], ["status"], ["precheck", "--only", "calendar"]):
        assert run_tradeday([*args, "-c", str(config)], cwd=cli_home).returncode == 0
        assert not (tmp_path / "art").exists(), args
    proc = run_tradeday(["precheck", "-c", str(config), "--only", "filesystem"], cwd=cli_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(list(history.glob("*.yaml"))) == 1


@needs_root
@pytest.mark.parametrize(("options", "fill_with", "needle"), [
    ("size=1m", "space", "GiB free on"),  # min_free_disk below: 1KiB -> 2MiB for this case
    ("size=1m,nr_inodes=8", "inodes", "no free inodes on"),
])
def test_a_nearly_full_disk(tmp_path: Path, cli_home: Path, options: str, fill_with: str, needle: str) -> None:
    text = CONFIG.replace("min_free_disk: 1KiB", "min_free_disk: 2MiB") if fill_with == "space" else CONFIG
    config = write_config(tmp_path, text)
    art = tmp_path / "art"
    with mounted_tmpfs(art, options):
        for sub in ("logs", "state", "reports", "journal", "config-history"):
            (art / sub).mkdir()
        if fill_with == "inodes":
            n = 0
            while True:
                try:
                    (art / f"f{n}").touch()
                except OSError:
                    break
                n += 1
        proc = run_tradeday(["precheck", "-c", str(config), "--json", "--only", "filesystem"], cwd=cli_home)
        assert proc.returncode == ExitCode.PRECHECK_FAILED, proc.stdout + proc.stderr
        failing = [c for c in json.loads(proc.stdout)["checks"] if c["level"] == "ERROR"]
        assert failing and {c["id"] for c in failing} <= {"filesystem.E002"}, failing
        assert any(needle in c["message"] and str(art) in c["message"] for c in failing), failing
