"""The live guard: live trading is never started by accident (pure logic, no I/O)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from core.errors import UsageError

Mode = Literal["paper", "live"]
CONFIRM_ENV_VAR = "TRADEDAY_CONFIRM_LIVE"


def resolve_mode(config_mode: Mode, cli_mode: Mode | None, *, confirm_live: bool = False,
                 require_confirmation: bool = True, environ: Mapping[str, str] | None = None,
                 config_label: str = "the config") -> Mode:
    """The mode a command runs in.

    Live needs the config to say ``mode: live`` AND the command line to say ``--mode live``
    AND (when ``require_confirmation``) ``--confirm-live`` or TRADEDAY_CONFIRM_LIVE=yes.
    A paper config never goes live by a flag; a live config never runs without saying so.
    """
    env = os.environ if environ is None else environ
    if cli_mode == "paper":
        return "paper"
    if cli_mode == "live" and config_mode != "live":
        raise UsageError(
            f"--mode live refused: {config_label} says mode: paper; a paper config never goes live by a flag",
            hint="set mode: live in the config as well, if you really mean to trade live",
        )
    if config_mode == "live" and cli_mode is None and require_confirmation:
        raise UsageError(
            f"{config_label} says mode: live, but the command line does not",
            hint="pass --mode live --confirm-live to trade live, or --mode paper to run it on paper",
        )
    if config_mode == "live" and require_confirmation:
        confirmed = confirm_live or env.get(CONFIRM_ENV_VAR, "").strip().lower() == "yes"
        if not confirmed:
            raise UsageError(
                "live trading needs confirmation",
                hint=f"add --confirm-live (or set {CONFIRM_ENV_VAR}=yes) to trade real money",
            )
    return config_mode
