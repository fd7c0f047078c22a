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
    INTERNAL_ERROR = 70  # a bug in tradeday, never a user or environment mistake
    SIGHUP = 129
    SIGINT = 130
    SIGTERM = 143
