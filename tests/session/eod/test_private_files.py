"""Reports, imported journals and everything the end of day writes under the artifacts folder
are private (issue 11): files 0600, the folders it creates 0700, whatever the umask."""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import REPO, run_tradeday, write_config
from tests.session.eod.test_eod import JOURNAL, WRITE_METRICS, hook

DAY = date(2026, 11, 20)
# Written by others than the end of day: the config history (every command that loads the
# config) and the hooks' own output documents (the hook program writes those).
NOT_THE_EODS = ("config-history", "analytics", "backtests")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 000 for the commands started meanwhile: modes must not depend on it."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def modes(folder: Path) -> dict[str, str]:
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] in NOT_THE_EODS:
            continue
        found[str(rel)] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def test_eod_and_imports_write_private_files_and_folders(tmp_path: Path, open_umask: None) -> None:
    analytics = hook(tmp_path, "analytics.py", WRITE_METRICS.format(kind="analytics"))
    cfg = write_config(tmp_path, f"""
        market: {{calendar: XNSE}}
        paths: {{artifacts: artifacts}}
        eod:
          analytics: {{command: ["{{python}}", "{analytics}"]}}
        reports: {{html: true, chart: true}}
        """)
    journal = tmp_path / "artifacts" / "journal" / f"{DAY}.csv"
    journal.parent.mkdir(parents=True, mode=0o700)
    journal.write_text(JOURNAL)
    journal.chmod(0o600)
    home = tmp_path / "home"
    home.mkdir()
    proc = run_tradeday(["eod", "-c", str(cfg), "--date", DAY.isoformat(), "--log-level", "INFO"], cwd=home,
                        timeout=120)
    assert proc.returncode == 0, proc.stderr
    zerodha = REPO / "tests" / "fixtures" / "imports" / "zerodha_tradebook_2026-11-20.csv"
    proc = run_tradeday(["report", "-c", str(cfg), DAY.isoformat(), "--fills", str(zerodha), "--force"],
                        cwd=home, timeout=120)
    assert proc.returncode == 0, proc.stderr

    found = modes(tmp_path / "artifacts")
    # What the two commands wrote: the reports, the imported journal (and the old one kept
    # beside it), the day's log and the hook's log, and the folders they made.
    expected_files = {f"reports/daily/{DAY}{s}" for s in (".json", ".md", ".html", ".png")} | {
        f"journal/{DAY}.csv", f"logs/{DAY}/tradeday.log", f"logs/{DAY}/eod-analytics.log"}
    assert expected_files <= set(found), sorted(found)
    wrong = {p: m for p, m in found.items()
             if m != ("0o700" if (tmp_path / "artifacts" / p).is_dir() else "0o600")}
    assert wrong == {}


def test_the_python_api_writes_private_reports_and_journals_whatever_the_umask(tmp_path: Path,
                                                                                open_umask: None) -> None:
    """Without the console script's umask (core/fileperms.py): run_eod and an import in process."""
    from session.config import load_config
    from session.eod import EodOptions, import_fills_file, load_calendar, run_eod

    cfg = load_config(write_config(tmp_path, """
        market: {calendar: XNSE}
        paths: {artifacts: artifacts, reports: out/reports, journal: out/journal}
        reports: {html: true, chart: true}
        """), record=False)
    zerodha = REPO / "tests" / "fixtures" / "imports" / "zerodha_tradebook_2026-11-20.csv"
    imported = import_fills_file(cfg, zerodha, "kite-tradebook", load_calendar(cfg))
    assert [d.status for d in imported.days] == ["written"]
    result = run_eod(cfg, DAY, EodOptions(mode="paper", analytics=False, backtest=False))
    assert result.exit_code == 0, result.steps
    found = modes(tmp_path / "out")
    assert set(found) == {"journal", f"journal/{DAY}.csv", "reports", "reports/daily",
                          *(f"reports/daily/{DAY}{s}" for s in (".json", ".md", ".html", ".png", ".meta"))}
    assert {p: m for p, m in found.items() if m != ("0o700" if "." not in p else "0o600")} == {}
