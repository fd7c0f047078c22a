"""Can tradeday write where the config says? The ``filesystem`` check's findings, and the same
test as a guard for the commands that write there before any check runs (``run`` takes its
lock and opens its log in ``{artifacts}``; ``eod`` opens its log there).

For each ``paths.*`` folder, in order: a path component that is a file (``filesystem.E003``),
a read-only mount (``E004``), a folder that belongs to someone else and is not writable by
this user (``E005``), then a real write (``E001`` for anything else), then free space and
inodes (``E002``). Every message names the folder; every hint says what to run.

Root is a special case: the kernel lets it write anywhere, so a real write proves nothing.
A folder that belongs to another user and is not writable by its mode bits is reported for
root too: what root writes there belongs to root, and the next run as the folder's owner
(the usual Docker / Kubernetes setup) cannot write it. ``checks.silence: [filesystem.E005]``
accepts that on purpose.
"""
from __future__ import annotations

import errno
import os
import shlex
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import TradedayError
from core.exitcodes import ExitCode
from session.checks.results import CheckResult, error, info

if TYPE_CHECKING:
    from session.config import TradedayConfig

IS_A_FILE = "filesystem.E003"
READ_ONLY = "filesystem.E004"
NOT_OURS = "filesystem.E005"
NOT_WRITABLE = "filesystem.E001"
LOW_DISK = "filesystem.E002"


class FolderError(TradedayError):
    """A ``paths.*`` folder cannot be written (exit 1, like a failed precheck)."""

    exit_code = ExitCode.PRECHECK_FAILED


@dataclass(frozen=True)
class FolderProblem:
    id: str
    message: str
    hint: str
    culprit: str  # what is wrong (a path, a device): one finding per culprit, not per folder

    def result(self) -> CheckResult:
        return error(self.id, self.message, self.hint)


def config_folders(config: TradedayConfig) -> dict[str, Path]:
    return {"artifacts": config.artifacts_dir, "logs": config.logs_dir, "state": config.state_dir,
            "reports": config.reports_dir, "journal": config.journal_dir}


def _q(path: Path) -> str:
    return shlex.quote(str(path))


def _nearest(label: str, folder: Path) -> tuple[Path | None, FolderProblem | None]:
    """The deepest existing component of ``folder`` (the folder itself when it exists)."""
    existing: Path | None = None
    for part in (*reversed(folder.parents), folder):
        try:
            st = os.stat(part)
        except FileNotFoundError:
            break
        except PermissionError:
            return existing, None  # not traversable: the owner test on ``existing`` says so
        if not stat.S_ISDIR(st.st_mode):
            what = (f"{label} folder {folder} is a file, not a folder" if part == folder
                    else f"{part} is a file, not a folder, on the way to the {label} folder {folder}")
            return None, FolderProblem(
                IS_A_FILE, what,
                f"move the file away (mv {_q(part)} {_q(part)}.old) or point paths.{label} at a folder", str(part))
        existing = part
    return existing, None


def _user() -> str:
    """Who tradeday runs as, for messages: ``uid N`` (POSIX) or the Windows user name."""
    if sys.platform == "win32":
        return os.environ.get("USERNAME") or "this user"
    return f"uid {os.geteuid()}"


def _chown_hint(folder: Path) -> str:
    if sys.platform == "win32":
        return f"give {_user()} write access to {folder} (its Properties > Security, or icacls)"
    return f"chown -R {os.geteuid()}:{os.getegid()} {_q(folder)}"


def _read_only_mount(path: Path) -> bool:
    """A read-only mount (POSIX statvfs); Windows has no such flag to read: the write test decides."""
    if sys.platform == "win32":
        return False
    return bool(os.statvfs(path).f_flag & os.ST_RDONLY)


def _no_inodes(path: Path) -> bool:
    """Out of inodes (POSIX); NTFS has no fixed inode table."""
    if sys.platform == "win32":
        return False
    vfs = os.statvfs(path)
    return bool(vfs.f_files and not vfs.f_favail)


def _writable_by_us(st: os.stat_result, path: Path) -> bool:
    if sys.platform == "win32":
        return os.access(path, os.W_OK)  # ACLs decide; the real write test follows
    euid = os.geteuid()
    if euid == 0:
        if st.st_uid == 0:
            return True
        # Root writes anywhere; judge it as the owner class it would be without that override.
        groups = {os.getegid(), *os.getgroups()}
        bits = stat.S_IWGRP | stat.S_IXGRP if st.st_gid in groups else stat.S_IWOTH | stat.S_IXOTH
        return st.st_mode & bits == bits
    if os.access in os.supports_effective_ids:
        return os.access(path, os.W_OK | os.X_OK, effective_ids=True)  # ACLs included
    return os.access(path, os.W_OK | os.X_OK)  # pragma: no cover - every Linux supports it


def _owner_problem(label: str, folder: Path, existing: Path, st: os.stat_result) -> FolderProblem:
    if sys.platform == "win32":
        return FolderProblem(NOT_OURS, f"{label} folder {folder}: {existing} is not writable by {_user()}",
                             _chown_hint(existing), str(existing))
    euid, egid = os.geteuid(), os.getegid()
    mode = stat.S_IMODE(st.st_mode)
    whose = f"{existing} belongs to uid {st.st_uid} gid {st.st_gid} (mode {mode:04o})"
    if existing == folder:
        message = f"{label} folder {folder} is not writable by uid {euid}: {whose}"
        fix = f"chown -R {euid}:{egid} {_q(folder)}"
    else:
        message = f"cannot create the {label} folder {folder}: {whose}, not writable by uid {euid}"
        fix = f"mkdir -p {_q(folder)} && chown -R {euid}:{egid} {_q(folder)}"
    if st.st_uid == euid:  # ours, but its mode keeps us out
        return FolderProblem(NOT_OURS, message, f"chmod u+rwx {_q(existing)}", str(existing))
    hint = (f"{fix}, or run tradeday as uid {st.st_uid}; in Kubernetes set securityContext.fsGroup: {st.st_gid} "
            "and make the volume group-writable")
    if euid == 0:
        hint += "; root writes there only by overriding permissions (silence filesystem.E005 if that is intended)"
    return FolderProblem(NOT_OURS, message, hint, str(existing))


