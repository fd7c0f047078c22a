"""``tradeday notify test [--channel NAME] [--level L]``: send a test message now.

Printing only; the work is ``session.notify.send_test`` and the hub. The lead's Typer
wiring loads the config and calls ``notify_test_command``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.exitcodes import ExitCode
from core.redact import GLOBAL_REDACTOR

if TYPE_CHECKING:  # pragma: no cover
    from session.notify.config import NotificationsConfig


def _out(text: str) -> None:
    sys.stdout.write(GLOBAL_REDACTOR(text) + "\n")


def _err(text: str) -> None:
    sys.stderr.write(GLOBAL_REDACTOR(text) + "\n")
    sys.stderr.flush()


def _resend_outbox(notifications: NotificationsConfig, outbox_path: Path, working: list[str]) -> dict[str, Any]:
    """Re-send what earlier runs left in the outbox for the channels that just worked."""
    from session.notify.hub import NotificationHub
    from session.notify.outbox import Outbox

    outbox = Outbox(outbox_path)
    before = outbox.pending_by_channel() if outbox.path.exists() else {}
    targets = [name for name in working if before.get(name)]
    report: dict[str, Any] = {"path": str(outbox.path), "pending_before": before, "resent": 0, "pending": before}
    if not notifications.enabled or not targets:
        return report
    subset = notifications.model_copy(update={"channels": [c for c in notifications.channels if c.label in targets]})
    hub = NotificationHub(subset, outbox.path)
    try:
        hub.drain_outbox()
        hub.flush(notifications.flush_timeout)
    finally:
        hub.close(flush_timeout=0)
    report["resent"] = hub.stats.late_sent
    report["pending"] = outbox.pending_by_channel() if outbox.path.exists() else {}
    return report


def notify_test_command(notifications: NotificationsConfig, outbox_path: Path, channel: str | None, level: str, as_json: bool) -> int:
    """Send a test notification through every channel (or ``channel``) and print one
    line per channel. Returns 0 if all worked, 1 if any failed, 2 if ``channel`` does
    not exist or no channel is configured."""
    from core.errors import UsageError
    from session.notify.diagnostics import send_test
    from session.notify.levels import AlertLevel

    try:
        alert_level = AlertLevel.parse(level)
    except ValueError as exc:
        _err(f"error: {exc}")
        return ExitCode.USAGE
    if not notifications.channels:
        _err("error: no notification channels are configured (add notifications.channels to the config; see docs/NOTIFICATIONS.md)")
        return ExitCode.USAGE
    try:
        results = send_test(notifications, channel, alert_level)
    except UsageError as exc:
        _err(f"error: {exc}")
        return ExitCode.USAGE

    failed = [r for r in results if not r.ok]
    outbox = _resend_outbox(notifications, Path(outbox_path), [r.name for r in results if r.ok])
    code = 1 if failed else 0

    if as_json:
        payload = {
            "ok": not failed,
            "enabled": bool(notifications.enabled),
            "level": alert_level.value,
            "channels": [
                {"name": r.name, "type": r.type, "ok": r.ok, "latency_ms": r.latency_ms, "error": r.error or None}
                for r in results
            ],
            "outbox": outbox,
        }
        _out(json.dumps(payload, indent=2, ensure_ascii=False))
        return code

    name_w = max(len(r.name) for r in results)
    type_w = max(len(r.type) for r in results)
    for r in results:
        status = "ok" if r.ok else "FAILED"
        line = f"{r.name.ljust(name_w)}  {r.type.ljust(type_w)}  {status.ljust(6)}  {r.latency_ms:>5} ms"
        if r.error:
            line += f"  {r.error}"
        _out(line.rstrip())
    if not notifications.enabled:
        _out("note: notifications are disabled (notifications.enabled: false); tradeday sends nothing during the day")
    if outbox["resent"]:
        _out(f"re-sent {outbox['resent']} late notification(s) from the outbox {outbox['path']}")
    left = sum(outbox["pending"].values())
    if left:
        per = ", ".join(f"{name}: {n}" for name, n in sorted(outbox["pending"].items()))
        _out(f"{left} notification(s) still wait in the outbox {outbox['path']} ({per})")
    return code


# --- the Typer command: `tradeday notify test` -----------------------------------------------

import typer  # noqa: E402  (typer is already loaded by cli.main; kept here beside its command)

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt  # noqa: E402

app = typer.Typer(help="Notifications: send a test message through the configured channels.",
                  no_args_is_help=True)


@app.command("test")
def test(
    config: ConfigOpt = None,
    channel: str = typer.Option(None, "--channel", help="Only this channel (by name)"),
    level: str = typer.Option("INFO", "--level", help="INFO, WARNING or CRITICAL"),
    json_out: JsonOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Send a test message through each (or one) channel; exit 1 if any failed, 2 if none matched."""
    from cli.common import load, setup_logging

    setup_logging(log_level)
    cfg = load(config)
    raise typer.Exit(notify_test_command(cfg.notifications, cfg.outbox_path, channel, level, json_out))
