"""Who may read what tradeday writes: only its own user, or also one configured group.

Logs, state, reports, the journal, the outbox and the config history carry account ids,
positions, order details and (in the config history) whatever a config holds inline, so:

* **Private by default.** Files are 0600 and folders 0700. The console script sets the
  process umask to 077 before anything is written (:func:`use_private_umask`), so that a
  file created without an explicit mode (by tradeday, a library, or an engine or hook,
  which inherit the umask) is private too, whatever umask cron or the shell had.
* **Shared with one group** (``paths.group``): files 0640 and folders 0750, in that group.
  :func:`share_with_group` sets the umask to 027, and :func:`claim_folder` gives each of
  tradeday's top folders the group and the setgid bit, so that what is created below them
  inherits the group (the usual Unix way; tradeday never chowns file by file).

Code that sets a mode explicitly asks the policy: :func:`file_mode` / :func:`folder_mode`
for ``os.open`` / ``mkdir`` / ``FileLock(mode=)``, :func:`set_file_mode` /
:func:`set_folder_mode` instead of ``chmod`` (a plain chmod of a folder would clear its
setgid bit), :func:`widened` for a literal 0600 / 0700. A literal 0o600 stays 0600 when a
group shares the artifacts, and the group cannot read that file.
"""
from __future__ import annotations

import os
import stat
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

PRIVATE_UMASK = 0o077
GROUP_UMASK = 0o027


@dataclass(frozen=True)
class FilePolicy:
    umask: int = PRIVATE_UMASK
    gid: int | None = None  # None: private; else the group that may read

    @property
    def file_mode(self) -> int:
        return 0o666 & ~self.umask

    @property
    def folder_mode(self) -> int:
        return 0o777 & ~self.umask


_lock = threading.Lock()
_policy = FilePolicy()


def policy() -> FilePolicy:
    return _policy


def file_mode() -> int:
    """0600, or 0640 when a group shares the artifacts."""
    return _policy.file_mode


def folder_mode() -> int:
    """0700, or 0750 when a group shares the artifacts."""
    return _policy.folder_mode


def widened(mode: int) -> int:
    """A private mode (0600, 0700) as the policy has it: unchanged, or with the group's read
    (and, where the owner has it, search) bit added. Never adds a write bit."""
    if _policy.gid is None:
        return mode
    return mode | ((mode & 0o500) >> 3)


def use_private_umask() -> None:
    """Files 0600 and folders 0700 from here on (umask 077), for this process and its children.

    Call it first thing, before any file is written: the process umask is process-wide, and
    setting it once at start-up is the only race-free way.
    """
    global _policy
    if os.name != "posix":
        return  # mode bits do not describe who can read a file there
    with _lock:
        _policy = FilePolicy(PRIVATE_UMASK, None)
        os.umask(PRIVATE_UMASK)


def group_id(name: str) -> int:
    """The gid of group ``name``; ValueError with a one-line reason if it cannot be used."""
    if sys.platform == "win32":
        raise ValueError("a group can only be set on Linux/macOS (POSIX); on Windows share the folder by its ACL")
    try:
        import grp
    except ImportError:
        raise ValueError("a group can only be set on Linux/macOS (POSIX)") from None
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        raise ValueError(f"no group '{name}' on this machine (see `getent group`)") from None
    if os.geteuid() != 0 and gid != os.getegid() and gid not in os.getgroups():
        raise ValueError(f"this user is not a member of group '{name}', so it cannot give files to it; "
                         "add it (usermod -aG) or pick one of `id -Gn`")
    return gid


def share_with_group(gid: int) -> None:
    """Files 0640 and folders 0750 from here on (umask 027); :func:`claim_folder` gives the group."""
    global _policy
    with _lock:
        _policy = FilePolicy(GROUP_UMASK, gid)
        os.umask(GROUP_UMASK)


def set_file_mode(target: int | str | os.PathLike[str]) -> None:
    """Give a file (an open descriptor or a path) :func:`file_mode`: for a file that may have
    been created before, or by code that does not ask the policy."""
    from core import platform

    platform.set_mode(target, file_mode())


def set_folder_mode(folder: str | os.PathLike[str]) -> None:
    """Give a folder :func:`folder_mode`, keeping its setgid bit: a plain chmod would clear
    it, and what is created below would no longer inherit the shared group."""
    keep = stat.S_IMODE(os.stat(folder).st_mode) & stat.S_ISGID
    os.chmod(folder, folder_mode() | keep)


def claim_folder(folder: Path) -> None:
    """Create ``folder`` if missing (and its missing parents, 0700/0750) and, when a group
    shares the artifacts, give it that group and the setgid bit so that everything created
    below it inherits the group. Raises OSError if it cannot."""
    folder = Path(folder)
    folder.mkdir(mode=folder_mode(), parents=True, exist_ok=True)
    gid = _policy.gid
    if gid is None or sys.platform == "win32":  # no groups there (group_id refuses one)
        return
    info = folder.stat()
    if info.st_gid != gid:
        os.chown(folder, -1, gid)
    wanted = folder_mode() | stat.S_ISGID
    if stat.S_IMODE(info.st_mode) != wanted:
        os.chmod(folder, wanted)


def make_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents 0700 (0750 for a group that shares the
    artifacts: core/fileperms.py), whatever the umask. Existing folders stay as they are."""
    missing = []
    current = folder
    while not current.is_dir() and current != current.parent:
        missing.append(current)
        current = current.parent
    for created in reversed(missing):
        try:
            os.mkdir(created, folder_mode())
        except FileExistsError:
            pass  # made meanwhile by another writer
        set_folder_mode(created)  # mkdir's mode is masked by the umask; keeps a shared group's setgid
