"""``tradeday schedule cron|systemd|windows``: what to install for this config on this machine."""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import UsageError
from session.schedule.compute import StartPlan
from session.schedule.describe import Invocation
from session.schedule.host import ServerZone

if TYPE_CHECKING:
    from session.config import TradedayConfig

TARGETS = ("cron", "systemd", "windows")
DEFAULT_XML_NAME = "tradeday.xml"


@dataclass(frozen=True)
class ScheduleResult:
    """The rendered schedule: ``text`` to print, ``files`` to write (name -> bytes), ``written``."""

    target: str
    plan: StartPlan
    invocation: Invocation
    server: ServerZone | None
    text: str
    files: dict[str, bytes]
    install: list[str]
    written: list[Path] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "executable": str(self.invocation.executable),
            "config": str(self.invocation.config_path),
            "argv": self.invocation.argv,
            "server_timezone": self.server.to_json() if self.server else None,
            "plan": self.plan.to_json(),
            "text": self.text,
            "files": sorted(self.files),
            "install": self.install,
            "written": [str(p) for p in self.written],
        }


def _invocation(config: TradedayConfig) -> Invocation:
    from session.schedule.host import tradeday_executable

    if config.path is None:
        raise UsageError("tradeday schedule needs a config file", hint="pass --config PATH")
    stops = [e.stop_timeout for e in config.engines if e.enabled] or [30.0]
    return Invocation(executable=tradeday_executable(), config_path=config.path, live=config.mode == "live",
                      max_stop_timeout=max(stops))


def _eod_timeouts(config: TradedayConfig) -> float:
    total = 0.0
    if config.eod.enabled:
        for step in (config.eod.analytics, config.eod.backtest):
            if step is not None and getattr(step, "command", None):
                total += float(step.timeout)
    return total


def _write(output: Path, data: bytes) -> Path:
    from core.fsutil import atomic_write_bytes

    if output.is_dir():
        raise UsageError(f"--output {output} is a folder; give a file name")
    if not output.parent.is_dir():
        raise UsageError(f"--output {output}: folder {output.parent} does not exist")
    try:
        return atomic_write_bytes(output, data)
    except OSError as exc:
        raise UsageError(f"--output {output}: {exc.strerror or exc}") from None


def build_schedule(config: TradedayConfig, target: str, *, first: date | None = None, output: Path | None = None,
                   environ: Mapping[str, str] | None = None, now: datetime | None = None) -> ScheduleResult:
    """Compute the daily start for ``target`` and render it; write it to ``output`` if given
    (cron: a file; systemd: a folder for both units; windows: a UTF-16 XML file)."""
    from session.calendar import MarketCalendar
    from session.schedule.compute import plan_daily_start
    from session.schedule.describe import describe
    from session.schedule.host import current_user, server_zone

    if target not in TARGETS:
        raise UsageError(f"unknown schedule target {target!r}; use one of {', '.join(TARGETS)}")
    generated = (now or datetime.now()).astimezone()
    invocation = _invocation(config)
    cal = MarketCalendar.from_config(config)
    start = first or cal.today(generated)
    sbo = config.session.start_before_open
    server: ServerZone | None = None
    if target == "systemd":
        plan = plan_daily_start(cal, zone=cal.tz, zone_name=cal.timezone, start_before_open=sbo, first=start)
    else:
        server = server_zone(os.environ if environ is None else environ)
        plan = plan_daily_start(cal, zone=server.tz, zone_name=server.name, start_before_open=sbo, first=start)
    header = describe(plan, target=target, invocation=invocation, server=server, generated=generated)
    if target == "windows" and sys.platform != "win32":
        header.append(f"Generated on {sys.platform}, not Windows: the paths are this machine's; run "
                      "`tradeday schedule windows` on the Windows machine for its own.")
    user = current_user()
    files: dict[str, bytes] = {}
    written: list[Path] = []

    if target == "cron":
        from session.schedule.cron import render_cron

        assert server is not None
        text = render_cron(plan, invocation, server, header)
        files["crontab"] = text.encode("utf-8")
        install = ["crontab -e   # paste the lines above"]
        if output is not None:
            written.append(_write(output, files["crontab"]))
            install = [f"crontab -e   # paste the lines of {output}"]
    elif target == "systemd":
        from session.schedule.systemd import SERVICE, TIMER, render_units

        units = render_units(plan, invocation, header, user=user)
        files = {name: body.encode("utf-8") for name, body in units.items()}
        folder = "/etc/systemd/system"
        if output is not None:
            if not output.is_dir():
                raise UsageError(f"--output {output}: for systemd, give an existing folder for {SERVICE} and {TIMER}")
            written = [_write(output / name, data) for name, data in files.items()]
            folder_src = str(output)
            install = [f"sudo cp {folder_src}/{SERVICE} {folder_src}/{TIMER} {folder}/"]
        else:
            install = [f"save the two files below as {folder}/{SERVICE} and {folder}/{TIMER}"]
        install += ["sudo systemctl daemon-reload", f"sudo systemctl enable --now {TIMER}",
                    f"systemctl list-timers {TIMER}   # the next start"]
        from session.schedule.describe import wrap

        text = "\n".join(wrap(header, "# ")) + "\n\n" + "".join(
            f"# ==> {name} <==\n{body}\n" for name, body in units.items())
    else:
        from session.schedule.windows import encode_utf16, render_task, schtasks_command

        xml_name = str(output) if output is not None else DEFAULT_XML_NAME
        text = render_task(plan, invocation, header, user=user, eod_timeouts=_eod_timeouts(config),
                           generated=generated, xml_file=xml_name)
        files[Path(xml_name).name] = encode_utf16(text)
        install = [schtasks_command(xml_name, user)]
        if output is not None:
            written.append(_write(output, files[Path(xml_name).name]))
    return ScheduleResult(target=target, plan=plan, invocation=invocation, server=server, text=text, files=files,
                          install=install, written=written)
