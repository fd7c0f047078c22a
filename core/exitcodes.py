"""The one exit-code table (README "Exit codes"); every command uses these values."""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # also "no session today"
    PRECHECK_FAILED = 1
    STATE_DAMAGED = 1  # `tradeday status`: the state file cannot be read (an alias of 1)
    USAGE = 2
    CONFIG_INVALID = 3
    ENGINE_FAILED = 4
    EOD_FAILED = 5
    LOCKED = 6
    NO_RUN = 7  # `tradeday engine`: no run in progress for the date (or its engines are not trading now)
    INTERNAL_ERROR = 70  # a bug in tradeday, never a user or environment mistake
    SIGHUP = 129
    SIGINT = 130
    SIGTERM = 143
