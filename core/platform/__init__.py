"""What differs between POSIX and Windows, behind one interface chosen at import time.

The supervisor (session/supervisor), the end-of-day hook runner (session/eod/hooks.py), the
process-tree stop (session/proctree.py) and the day lock (session/lock.py) call these and never
ask which system they are on. ``posix.py`` is Linux/macOS (sessions, process groups, signals,
PR_SET_PDEATHSIG, flock); ``windows.py`` is Windows (Job Objects with kill-on-close, console
process groups and control events, byte-range locks). Both export the same names:

* ``start_process(argv, cwd=, env=, stdin=, stdout=, stderr=, stop_signal=, parent_death_signal=)``:
  a process in a group of its own that dies with tradeday;
* ``group_of(leader_pid)`` -> ``ProcessGroup`` (``member_pids()``, ``holds(pid)``,
  ``request_stop(sig)``, ``kill()``, ``release()``), ``release_group(leader_pid)``;
  ``request_stop_process`` / ``kill_process`` for a process outside the group; ``KILL``
  (the hard kill as a signal number for proctree), ``KILL_NAME``, ``clean_stop_codes``;
* ``STOP_SIGNALS`` and ``INTERRUPT_SIGNAL`` (what stops tradeday), ``install_console_handler``;
* ``lock_is_held(path)`` (who-holds-it probe of the day lock), ``replace_file`` (atomic replace,
  retried on Windows sharing violations), ``set_mode`` and ``MODE_BITS`` (whether mode bits mean
  anything), ``machine_name()``, ``prepare_std_streams()`` (Windows: a pipe's code page cannot
  fail a print), ``ENGINE_OUTPUT_FALLBACK`` (the encoding of engine output that is not UTF-8, for
  the console), ``NAME``.

An engine's output pipes are read by session/streaming.py's sources (poll on POSIX, a reader
thread on Windows, which cannot poll pipes).
"""
from __future__ import annotations

import sys

if sys.platform == "win32":
    from core.platform.windows import (
        ENGINE_OUTPUT_FALLBACK,
        INTERRUPT_SIGNAL,
        KILL,
        KILL_NAME,
        MODE_BITS,
        NAME,
        STOP_SIGNALS,
        ProcessGroup,
        clean_stop_codes,
        group_of,
        install_console_handler,
        kill_process,
        lock_is_held,
        machine_name,
        prepare_std_streams,
        release_group,
        replace_file,
        request_stop_process,
        set_mode,
        start_process,
    )
else:
    from core.platform.posix import (
        ENGINE_OUTPUT_FALLBACK,
        INTERRUPT_SIGNAL,
        KILL,
        KILL_NAME,
        MODE_BITS,
        NAME,
        STOP_SIGNALS,
        ProcessGroup,
        clean_stop_codes,
        group_of,
        install_console_handler,
        kill_process,
        lock_is_held,
        machine_name,
        prepare_std_streams,
        release_group,
        replace_file,
        request_stop_process,
        set_mode,
        start_process,
    )

__all__ = [
    "ENGINE_OUTPUT_FALLBACK",
    "INTERRUPT_SIGNAL",
    "KILL",
    "KILL_NAME",
    "MODE_BITS",
    "NAME",
    "STOP_SIGNALS",
    "ProcessGroup",
    "clean_stop_codes",
    "group_of",
    "install_console_handler",
    "kill_process",
    "lock_is_held",
    "machine_name",
    "prepare_std_streams",
    "release_group",
    "replace_file",
    "request_stop_process",
    "set_mode",
    "start_process",
]
