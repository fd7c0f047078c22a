"""The calendar tests keep their session cache (session/calendar/cache.py) in a folder of their
own: a test that counts pmc's schedule calls must not find years another run kept in ~/.cache."""
from __future__ import annotations

from pathlib import Path

import pytest

from session.calendar.cache import CACHE_ENV


@pytest.fixture(scope="session")
def calendar_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("session-cache")


@pytest.fixture(autouse=True)
def _isolated_session_cache(calendar_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(calendar_cache_dir))