def _write_problem(label: str, folder: Path, exc: OSError) -> FolderProblem:
    """What a failed ``mkdir`` / test write means, by its errno."""
    why = exc.strerror or exc.__class__.__name__
    if exc.errno == errno.EROFS:
        return _read_only(label, folder)
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return FolderProblem(IS_A_FILE, f"{label} folder {folder}: a part of the path is a file ({why})",
                             f"move the file away or point paths.{label} at a folder", str(folder))
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _full(label, folder, why)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return FolderProblem(NOT_OURS, f"{label} folder {folder} is not writable by {_user()} ({why})",
                             f"mkdir -p {_q(folder)} && {_chown_hint(folder)}; "
                             "in Kubernetes set securityContext.fsGroup", str(folder))
    return FolderProblem(NOT_WRITABLE, f"{label} folder {folder} is not writable ({why})",
                         "fix the permissions or paths.* in the config", str(folder))


def _full(label: str, folder: Path, why: str) -> FolderProblem:
    """ENOSPC: out of blocks or out of inodes (the fix differs), once per device."""
    try:
        dev, no_inodes = os.stat(folder).st_dev, _no_inodes(folder)
    except OSError:
        return FolderProblem(LOW_DISK, f"no space left for the {label} folder {folder} ({why})",
                             "free some space", str(folder))
    if no_inodes:
        return FolderProblem(LOW_DISK, f"no free inodes on {folder}: no file can be created there",
                             "delete old files (logs, state) or use a filesystem with more inodes", f"dev:{dev}")
    return FolderProblem(LOW_DISK, f"no space left on {folder} ({why})", "free some space", f"dev:{dev}")


def _read_only(label: str, folder: Path) -> FolderProblem:
    return FolderProblem(
        READ_ONLY, f"{label} folder {folder} is on a read-only filesystem",
        f"remount it read-write or point paths.{label} at a writable volume "
        "(in Kubernetes, mount a volume there: the image's root filesystem may be read-only)", str(folder))


def folder_problem(label: str, folder: Path) -> FolderProblem | None:
    """Why tradeday cannot write ``folder`` (creating it if missing), or None."""
    existing, problem = _nearest(label, folder)
    if problem is not None:
        return problem
    if existing is None:  # pragma: no cover - "/" always exists
        return FolderProblem(NOT_WRITABLE, f"{label} folder {folder}: no part of the path exists", "", str(folder))
    try:
        st = os.stat(existing)
        if _read_only_mount(existing):
            return replace(_read_only(label, folder), culprit=f"ro:{st.st_dev}")  # one finding per mount
    except OSError as exc:
        return _write_problem(label, folder, exc)
    if not _writable_by_us(st, existing):
        return _owner_problem(label, folder, existing, st)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".tradeday-write-test-"):
            pass
    except OSError as exc:
        return _write_problem(label, folder, exc)
    return None


def inspect_folders(config: TradedayConfig) -> tuple[list[FolderProblem], list[Path]]:
    """(the problems, the usable folders). One problem per culprit: a file in place of
    ``artifacts`` is reported once, not once for each folder inside it."""
    seen: set[tuple[str, str]] = set()
    found, usable = [], []
    for label, folder in config_folders(config).items():
        problem = folder_problem(label, folder)
        if problem is None:
            usable.append(folder)
        elif (problem.id, problem.culprit) not in seen:
            seen.add((problem.id, problem.culprit))
            found.append(problem)
    return found, usable


def folder_problems(config: TradedayConfig) -> list[FolderProblem]:
    return inspect_folders(config)[0]


def require_usable_folders(config: TradedayConfig, *, exit_code: int = ExitCode.PRECHECK_FAILED) -> None:
    """Raise FolderError (one line per problem) unless every ``paths.*`` folder is writable."""
    problems = folder_problems(config)
    if not problems:
        return
    first = problems[0]
    exc = FolderError(first.message, hint=first.hint, exit_code=exit_code)
    exc.details = [f"{p.message} (hint: {p.hint})" for p in problems]  # type: ignore[attr-defined]
    raise exc


def space_results(folders: list[Path], need: int) -> list[CheckResult]:
    """Free space (at least ``need`` bytes) and inodes, once per device holding one of ``folders``."""
    results = []
    seen_devices: set[int] = set()
    for folder in folders:
        try:
            dev = folder.stat().st_dev
            if dev in seen_devices:
                continue
            seen_devices.add(dev)
            free = shutil.disk_usage(folder).free
            no_inodes = _no_inodes(folder)
        except OSError:  # pragma: no cover - usable a moment ago
            continue
        if free < need:
            results.append(error(LOW_DISK, f"only {free / 1024**3:.2f} GiB free on {folder} (need {need / 1024**3:.2f} GiB)",
                                 "free some space or lower checks.min_free_disk"))
        elif no_inodes:
            results.append(error(LOW_DISK, f"no free inodes on {folder}: no file can be created there",
                                 "delete old files (logs, state) or use a filesystem with more inodes"))
        else:
            results.append(info("filesystem.I001", f"{folder}: writable, {free / 1024**3:.1f} GiB free"))
    return results
