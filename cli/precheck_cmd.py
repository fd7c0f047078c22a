"""Is everything ready for today's session? Exit 0 ready, 1 a check failed, 3 config invalid."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt, ModeOpt, out, print_json, print_table

if TYPE_CHECKING:
    from session.checks import PrecheckReport

OnlyOpt = Annotated[Optional[list[str]], typer.Option("--only", help="Run only these checks (repeat or comma-separate)")]
SkipOpt = Annotated[Optional[list[str]], typer.Option("--skip", help="Skip these checks (repeat or comma-separate)")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Warnings fail too")]
NotifyTestOpt = Annotated[bool, typer.Option("--notify-test", help="Send a test message through every channel")]

_STYLE = {"INFO": None, "WARNING": "yellow", "ERROR": "bold red"}


def split_names(values: list[str] | None) -> list[str]:
    return [n.strip() for v in values or [] for n in v.split(",") if n.strip()]


def render_report(report: "PrecheckReport", *, as_json: bool) -> None:
    """The precheck table (or JSON); `run --dry-run` prints the same."""
    if as_json:
        print_json(report.to_json())
        return
    s = report.session
    if not s["known"]:
        summary = f"{s['date']} {s['calendar']}: unknown (no holiday data)"
    elif s["is_trading_day"]:
        kind = s["special_session"] or ("early close" if s["early_close"] else "regular session")
        summary = f"{s['date']} {s['calendar']}: {kind} {s['open'][11:16]}-{s['close'][11:16]} {s['timezone']}"
    else:
        summary = f"{s['date']} {s['calendar']}: no session ({s['holiday'] or 'weekend'})"
    rows, styles = [], []
    for r in report.results:
        status = "silenced" if r.silenced else {"INFO": "ok", "WARNING": "WARN", "ERROR": "FAIL"}[r.level.name]
        rows.append([r.check, f"{status} {r.id}", r.message, r.hint, f"{r.duration_ms:.0f} ms"])
        styles.append(None if r.silenced else _STYLE[r.level.name])
    print_table(f"precheck ({report.mode}) - {summary}", ["check", "status", "message", "hint", "time"], rows, styles)
    failures = report.failures()
    out(f"{'READY' if not failures else 'NOT READY'}: {len(failures)} failing, "
        f"{sum(1 for r in report.results if r.level.name == 'WARNING' and not r.silenced)} warning(s)")


def precheck(
    config: ConfigOpt = None,
    mode: ModeOpt = None,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    strict: StrictOpt = False,
    notify_test: NotifyTestOpt = False,
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Is everything ready for today's session? Exit 0 ready, 1 a check failed, 3 config invalid."""
    from cli.common import load, setup_logging
    from session.checks import run_precheck
    from session.exitcodes import ExitCode
    from session.modes import resolve_mode

    setup_logging(log_level)
    cfg = load(config)
    effective = resolve_mode(cfg.mode, mode.value if mode else None, require_confirmation=False,
                             config_label=str(cfg.path))
    report = run_precheck(cfg, effective, only=split_names(only), skip=split_names(skip), strict=strict,
                          notify_test=notify_test)
    render_report(report, as_json=json_out)
    raise typer.Exit(ExitCode.OK if report.ok else ExitCode.PRECHECK_FAILED)
