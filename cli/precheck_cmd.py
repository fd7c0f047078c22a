"""Is everything ready for today's session? Exit 0 ready, 1 a check failed, 3 config invalid."""
from __future__ import annotations

from typing import Annotated

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt, ModeOpt
from session.checks.render import render_report

OnlyOpt = Annotated[list[str] | None, typer.Option("--only", help="Run only these checks (repeat or comma-separate)")]
TagOpt = Annotated[list[str] | None, typer.Option(
    "--tag", help="Run only the checks with this tag (repeat or comma-separate): broker, network, session, "
                  "config, host, engines, notifications. Narrows --only when both are given")]
SkipOpt = Annotated[list[str] | None, typer.Option("--skip", help="Skip these checks (repeat or comma-separate)")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Warnings fail too")]
NotifyTestOpt = Annotated[bool, typer.Option("--notify-test", help="Send a test message through every channel")]


def split_names(values: list[str] | None) -> list[str]:
    return [n.strip() for v in values or [] for n in v.split(",") if n.strip()]


def precheck(
    config: ConfigOpt = None,
    mode: ModeOpt = None,
    only: OnlyOpt = None,
    tag: TagOpt = None,
    skip: SkipOpt = None,
    strict: StrictOpt = False,
    notify_test: NotifyTestOpt = False,
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Is everything ready for today's session? Exit 0 ready, 1 a check failed, 3 config invalid."""
    from cli.common import load, setup_logging
    from core.exitcodes import ExitCode
    from session.checks import run_precheck
    from session.modes import resolve_mode

    setup_logging(log_level)
    cfg = load(config)
    effective = resolve_mode(cfg.mode, mode.value if mode else None, require_confirmation=False,
                             config_label=str(cfg.path))
    report = run_precheck(cfg, effective, only=split_names(only), skip=split_names(skip), tags=split_names(tag),
                          strict=strict, notify_test=notify_test)
    render_report(report, as_json=json_out)
    raise typer.Exit(ExitCode.OK if report.ok else ExitCode.PRECHECK_FAILED)
