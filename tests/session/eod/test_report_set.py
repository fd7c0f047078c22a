"""The daily report is written as a set (issue 10): on a full disk nothing of the old set is
replaced and the error names the file and the errno; outputs that were turned off leave the set.

The disk is a real tmpfs mounted as ``paths.reports`` and filled until the new set cannot fit.
"""
from __future__ import annotations

import errno
import json
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import run_tradeday, write_config
from tests.session.eod.test_eod import HEADER, JOURNAL

DAY = date(2026, 11, 20)
SET = (".json", ".md", ".html", ".png", ".meta")  # .meta: the side file (session/eod/store.py)
PAGE = 4096
# More fills than JOURNAL: the new set is larger than the old one in every file.
BIGGER = HEADER + "".join(
    f"2026-11-20T{10 + i // 60:02d}:{i % 60:02d}:00+05:30,s{i % 3},SYM{i % 7},{'BUY' if i % 2 == 0 else 'SELL'},"
    f"{1 + i % 5},{100 + i * 0.25:.2f},0.10,O{i},T{i}\n"
    for i in range(120)
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "reports"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], check=False, capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(mount)], check=False)  # still busy: detach it now


def config(tmp_path: Path, reports: Path, *, html: bool = True, chart: bool = True,
           name: str = "tradeday.yaml") -> Path:
    return write_config(tmp_path, name=name, text=f"""
        market: {{calendar: XNSE}}
        paths: {{artifacts: artifacts, reports: {reports}}}
        eod: {{fills_source: journal}}
        reports: {{html: {str(html).lower()}, chart: {str(chart).lower()}}}
        """)


def the_set(reports: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((reports / "daily").iterdir())}


def fill_leaving(disk: Path, free: int) -> Path:
    """Fill the disk completely, then give back ``free`` bytes (whole pages)."""
    filler = disk / "filler.bin"
    chunk = b"\0" * (64 * 1024)
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (len(chunk), PAGE):
            while True:
                try:
                    if os.write(fd, chunk[:size]) < size:
                        break
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
        written = os.lseek(fd, 0, os.SEEK_CUR)
    finally:
        os.close(fd)
    os.truncate(filler, max(0, written - free))
    return filler


def test_a_full_disk_keeps_the_whole_old_set_and_names_the_file_and_errno(tmp_path: Path, small_disk: Path) -> None:
    cfg = config(tmp_path, small_disk)
    journal = tmp_path / "artifacts" / "journal" / f"{DAY}.csv"
    journal.parent.mkdir(parents=True)
    journal.write_text(JOURNAL)
    home = tmp_path / "home"
    home.mkdir()
    first = run_tradeday(["eod", "-c", str(cfg), "--date", DAY.isoformat(), "--no-analytics", "--no-backtest"],
                         cwd=home, timeout=120)
    assert first.returncode == 0, first.stderr
    old = the_set(small_disk)
    assert sorted(old) == sorted(f"{DAY}{s}" for s in SET)

    journal.write_text(BIGGER)
    # The new set's sizes, from a roomy folder: the disk is then left room for none of it, for
    # its first file(s) (JSON first, or the chart first as before), and for all but one page.
    preview = tmp_path / "preview"
    proc = run_tradeday(["report", "-c", str(config(tmp_path, preview, name="preview.yaml")), DAY.isoformat()],
                        cwd=home, timeout=120)
    assert proc.returncode == 0, proc.stderr
    pages = {name[len(str(DAY)):]: -(-len(data) // PAGE) for name, data in the_set(preview).items()}
    assert sum(pages.values()) > sum(-(-len(data) // PAGE) for data in old.values())
    room = {0, sum(pages.values()) - 1}
    for first in ((".json",), (".json", ".md"), (".json", ".md", ".html"), (".png",)):
        room.add(sum(pages[s] for s in first))
    for free_pages in sorted(room):
        filler = fill_leaving(small_disk, free_pages * PAGE)
        try:
            proc = run_tradeday(["report", "-c", str(cfg), DAY.isoformat()], cwd=home, timeout=120)
        finally:
            filler.unlink()
        assert proc.returncode == 5, (free_pages, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert "ENOSPC" in proc.stderr, proc.stderr
        named = re.search(rf"{re.escape(str(small_disk / 'daily'))}/{DAY}\.(json|md|html|png|meta)\b", proc.stderr)
        assert named, proc.stderr
        assert the_set(small_disk) == old, f"the old set changed with {free_pages} pages free"

    # With room again the new set replaces the old one, whole.
    proc = run_tradeday(["report", "-c", str(cfg), DAY.isoformat()], cwd=home, timeout=120)
    assert proc.returncode == 0, proc.stderr
    new = the_set(small_disk)
    assert sorted(new) == sorted(old)
    assert all(new[name] != old[name] for name in new)
    assert json.loads(new[f"{DAY}.json"])["summary"]["fills"] == 120


def test_outputs_turned_off_leave_the_set(tmp_path: Path) -> None:
    reports = tmp_path / "artifacts" / "reports"
    journal = tmp_path / "artifacts" / "journal" / f"{DAY}.csv"
    journal.parent.mkdir(parents=True)
    journal.write_text(JOURNAL)
    home = tmp_path / "home"
    home.mkdir()
    proc = run_tradeday(["report", "-c", str(config(tmp_path, reports)), DAY.isoformat()], cwd=home, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sorted(the_set(reports)) == sorted(f"{DAY}{s}" for s in SET)

    proc = run_tradeday(["report", "-c", str(config(tmp_path, reports, html=False, chart=False)), DAY.isoformat()],
                        cwd=home, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sorted(the_set(reports)) == [f"{DAY}.json", f"{DAY}.md", f"{DAY}.meta"]
    assert ".png" not in (reports / "daily" / f"{DAY}.md").read_text()

    # A day without fills has no chart either: an old one must not stay behind.
    proc = run_tradeday(["report", "-c", str(config(tmp_path, reports)), DAY.isoformat()], cwd=home, timeout=120)
    assert sorted(the_set(reports)) == sorted(f"{DAY}{s}" for s in SET)
    journal.write_text(HEADER)
    proc = run_tradeday(["report", "-c", str(config(tmp_path, reports)), DAY.isoformat()], cwd=home, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sorted(the_set(reports)) == [f"{DAY}.html", f"{DAY}.json", f"{DAY}.md", f"{DAY}.meta"]


def test_an_import_onto_a_full_disk_exits_5_and_keeps_the_old_journal(tmp_path: Path, small_disk: Path) -> None:
    """--fills --force on a full journal folder: the old journal stays where it was."""
    from tests.conftest import REPO

    cfg = write_config(tmp_path, f"""
        market: {{calendar: XNSE}}
        paths: {{artifacts: artifacts, journal: {small_disk}}}
        reports: {{chart: false}}
        """)
    journal = small_disk / f"{DAY}.csv"
    journal.write_text(JOURNAL)
    old = journal.read_bytes()
    home = tmp_path / "home"
    home.mkdir()
    zerodha = REPO / "tests" / "fixtures" / "imports" / "zerodha_tradebook_2026-11-20.csv"
    filler = fill_leaving(small_disk, 0)
    try:
        proc = run_tradeday(["report", "-c", str(cfg), DAY.isoformat(), "--fills", str(zerodha), "--force"],
                            cwd=home, timeout=120)
    finally:
        filler.unlink()
    assert proc.returncode == 5, proc.stderr
    assert "Traceback" not in proc.stderr and "ENOSPC" in proc.stderr and str(journal) in proc.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == [journal.name] and journal.read_bytes() == old
