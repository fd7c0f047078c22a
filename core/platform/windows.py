"""The Windows side of core/platform: Job Objects, console control events, byte-range locks.

* **Process groups.** Each engine or hook is created suspended (``CREATE_SUSPENDED |
  CREATE_NEW_PROCESS_GROUP``), assigned to a Job Object of its own, then resumed: every
  process it ever starts is in the job from its first instruction (no breakaway is allowed).
  The job's process list is the group; ``TerminateJobObject`` is the hard kill.
* **Parent death.** The job has ``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE``, and only tradeday holds
  its handle: when tradeday dies (Task Scheduler's "End", a crash, a kill), Windows closes the
  handle and kills the whole tree, the counterpart of Linux's PR_SET_PDEATHSIG.
* **Graceful stop.** ``CTRL_BREAK_EVENT`` to the engine's console process group, best effort
  (it needs a shared console; a task run "whether the user is logged on or not" has none).
  The portable request is the stop file (TRADEDAY_STOP_FILE, docs/ENGINE.md).
* **Console events to tradeday.** Ctrl+C and Ctrl+Break reach Python's signal handlers
  (SIGINT, SIGBREAK); console close, logoff and shutdown are turned into SIGTERM for the main
  thread by a SetConsoleCtrlHandler routine, which then waits (Windows allows ~5 s) while the
  engines are stopped.
"""
from __future__ import annotations

import _thread
import ctypes
import errno
import locale
import msvcrt
import os
import platform as _platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from ctypes import wintypes
from typing import IO, Any

import psutil

# Only imported on Windows (core/platform/__init__.py); this tells mypy on other platforms so.
assert sys.platform == "win32"

NAME = "windows"
KILL = 9  # proctree's "hard kill": TerminateJobObject / TerminateProcess (Windows has no SIGKILL)
KILL_NAME = "TerminateJobObject"
MODE_BITS = False  # chmod only sets the read-only flag; ACLs decide who can read
STOP_SIGNALS: tuple[int, ...] = (int(signal.SIGTERM), int(signal.SIGINT), int(signal.SIGBREAK))
INTERRUPT_SIGNAL = int(signal.SIGINT)
# The exit code of a process ended by TerminateJobObject (128 + 9, as a shell shows SIGKILL).
KILLED_EXIT_CODE = 137
# A console process that died of Ctrl+C / Ctrl+Break (no handler): STATUS_CONTROL_C_EXIT.
STATUS_CONTROL_C_EXIT = 0xC000013A

CREATE_SUSPENDED = 0x00000004
CREATE_NEW_PROCESS_GROUP = 0x00000200
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000
_JOB_OBJECT_BASIC_PROCESS_ID_LIST = 3
_JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9
_PROCESS_SET_QUOTA = 0x0100
_PROCESS_TERMINATE = 0x0001
_ERROR_MORE_DATA = 234
_ERROR_SHARING_VIOLATION = 32
_ERROR_ACCESS_DENIED = 5
_CTRL_CLOSE_EVENT = 2
_CTRL_LOGOFF_EVENT = 5
_CTRL_SHUTDOWN_EVENT = 6
# How long the console handler keeps Windows waiting while the engines stop (Windows ends
# the process ~5 s after a close event; the job then kills what is left).
CONSOLE_EVENT_WAIT_SECONDS = 4.5

Stream = int | IO[Any] | None

_kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)


class _IoCounters(ctypes.Structure):
    _fields_ = [(name, ctypes.c_ulonglong) for name in (
        "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
        "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]


class _BasicLimits(ctypes.Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", wintypes.DWORD),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", wintypes.DWORD),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", wintypes.DWORD),
        ("SchedulingClass", wintypes.DWORD),
    ]


class _ExtendedLimits(ctypes.Structure):
    _fields_ = [
        ("BasicLimitInformation", _BasicLimits),
        ("IoInfo", _IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


_kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
_kernel32.CreateJobObjectW.restype = wintypes.HANDLE
_kernel32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD]
_kernel32.SetInformationJobObject.restype = wintypes.BOOL
_kernel32.QueryInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD,
                                                ctypes.POINTER(wintypes.DWORD)]
_kernel32.QueryInformationJobObject.restype = wintypes.BOOL
_kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
_kernel32.AssignProcessToJobObject.restype = wintypes.BOOL
_kernel32.TerminateJobObject.argtypes = [wintypes.HANDLE, wintypes.UINT]
_kernel32.TerminateJobObject.restype = wintypes.BOOL
_kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
_kernel32.CloseHandle.restype = wintypes.BOOL
_kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
_kernel32.OpenProcess.restype = wintypes.HANDLE
_HANDLER_ROUTINE = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)
_kernel32.SetConsoleCtrlHandler.argtypes = [_HANDLER_ROUTINE, wintypes.BOOL]
_kernel32.SetConsoleCtrlHandler.restype = wintypes.BOOL
_kernel32.ProcessIdToSessionId.argtypes = [wintypes.DWORD, ctypes.POINTER(wintypes.DWORD)]
_kernel32.ProcessIdToSessionId.restype = wintypes.BOOL


