"""Is everything ready for today's session? Exit 0 ready, 1 a check failed, 3 config invalid."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt, ModeOpt

if TYPE_CHECKING:
    from session.checks import PrecheckReport

OnlyOpt = Annotated[list[str] | None, typer.Option("--only", help="Run only these checks (repeat or comma-separate)")]
TagOpt = Annotated[list[str] | None, typer.Option(
    "--tag", help="Run only the checks with this tag (repeat or comma-separate): broker, network, session, "
                  "config, host, engines, notifications. Narrows --only when both are given")]
SkipOpt = Annotated[list[str] | None, typer.Option("--skip", help="Skip these checks (repeat or comma-separate)")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Warnings fail too")]
NotifyTestOpt = Annotated[bool, typer.Option("--notify-test", help="Send a test message through every channel")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Every check's messages and times, not only the "
                                                                   "warnings and failures")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", help="Print only warnings and errors, one line each; nothing when all is well (cron mails any output)")]


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
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Is everything ready for today's session? Exit 0 ready, 1 a check failed, 3 config invalid."""
    from cli.common import load, setup_logging
    from core.exitcodes import ExitCode
    from session.checks import run_precheck
    from session.modes import resolve_mode

    setup_logging(log_level)
    if quiet:
        from core.logsetup import quiet_console

        quiet_console()
    cfg = load(config)
    effective = resolve_mode(cfg.mode, mode.value if mode else None, require_confirmation=False,
                             config_label=str(cfg.path))
    report = run_precheck(cfg, effective, only=split_names(only), skip=split_names(skip), tags=split_names(tag),
                          strict=strict, notify_test=notify_test)
    if quiet and not json_out:
        _render_problems(report)
    else:
        from session.checks.render import render_report  # session.checks: not on other commands' start-up

        render_report(report, as_json=json_out, verbose=verbose)
    raise typer.Exit(ExitCode.OK if report.ok else ExitCode.PRECHECK_FAILED)


def _render_problems(report: PrecheckReport) -> None:
    """--quiet: one stderr line per warning or error that is not silenced; nothing if none."""
    from cli.common import err

    problems = [r for r in report.results if r.level.name != "INFO" and not r.silenced]
    for r in problems:
        err(f"precheck {r.level.name} {r.id}: {r.message}" + (f" (hint: {r.hint})" if r.hint else ""))
    if problems:
        from session.checks.render import verdict

        err(verdict(report))
