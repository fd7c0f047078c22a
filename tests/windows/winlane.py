"""Helpers of the Windows tests (tests/windows/): where they run and how they wait.

They run on Windows only: under the Wine lane (``../shared/wine/winpy -m pytest -n 0
tests/windows``, see docs/ENGINE.md "Windows") or on a real Windows host. Elsewhere every
module skips itself at import. Tests marked ``real_windows`` hold only on a real Windows host
(CTRL_BREAK_EVENT delivery, Task Scheduler) and are skipped under Wine.
"""
from __future__ import annotations

import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ON_WINDOWS = sys.platform == "win32"
SKIP_REASON = "Windows only: run under the Wine lane (../shared/wine/winpy -m pytest -n 0 tests/windows) or on Windows"


def under_wine() -> bool:
    """Wine's ntdll exports wine_get_version; Windows' does not."""
    if not ON_WINDOWS:
        return False
    import ctypes

    try:
        return hasattr(ctypes.WinDLL("ntdll"), "wine_get_version")
    except OSError:
        return False


UNDER_WINE = under_wine()
# Holds only on a real Windows host: skipped under Wine (where CTRL_BREAK_EVENT fails) and elsewhere.
real_windows = pytest.mark.skipif(UNDER_WINE or not ON_WINDOWS,
                                  reason="needs a real Windows host (Wine cannot deliver CTRL_BREAK_EVENT)")


def tradeday_exe() -> str:
    """The console script pip installed for this interpreter (Scripts\\tradeday.exe)."""
    return str(Path(sysconfig.get_path("scripts")) / ("tradeday.exe" if ON_WINDOWS else "tradeday"))


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll until ``predicate`` holds: an event, never a fixed sleep. Generous: Wine is slow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