# A Windows engine writing to a pipe uses the ANSI code page (Python's own default too, unless
# PYTHONUTF8): output that is not UTF-8 is read in that code page for the console (the log keeps
# the bytes as they are).
ENGINE_OUTPUT_FALLBACK: str | None = locale.getencoding()

def _fail(what: str) -> OSError:
    code = ctypes.get_last_error()
    return OSError(errno.EIO, f"{what} failed: {ctypes.FormatError(code).strip()} (Windows error {code})")


def prepare_std_streams() -> None:
    """A pipe or file as stdout/stderr (Task Scheduler, a test, ``| more``) gets the ANSI code
    page, which cannot encode every character tradeday prints (``·``, ``→``): replace those
    instead of failing. The console itself is UTF-8 (WindowsConsoleIO) and stays as it is."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (getattr(stream, "encoding", "") or "").lower() not in ("utf-8", "utf8"):
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def machine_name() -> str:
    return _platform.node() or os.environ.get("COMPUTERNAME", "")


class _Job:
    """A Job Object that kills its processes when its (only) handle is closed."""

    def __init__(self) -> None:
        handle = _kernel32.CreateJobObjectW(None, None)
        if not handle:
            raise _fail("CreateJobObject")
        self.handle: int | None = handle
        limits = _ExtendedLimits()
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        if not _kernel32.SetInformationJobObject(handle, _JOB_OBJECT_EXTENDED_LIMIT_INFORMATION,
                                                 ctypes.byref(limits), ctypes.sizeof(limits)):
            error = _fail("SetInformationJobObject(KILL_ON_JOB_CLOSE)")
            self.close()
            raise error

    def assign(self, pid: int) -> None:
        process = _kernel32.OpenProcess(_PROCESS_SET_QUOTA | _PROCESS_TERMINATE, False, pid)
        if not process:
            raise _fail(f"OpenProcess({pid})")
        try:
            if not _kernel32.AssignProcessToJobObject(self.handle, process):
                raise _fail(f"AssignProcessToJobObject({pid})")
        finally:
            _kernel32.CloseHandle(process)

    def pids(self) -> set[int]:
        if self.handle is None:
            return set()
        size = 64
        while True:
            class _List(ctypes.Structure):
                _fields_ = [("Assigned", wintypes.DWORD), ("Listed", wintypes.DWORD),
                            ("Pids", ctypes.c_size_t * size)]

            found = _List()
            if _kernel32.QueryInformationJobObject(self.handle, _JOB_OBJECT_BASIC_PROCESS_ID_LIST,
                                                   ctypes.byref(found), ctypes.sizeof(found), None):
                return {int(found.Pids[i]) for i in range(found.Listed)}
            if ctypes.get_last_error() != _ERROR_MORE_DATA or size >= 65536:
                raise _fail("QueryInformationJobObject(process list)")
            size *= 4

    def terminate(self) -> None:
        if self.handle is not None:
            _kernel32.TerminateJobObject(self.handle, KILLED_EXIT_CODE)

    def close(self) -> None:
        handle, self.handle = self.handle, None
        if handle:
            _kernel32.CloseHandle(handle)


_jobs: dict[int, _Job] = {}
_jobs_lock = threading.Lock()


def start_process(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None,
    env: dict[str, str],
    stdin: Stream = subprocess.DEVNULL,
    stdout: Stream = None,
    stderr: Stream = None,
    stop_signal: int | None = None,
    parent_death_signal: int | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` suspended in a new console process group, put it in a kill-on-close Job
    Object of its own, then resume it. ``stop_signal``/``parent_death_signal`` are POSIX
    notions: the job is the parent-death guard here. Raises OSError if the job cannot be made
    (the process is killed then: an engine outside a job would outlive a dead tradeday)."""
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr, close_fds=True,
        creationflags=CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP,
    )
    job: _Job | None = None
    try:
        job = _Job()
        job.assign(proc.pid)
        psutil.Process(proc.pid).resume()  # NtResumeProcess: its one thread starts now
    except BaseException:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdout, proc.stderr, proc.stdin):
            if pipe is not None:
                pipe.close()
        if job is not None:
            job.close()
        raise
    with _jobs_lock:
        _jobs[proc.pid] = job
    return proc


class ProcessGroup:
    """One start's Job Object (if tradeday started it) and console process group (its leader's pid)."""

    def __init__(self, leader_pid: int, job: _Job | None) -> None:
        self.leader_pid = leader_pid
        self._job = job

    def member_pids(self) -> set[int]:
        """The job's processes, whatever their parents did (nothing breaks away from it)."""
        return self._job.pids() if self._job is not None else set()

    def holds(self, pid: int) -> bool | None:
        if pid in self.member_pids():
            return True
        return False if psutil.pid_exists(pid) else None

    def request_stop(self, sig: int) -> None:
        """CTRL_BREAK_EVENT to the leader's console process group, best effort: it needs a console
        shared with tradeday (and fails under Wine). The stop file was created before this."""
        if not self.member_pids():
            return  # an empty group's id may be a new process's pid
        try:
            os.kill(self.leader_pid, signal.CTRL_BREAK_EVENT)
        except OSError:
            pass

    def kill(self) -> None:
        if self._job is not None:
            self._job.terminate()

    def release(self) -> None:
        release_group(self.leader_pid)


