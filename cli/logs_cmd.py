"""Print (and with -f follow) a day's log of an engine, or tradeday's own log, across rotated files."""
from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from cli.common import ConfigOpt, LogLevel, LogLevelOpt

EngineArg = Annotated[str | None, typer.Argument(
    metavar="[ENGINE]", help="The engine's name (default: tradeday's own log, tradeday.log)", show_default=False)]
DateOpt = Annotated[str | None, typer.Option(
    "--date", help="Session date YYYY-MM-DD (default: today in the market's time zone)", show_default=False)]
FollowOpt = Annotated[bool, typer.Option(
    "--follow", "-f", help="Keep printing what is written, across rotations, until Ctrl+C")]
LinesOpt = Annotated[int, typer.Option("--lines", "-n", help="Print the last N lines first")]


def logs(
    engine: EngineArg = None,
    config: ConfigOpt = None,
    day: DateOpt = None,
    follow: FollowOpt = False,
    lines: LinesOpt = 20,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Print (and with -f follow) a day's log of an engine, or tradeday's own log, across rotated files.

    Exit 0 (also when -f ends with Ctrl+C), 2 when there is no such log (the message lists the engines that have one), 3 config invalid.
    """
    from cli.common import err, load, parse_date
    from session.logview import open_log

    asked = parse_date(day, "--date") if day else None
    cfg = load(config)
    view = open_log(cfg, engine, asked, lines=lines, follow=follow)
    try:
        _write(view.tail)
        if view.follower is not None:
            if view.waiting:
                err(f"waiting for {view.path} (Ctrl+C to stop)")
            try:
                for chunk in view.follower.follow():
                    _write(chunk)
            finally:
                view.follower.close()
    except KeyboardInterrupt:
        if not follow:
            raise
        # Ctrl+C is how following ends: not an error, exit 0.
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit
        # when it flushes stdout into the closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _write(data: bytes) -> None:
    """Bytes as they are in the file, with the secrets tradeday knows of masked."""
    if not data:
        return
    from core.redact import GLOBAL_REDACTOR

    if GLOBAL_REDACTOR:
        data = GLOBAL_REDACTOR(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
