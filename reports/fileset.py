"""A report's files written as one set: every new file to a temporary name first, then renamed.

A daily report is a JSON, a Markdown, maybe an HTML and a PNG that link to one another. If
the disk fills up half way, a new PNG beside yesterday's JSON would be a report that lies,
so nothing is renamed into place until every file of the new set is written (and fsynced);
a failure before that removes the temporary files and leaves the old set as it was.
"""
from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from core.errors import EodError
from core.fileperms import make_folders, set_file_mode


class ReportWriteError(EodError):
    """A report file could not be written; the previous files of the set are unchanged."""


def errno_name(exc: OSError) -> str:
    """``ENOSPC`` for a full disk, ``EACCES``...; the number when the name is unknown."""
    return errno.errorcode.get(exc.errno, str(exc.errno)) if exc.errno is not None else "no errno"


def write_file_set(contents: Mapping[Path, bytes | Iterable[bytes]], *, stale: Iterable[Path] = (), hint: str | None = None) -> None:
    """Replace the files of ``contents`` together, then remove the ``stale`` ones.

    Raises ReportWriteError naming the file and the errno when one cannot be written; then no
    file of the old set has been replaced (nor removed). A file's content is bytes, or pieces
    of bytes written one after another (a large report JSON is never whole in memory); a
    piece that fails to be made (any exception) also leaves the old set as it was.
    """
    temps: dict[Path, Path] = {}
    try:
        for target, data in contents.items():
            temps[target] = _write_temp(target, data)
    except BaseException as failure:
        _discard(temps.values())
        if not isinstance(failure, OSError):
            raise
        exc = failure
        where = exc.filename or target
        raise ReportWriteError(f"cannot write {where}: {exc.strerror or exc} ({errno_name(exc)}); "
                               "the previous report files are unchanged", hint=hint) from None
    replaced: list[Path] = []
    try:
        for target, tmp in temps.items():
            os.replace(tmp, target)
            replaced.append(target)
    except OSError as exc:
        # Only a folder that breaks between writing and renaming gets here (same folder, same disk).
        _discard(tmp for t, tmp in temps.items() if t not in replaced)
        done = ", ".join(p.name for p in replaced) or "none"
        raise ReportWriteError(f"cannot rename into {target}: {exc.strerror or exc} ({errno_name(exc)}); "
                               f"already replaced: {done}", hint=hint) from None
    for folder in {p.parent for p in temps}:
        _fsync_folder(folder)
    for path in stale:
        if path not in contents:
            try:
                path.unlink()
            except FileNotFoundError:
                pass




def _write_temp(target: Path, data: bytes | Iterable[bytes]) -> Path:
    make_folders(target.parent)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(name)
    try:
        try:
            for piece in ((data,) if isinstance(data, (bytes, bytearray, memoryview)) else data):
                _write_all(fd, piece)
            # The mode before the fsync, by the descriptor (no second path lookup): the fsync then
            # makes it durable with the data. 0600, or 0640 for a group that shares the artifacts.
            set_file_mode(fd)
            os.fsync(fd)
        finally:
            os.close(fd)
        if os.name != "posix":
            set_file_mode(tmp)  # there a descriptor's mode is left alone, a path's read-only flag is set
    except BaseException as failure:
        _discard([tmp])
        if not isinstance(failure, OSError):
            raise
        exc = failure
        if exc.filename is None:
            exc.filename = str(target)  # name the report file, not its temporary name
        raise
    return tmp


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """All of ``data`` to ``fd`` unbuffered (one bytes object needs no buffer: a write, or a few
    where the kernel takes part of it); a full disk raises OSError (ENOSPC)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # a regular file takes at least a byte or raises; never loop on nothing
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        view = view[written:]


def _discard(paths: Iterable[Path]) -> None:
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _fsync_folder(folder: Path) -> None:
    """Make the renames durable (a crash right after must not bring the old names back)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a folder; the renames themselves are done
    finally:
        os.close(fd)
