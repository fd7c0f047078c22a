"""The hang watchdog's rule: an engine is hung after ``hang_timeout`` with no output and no
heartbeat touch (the file's mtime) since its start."""
from __future__ import annotations

import time

from session.supervisor.runs import EngineRun
from session.supervisor.spec import EngineSpec


def hung_for(spec: EngineSpec, run: EngineRun, last_output_monotonic: float, now: float) -> float | None:
    """Seconds ``run`` has been silent if that reached ``spec.hang_timeout``; None while it is
    alive, or when the watchdog is off (hang_timeout 0)."""
    if spec.hang_timeout <= 0:
        return None
    silent_for = now - last_output_monotonic
    if silent_for < spec.hang_timeout:
        return None
    if spec.heartbeat_file is not None:
        try:
            mtime = spec.heartbeat_file.stat().st_mtime
        except OSError:
            mtime = None
        # A touch from before this start does not count.
        if mtime is not None and mtime >= run.started_wall.timestamp() - 0.001:
            silent_for = min(silent_for, time.time() - mtime)
            if silent_for < spec.hang_timeout:
                return None
    return silent_for
