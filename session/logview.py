"""What ``tradeday logs`` reads: one day's log of an engine (``{logs}/{date}/{engine}.log``) or of
tradeday itself (``tradeday.log``), across its rotated files, and, with ``-f``, what is written next.

* **Rotation** (core/logfile.AppendFile): ``NAME.log`` is renamed to ``NAME.log.1`` (``.1`` to
  ``.2`` ...) and a new ``NAME.log`` starts. So the files of one log, oldest first, are
  ``.N`` ... ``.1``, then ``NAME.log``; the last lines may span several of them.
* **Following** keeps the open file, not the name: lines written to it before the rename are read
  from it, and when the name points at another file (another inode), that file is read from its
  start. A file that shrank was truncated in place (``copytruncate``) and is read again from 0.
* Only whole lines are passed on while following (a line being written is held until its newline,
  or until its file is rotated away), so a caller can mask secrets line by line. Bytes are kept as
  they are (engine logs may hold invalid UTF-8).
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING

from core.errors import UsageError

if TYPE_CHECKING:
    from session.config import TradedayConfig

TRADEDAY = "tradeday"  # tradeday's own log, tradeday.log
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # engine names (session/config/engines.py)
_LOG_FILE = re.compile(r"^(?P<name>.+)\.log(?:\.(?P<n>[0-9]+))?$")
_DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BLOCK = 64 * 1024  # read size, backwards for the last lines and forwards when following
MAX_HELD = 64 * 1024  # a "line" without a newline longer than this is passed on as it is
POLL_SECONDS = 0.2


def rotated_files(path: Path) -> list[Path]:
    """The existing files of the log ``path``, oldest first: ``.N`` ... ``.1``, then ``path``."""
    numbered: list[tuple[int, Path]] = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return []
    prefix = path.name + "."
    for entry in entries:
        suffix = entry.name[len(prefix):] if entry.name.startswith(prefix) else ""
        if suffix.isdigit() and entry.is_file():
            numbered.append((int(suffix), entry))
    files = [p for _, p in sorted(numbered, reverse=True)]
    if path.is_file():
        files.append(path)
    return files


def names_with_logs(folder: Path) -> list[str]:
    """Engines with a log (current or rotated) in one day's folder; tradeday's own is left out."""
    try:
        entries = [e.name for e in folder.iterdir() if e.is_file()]
    except OSError:
        return []
    names = {m.group("name") for e in entries if (m := _LOG_FILE.match(e))}
    return sorted(names - {TRADEDAY})


def days_with_logs(logs_dir: Path, limit: int = 5) -> list[str]:
    """The latest day folders under ``logs_dir``, newest first."""
    try:
        days = [e.name for e in logs_dir.iterdir() if e.is_dir() and _DAY_FOLDER.match(e.name)]
    except OSError:
        return []
    return sorted(days, reverse=True)[:limit]


def _last_lines_of(fh: IO[bytes], end: int, n: int) -> list[bytes]:
    """The last ``n`` lines of the first ``end`` bytes of ``fh``, each ending with a newline."""
    if n <= 0 or end <= 0:
        return []
    chunks: list[bytes] = []
    pos, newlines = end, 0
    # n + 1 newlines: the one ending the last line, and one before the first line wanted.
    while pos > 0 and newlines <= n:
        size = min(BLOCK, pos)
        pos -= size
        fh.seek(pos)
        block = fh.read(size)
        chunks.append(block)
        newlines += block.count(b"\n")
    parts = b"".join(reversed(chunks)).split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()  # the file ends with a newline: no empty line after it
    if pos > 0:
        parts = parts[1:]  # the first piece may be the end of an earlier line
    return [p + b"\n" for p in parts[-n:]]


def last_lines(files: list[Path], n: int, current: IO[bytes] | None = None, current_end: int = 0) -> bytes:
    """The last ``n`` lines across ``files`` (oldest first). ``current``, when given, is the open
    newest file, read up to ``current_end`` (where following will start)."""
    wanted: list[bytes] = []
    newest_first = list(reversed(files))
    if current is not None:
        wanted = _last_lines_of(current, current_end, n)
        newest_first = newest_first[1:]
    for path in newest_first:
        if len(wanted) >= n:
            break
        try:
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                wanted = _last_lines_of(fh, size, n - len(wanted)) + wanted
        except FileNotFoundError:
            continue  # rotated out (beyond the last backup) while we looked: one file fewer
        except OSError as exc:
            raise _unreadable(path, exc) from None
    return b"".join(wanted)


@dataclass
class LogFollower:
    """Whole lines appended to ``path`` from ``offset`` of the open file ``fh`` on, across rotations."""

    path: Path
    fh: IO[bytes] | None = None
    _identity: tuple[int, int] | None = field(default=None, init=False)
    _held: bytes = field(default=b"", init=False)

    def __post_init__(self) -> None:
        if self.fh is not None:
            info = os.fstat(self.fh.fileno())
            self._identity = (info.st_dev, info.st_ino)

    def read_new(self) -> Iterator[bytes]:
        """What was written since the last call, in chunks of whole lines; nothing new: no chunk."""
        if self.fh is None and not self._open():
            return
        yield from self._drain()
        try:
            info = os.stat(self.path)
        except OSError:
            return  # renamed away, the new file not created yet: keep the old one for now
        if (info.st_dev, info.st_ino) != self._identity:
            yield from self._drain()  # lines written just before the rename
            if self._held:
                yield self._held + b"\n"  # its last line will never be finished now
                self._held = b""
            self.close()
            if self._open():
                yield from self._drain()
        elif self.fh is not None and info.st_size < self.fh.tell():
            self.fh.seek(0)  # truncated in place
            yield from self._drain()

    def follow(self, poll_seconds: float = POLL_SECONDS) -> Iterator[bytes]:
        """``read_new`` forever, sleeping ``poll_seconds`` whenever nothing came (Ctrl+C ends it)."""
        while True:
            came = False
            for chunk in self.read_new():
                came = True
                yield chunk
            if not came:
                time.sleep(poll_seconds)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None

    def _open(self) -> bool:
        try:
            self.fh = open(self.path, "rb")  # noqa: SIM115  (kept open while following)
        except OSError:
            return False
        info = os.fstat(self.fh.fileno())
        self._identity = (info.st_dev, info.st_ino)
        return True

    def _drain(self) -> Iterator[bytes]:
        assert self.fh is not None
        while block := self.fh.read(BLOCK):
            data = self._held + block
            cut = data.rfind(b"\n") + 1
            if cut == 0 and len(data) > MAX_HELD:
                cut = len(data)
            self._held = data[cut:]
            if cut:
                yield data[:cut]


@dataclass
class LogView:
    """One log of one day: its last lines now, and (``-f``) a follower for what comes next."""

    name: str  # an engine's name, or "tradeday"
    day: date
    path: Path  # the current file, {logs}/{date}/{name}.log (it may not exist yet when following)
    tail: bytes
    follower: LogFollower | None
    waiting: bool = False  # following a log that does not exist yet


def resolve_day(config: TradedayConfig, day: date | None) -> date:
    """``day``, or today in the market's time zone (as ``tradeday run`` names the folder)."""
    if day is not None:
        return day
    from session.calendar import MarketCalendar

    return MarketCalendar.from_market_config(config.market).today()


