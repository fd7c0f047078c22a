"""Facts about this machine that a schedule needs: its timezone, tradeday's executable, the user.

The server's timezone is ``TZ`` if set, else ``/etc/localtime`` (what cron and the C library
use). Nothing here guesses: a TZ value that is not a zone this machine knows is a usage error.
"""
from __future__ import annotations

import getpass
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import UsageError

LOCALTIME = Path("/etc/localtime")
TIMEZONE_FILE = Path("/etc/timezone")


@dataclass(frozen=True)
class ServerZone:
    """The timezone the machine's scheduler reads wall-clock times in."""

    name: str              # an IANA name, or the file it came from when no name is known
    source: str            # "TZ", "/etc/localtime", ...
    tz: ZoneInfo
    shell_tz: str | None   # a value for ``TZ=`` in a shell guard; None: the job's default zone
    note: str | None = None  # a caveat worth printing in the comment block

    def to_json(self) -> dict[str, str | None]:
        return {"name": self.name, "source": self.source, "note": self.note}


def _zone_key_from_path(path: str) -> str | None:
    marker = "zoneinfo/"
    index = path.rfind(marker)
    if index < 0:
        return None
    key = path[index + len(marker):]
    for prefix in ("posix/", "right/"):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key or None


def _named(key: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _from_localtime(localtime: Path, timezone_file: Path) -> ServerZone | None:
    """The zone of ``/etc/localtime`` (its symlink target names it), or None if it is absent."""
    if localtime.is_symlink():
        key = _zone_key_from_path(os.path.realpath(localtime)) or _zone_key_from_path(os.readlink(localtime))
        tz = _named(key) if key else None
        if key and tz is not None:
            return ServerZone(key, str(localtime), tz, key)
    if not localtime.exists():
        return None
    try:
        key = timezone_file.read_text(encoding="utf-8").strip()
    except OSError:
        key = ""
    tz = _named(key) if key else None
    if tz is not None:
        return ServerZone(key, f"{localtime} ({timezone_file})", tz, key)
    with open(localtime, "rb") as fh:
        tz = ZoneInfo.from_file(fh, key=str(localtime))
    return ServerZone(str(localtime), str(localtime), tz, None)


def server_zone(environ: Mapping[str, str] | None = None, *, localtime: Path = LOCALTIME,
                timezone_file: Path = TIMEZONE_FILE) -> ServerZone:
    """This machine's timezone: ``TZ`` if set, else ``/etc/localtime``; UsageError if unusable."""
    env = os.environ if environ is None else environ
    system = _from_localtime(localtime, timezone_file)
    if "TZ" in env:
        raw = env["TZ"]
        value = raw[1:] if raw.startswith(":") else raw
        if not value:
            return ServerZone("UTC", "an empty TZ", ZoneInfo("UTC"), "UTC")
        tz: ZoneInfo | None
        if os.path.isabs(value):
            try:
                with open(value, "rb") as fh:
                    tz = ZoneInfo.from_file(fh, key=value)
            except (OSError, ValueError):
                tz = None
            key = _zone_key_from_path(value)
            name, shell = (key, key) if key and _named(key) else (value, f":{value}")
        else:
            tz, name, shell = _named(value), value, value
        if tz is None:
            raise UsageError(
                f"TZ={raw!r} is not a timezone this machine knows",
                hint="set TZ to an IANA name such as Europe/London (the server's zone), or unset it "
                     "to use /etc/localtime",
            )
        note = None
        if system is not None and system.name != name:
            note = (f"TZ={raw} differs from {system.source} ({system.name}), the zone this machine's "
                    f"scheduler normally reads times in: unset TZ to compute for {system.name}")
        return ServerZone(name, "TZ", tz, shell, note)
    if system is not None:
        return system
    if sys.platform == "win32":
        raise UsageError(
            "cannot tell this machine's timezone (Windows names its zones differently)",
            hint="set TZ to the machine's IANA zone first, e.g. `set TZ=Europe/London`",
        )
    # The C library's rule: no TZ and no /etc/localtime means UTC.
    return ServerZone("UTC", "default (no TZ, no /etc/localtime)", ZoneInfo("UTC"), "UTC")


def tradeday_executable() -> Path:
    """The absolute ``tradeday`` console script of the running environment."""
    folder = Path(os.path.abspath(sys.executable)).parent
    names = ["tradeday.exe", "tradeday"] if sys.platform == "win32" else ["tradeday"]
    for name in names:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name.startswith("tradeday") and argv0.is_file():
        return Path(os.path.abspath(argv0))
    found = shutil.which("tradeday")
    if found:
        return Path(os.path.abspath(found))
    raise UsageError(
        f"cannot find the tradeday executable of this environment (looked in {folder} and PATH)",
        hint="install tradeday into this environment (pip install .) and run its own `tradeday schedule`",
    )


def current_user() -> str:
    """The user the schedule runs as: whoever generates it (``DOMAIN\\user`` on Windows)."""
    if sys.platform == "win32":
        domain, user = os.environ.get("USERDOMAIN"), os.environ.get("USERNAME")
        if user:
            return f"{domain}\\{user}" if domain else user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "user"
