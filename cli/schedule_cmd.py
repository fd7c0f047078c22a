"""Print what to install to start tradeday daily: a cron line, a systemd timer, or a Windows task."""
from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt


class Target(str, enum.Enum):
    cron = "cron"
    systemd = "systemd"
    windows = "windows"


TargetArg = Annotated[Target, typer.Argument(help="cron, systemd or windows (Task Scheduler)", show_default=False)]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to a file instead (windows: UTF-16 XML; systemd: a folder for both units)",
                 show_default=False),
]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day of the year computed (YYYY-MM-DD; default today)")]


def schedule(
    target: TargetArg,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    start: FromOpt = None,
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Print what to install to start tradeday daily: a cron line, a systemd timer, or a Windows task."""
    from cli.common import load, out, parse_date, print_json
    from session.schedule import build_schedule

    first = parse_date(start, "--from") if start else None
    cfg = load(config, record=False)
    result = build_schedule(cfg, target.value, first=first, output=output)
    if json_out:
        print_json(result.to_json())
        return
    if result.written:
        for path in result.written:
            out(f"wrote {path}")
        for line in result.install:
            out(f"then: {line}")
        return
    out(result.text.rstrip("\n"))
