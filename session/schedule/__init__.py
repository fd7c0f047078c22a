"""``tradeday schedule``: the daily start for cron, systemd or Task Scheduler, computed for this
config and this machine (absolute paths, the server's timezone, both regions' DST rules).

``compute`` finds the time(s); ``cron``, ``systemd`` and ``windows`` render them; ``build`` is
the one entry point the command calls.
"""
from __future__ import annotations

from session.schedule.build import TARGETS, ScheduleResult, build_schedule

__all__ = ["TARGETS", "ScheduleResult", "build_schedule"]
