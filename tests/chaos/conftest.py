"""Fixtures of the chaos tests: real tmpfs mounts (a full or read-only disk), loopback servers.

Mounting needs root (the test machines run as root); elsewhere these tests are skipped.
"""
from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and Path("/bin/mount").exists()


needs_root = pytest.mark.skipif(not can_mount(), reason="mounting a tmpfs needs root")


@contextmanager
def tmpfs(folder: Path, size: str = "1m") -> Iterator[Path]:
    """A real tmpfs of ``size`` at ``folder``, unmounted (lazily, if still busy) afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, name: str = "filler") -> Path:
    """Write ``folder/name`` until the disk says ENOSPC: the disk is full afterwards."""
    path = folder / name
    block = b"\0" * 65536
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    break
                block = block[: len(block) // 2]
    finally:
        os.close(fd)
    return path


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/disk``: a 1 MiB tmpfs."""
    if not can_mount():
        pytest.skip("mounting a tmpfs needs root")
    with tmpfs(tmp_path / "disk", "1m") as folder:
        yield folder
