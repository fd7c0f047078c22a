"""The hang watchdog's rule: an engine is hung after ``hang_timeout`` with no output and no
heartbeat touch since its start.

Everything runs on the monotonic clock, so a wall-clock step (NTP, a resumed VM) neither makes a
healthy engine look hung nor hides a hung one. The heartbeat file's mtime is the kernel's wall
time, so it is never compared with the clock: only with its own previous value. A change of mtime
is a beat, and the beat is timed by when the watchdog saw the change (it looks every
``_HEARTBEAT_POLL_SECONDS`` at most, or a quarter of ``hang_timeout`` when that is shorter).
"""
from __future__ import annotations

import os

from session.supervisor.runs import EngineRun
from session.supervisor.spec import EngineSpec

_HEARTBEAT_POLL_SECONDS = 0.5


def heartbeat_mtime(spec: EngineSpec) -> int | None:
    """The heartbeat file's mtime in nanoseconds; None when it is missing or unreadable."""
    if spec.heartbeat_file is None:
        return None
    try:
        return os.stat(spec.heartbeat_file).st_mtime_ns
    except OSError:
        return None


def watch_heartbeat(spec: EngineSpec, run: EngineRun, now: float) -> None:
    """Look at the heartbeat file (at most every poll interval): a changed mtime is a beat at ``now``.

    ``run.heartbeat_mtime_ns`` starts as the mtime when the run was spawned, so a touch from
    before this start does not count.
    """
    if spec.heartbeat_file is None or spec.hang_timeout <= 0:
        return
    if now - run.heartbeat_checked_monotonic < min(_HEARTBEAT_POLL_SECONDS, spec.hang_timeout / 4):
        return
    run.heartbeat_checked_monotonic = now
    mtime = heartbeat_mtime(spec)
    if mtime is not None and mtime != run.heartbeat_mtime_ns:
        run.heartbeat_mtime_ns = mtime
        run.last_beat_monotonic = now


def hung_for(spec: EngineSpec, run: EngineRun, last_output_monotonic: float, now: float) -> float | None:
    """Seconds ``run`` has been silent (no output, no beat) if that reached ``spec.hang_timeout``;
    None while it is alive, or when the watchdog is off (hang_timeout 0). ``now`` is monotonic."""
    if spec.hang_timeout <= 0:
        return None
    watch_heartbeat(spec, run, now)
    last_sign = last_output_monotonic
    if run.last_beat_monotonic is not None:
        last_sign = max(last_sign, run.last_beat_monotonic)
    silent_for = now - last_sign
    return silent_for if silent_for >= spec.hang_timeout else None