def group_of(leader_pid: int) -> ProcessGroup:
    with _jobs_lock:
        return ProcessGroup(leader_pid, _jobs.get(leader_pid))


def release_group(leader_pid: int) -> None:
    """Close the start's job handle (what is still in it dies: kill-on-close) and forget it."""
    with _jobs_lock:
        job = _jobs.pop(leader_pid, None)
    if job is not None:
        job.close()


def request_stop_process(proc: psutil.Process, sig: int) -> None:
    """No graceful stop exists for one process outside a console group: the stop file asked."""


def kill_process(proc: psutil.Process) -> None:
    try:
        proc.kill()  # TerminateProcess; psutil refuses a reused pid
    except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
        pass


def clean_stop_codes(stop_signal: int) -> frozenset[int]:
    """0, or dying of the Ctrl+Break that asked it to stop (STATUS_CONTROL_C_EXIT)."""
    return frozenset({0, STATUS_CONTROL_C_EXIT})


def lock_is_held(path: str | os.PathLike[str]) -> bool | None:
    """Whether another process holds the byte-range lock on ``path`` (filelock's WindowsFileLock
    locks byte 0); None if the file is missing. Windows has no shared lock to probe with that
    could not block a starting run: the probe takes byte 0 for an instant if it is free (a run
    starting just then retries, see session/lock.py)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_BINARY)
    except FileNotFoundError:
        return None
    except PermissionError:
        return True  # being deleted by its releasing holder, or locked down
    try:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:  # EACCES on Windows; errno 0 under Wine
            return True
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return False
    finally:
        os.close(fd)


def replace_file(source: str | os.PathLike[str], target: str | os.PathLike[str], *,
                 attempts: int = 50, pause: float = 0.02) -> None:
    """``os.replace``, retried for about a second while the target is open in another process
    without FILE_SHARE_DELETE (a reader, an editor, a virus scanner): a sharing violation."""
    for attempt in range(attempts):
        try:
            os.replace(source, target)
            return
        except PermissionError as exc:
            if getattr(exc, "winerror", None) not in (_ERROR_SHARING_VIOLATION, _ERROR_ACCESS_DENIED) \
                    or attempt == attempts - 1:
                raise
        time.sleep(pause)


def set_mode(target: int | str | os.PathLike[str], mode: int) -> None:
    """Mode bits do not decide who reads a file here (ACLs do): only a path's read-only flag
    follows the mode's owner write bit, as os.chmod does; a descriptor is left alone."""
    if not isinstance(target, int):
        os.chmod(target, mode)


def _session_id() -> int | None:
    found = wintypes.DWORD()
    if _kernel32.ProcessIdToSessionId(os.getpid(), ctypes.byref(found)):
        return int(found.value)
    return None


_handler_ref: list[Any] = []  # the ctypes callback must outlive its registration


def install_console_handler(on_stop: Callable[[int], object], finished: threading.Event) -> Callable[[], None]:
    """Console close, logoff and shutdown stop tradeday like SIGTERM: ``on_stop(SIGTERM)`` runs
    in the main thread (``_thread.interrupt_main``), and the routine holds Windows off until
    ``finished`` is set or CONSOLE_EVENT_WAIT_SECONDS pass. Ctrl+C / Ctrl+Break are left to
    Python (SIGINT / SIGBREAK handlers). A logoff seen in session 0 (a task run whether the
    user is logged on or not) is some user's logoff, not ours: ignored. Returns the uninstaller.
    """
    def routine(event: int) -> bool:
        if event not in (_CTRL_CLOSE_EVENT, _CTRL_LOGOFF_EVENT, _CTRL_SHUTDOWN_EVENT):
            return False  # Ctrl+C / Ctrl+Break: the next handler (Python's) takes it
        if event == _CTRL_LOGOFF_EVENT and _session_id() == 0:
            return True
        try:
            _thread.interrupt_main(signal.SIGTERM)  # the SIGTERM handler runs in the main thread
        except Exception:
            on_stop(int(signal.SIGTERM))
        finished.wait(CONSOLE_EVENT_WAIT_SECONDS)
        return True

    callback = _HANDLER_ROUTINE(routine)
    if not _kernel32.SetConsoleCtrlHandler(callback, True):
        return lambda: None  # no console (a scheduled task): nothing to hear
    _handler_ref.append(callback)

    def uninstall() -> None:
        if callback in _handler_ref:
            _kernel32.SetConsoleCtrlHandler(callback, False)
            _handler_ref.remove(callback)

    return uninstall


