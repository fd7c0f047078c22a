"""``tradeday notify test [--channel NAME] [--level L]``: send a test message now.

Printing only; the work is ``session.notify.selftest.run_notify_test`` (``send_test`` and
the hub).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt
from core.console import err, out, print_json
from core.exitcodes import ExitCode
from core.redact import GLOBAL_REDACTOR

if TYPE_CHECKING:  # pragma: no cover
    from session.notify.config import NotificationsConfig
    from session.notify.selftest import NotifyTestReport


def _out(text: str) -> None:
    out(GLOBAL_REDACTOR(text))


def notify_test_command(notifications: NotificationsConfig, outbox_path: Path, channel: str | None, level: str,
                        as_json: bool) -> int:
    """Send a test notification through every channel (or ``channel``) and print one
    line per channel. Returns 0 if all worked, 1 if any failed, 2 if ``channel`` does
    not exist or no channel is configured."""
    from core.errors import UsageError
    from session.notify.selftest import run_notify_test

    try:
        report = run_notify_test(notifications, Path(outbox_path), channel, level)
    except UsageError as exc:
        err(f"error: {exc}")
        return ExitCode.USAGE
    if as_json:
        print_json(report.to_json())
    else:
        render_lines(report)
    return report.exit_code


def render_lines(report: NotifyTestReport) -> None:
    """One aligned line per channel, then notes on ``enabled`` and the outbox."""
    results = report.channels
    name_w = max(len(r.name) for r in results)
    type_w = max(len(r.type) for r in results)
    for r in results:
        status = "ok" if r.ok else "FAILED"
        line = f"{r.name.ljust(name_w)}  {r.type.ljust(type_w)}  {status.ljust(6)}  {r.latency_ms:>5} ms"
        if r.error:
            line += f"  {r.error}"
        _out(line.rstrip())
    if not report.enabled:
        _out("note: notifications are disabled (notifications.enabled: false); tradeday sends nothing during the day")
    outbox = report.outbox
    if outbox.resent:
        _out(f"re-sent {outbox.resent} late notification(s) from the outbox {outbox.path}")
    left = outbox.pending_total
    if left:
        per = ", ".join(f"{name}: {n}" for name, n in sorted(outbox.pending.items()))
        _out(f"{left} notification(s) still wait in the outbox {outbox.path} ({per})")


# --- the Typer command: `tradeday notify test` -----------------------------------------------

app = typer.Typer(help="Notifications: send a test message through the configured channels.",
                  no_args_is_help=True)


@app.command("test")
def test(
    config: ConfigOpt = None,
    channel: str | None = typer.Option(None, "--channel", help="Only this channel (by name)"),
    level: str = typer.Option("INFO", "--level", help="INFO, WARNING or CRITICAL"),
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Send a test message through each (or one) channel; exit 1 if any failed, 2 if none matched."""
    from cli.common import load, setup_logging

    setup_logging(log_level)
    cfg = load(config)
    raise typer.Exit(notify_test_command(cfg.notifications, cfg.outbox_path, channel, level, json_out))