def open_log(config: TradedayConfig, engine: str | None, day: date | None, *, lines: int,
             follow: bool) -> LogView:
    """The log of ``engine`` (None: tradeday.log) on ``day``; UsageError naming what exists when
    there is no such log. Following waits for the log of tradeday or of a configured engine."""
    if lines < 0:
        raise UsageError(f"-n/--lines must be 0 or more, not {lines}")
    name = engine or TRADEDAY
    if not _NAME.match(name):
        raise UsageError(f"{name!r} is not an engine name (letters, digits, . _ -)")
    the_day = resolve_day(config, day)
    folder = config.logs_dir / the_day.isoformat()
    path = folder / f"{name}.log"
    files = rotated_files(path)
    if not files:
        configured = {e.name for e in config.engines}
        if not (follow and (name == TRADEDAY or name in configured)):
            raise _no_such_log(config, name, the_day, folder)
        return LogView(name, the_day, path, b"", LogFollower(path), waiting=True)
    if not follow:
        return LogView(name, the_day, path, last_lines(files, lines), None)
    current = None
    if files[-1] == path:
        try:
            current = open(path, "rb")  # noqa: SIM115  (handed to the follower)
        except FileNotFoundError:
            files = files[:-1]  # renamed to .1 this instant: the follower picks up the new one
        except OSError as exc:
            raise _unreadable(path, exc) from None
    if current is None:
        return LogView(name, the_day, path, last_lines(files, lines), LogFollower(path))
    end = os.fstat(current.fileno()).st_size
    return LogView(name, the_day, path, last_lines(files, lines, current, end), LogFollower(path, current))


def _unreadable(path: Path, exc: OSError) -> UsageError:
    return UsageError(f"cannot read {path}: {exc.strerror or exc}",
                      hint="run as the user that runs tradeday (logs are private to it)")


def _no_such_log(config: TradedayConfig, name: str, day: date, folder: Path) -> UsageError:
    if not folder.is_dir():
        days = days_with_logs(config.logs_dir)
        known = f"; the latest days with logs: {', '.join(days)}" if days else f"; {config.logs_dir} holds no logs yet"
        return UsageError(f"no logs for {day}: {folder} does not exist{known}")
    others = names_with_logs(folder)
    listed = (f"the engines with logs that day: {', '.join(others)}" if others
              else "no engine has a log that day")
    if name == TRADEDAY:
        return UsageError(f"no tradeday.log for {day} in {folder}; {listed}")
    own = " (tradeday's own log: leave out ENGINE)" if (folder / f"{TRADEDAY}.log").exists() else ""
    return UsageError(f"no log for engine '{name}' on {day} in {folder}; {listed}{own}")
