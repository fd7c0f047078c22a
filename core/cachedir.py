"""The user's tradeday cache folder, shared by the caches that make a cold start fast: the
calendar's computed sessions (session/calendar/cache.py) and the report templates' compiled
code (reports/jinja_env.py). Losing it only costs speed; nothing in it is needed."""
from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "TRADEDAY_CACHE_DIR"


def cache_dir() -> Path | None:
    """``$TRADEDAY_CACHE_DIR``, ``$XDG_CACHE_HOME/tradeday`` or ``~/.cache/tradeday``; None
    when no home folder is known."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec: a relative value is to be ignored
        return Path(xdg) / "tradeday"
    try:
        return Path.home() / ".cache" / "tradeday"
    except RuntimeError:  # no HOME and no passwd entry
        return None


def trusted(stat: os.stat_result) -> bool:
    """Only what this user wrote and nobody else can change may decide anything: the cache folder
    may be shared ($TRADEDAY_CACHE_DIR), and a forged entry would move a session or run code."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: no owner bits to check; the user's own profile folder
        return True
    return stat.st_uid == getuid() and not stat.st_mode & 0o022


def private_subfolder(name: str) -> Path | None:
    """``cache_dir()/name``, made if missing (0700), or None when it cannot be made or is not
    this user's alone."""
    base = cache_dir()
    if base is None:
        return None
    folder = base / name
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder if trusted(folder.stat()) else None
    except OSError:
        return None
