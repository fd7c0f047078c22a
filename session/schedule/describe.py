"""The comment block every rendered schedule starts with: what was computed, for which zones."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from core.durations import format_duration
from session.schedule.compute import MAX_LEAD, StartPlan
from session.schedule.host import ServerZone


@dataclass(frozen=True)
class Invocation:
    """What the starter runs: absolute paths, the flags, the config's mode."""

    executable: Path
    config_path: Path
    live: bool
    max_stop_timeout: float  # the longest engine stop_timeout (seconds)

    @property
    def args(self) -> list[str]:
        mode = ["--mode", "live", "--confirm-live"] if self.live else []
        return ["run", "--config", str(self.config_path), *mode, "--quiet"]

    @property
    def argv(self) -> list[str]:
        return [str(self.executable), *self.args]


def _lead(delta: timedelta) -> str:
    return format_duration(delta.total_seconds())


def _offsets(values: set[str]) -> str:
    return " / ".join(sorted(values))


def describe(plan: StartPlan, *, target: str, invocation: Invocation, server: ServerZone | None,
             generated: datetime) -> list[str]:
    """Plain lines (no comment markers) for the block above a schedule."""
    sbo = format_duration(plan.start_before_open)
    market_offsets = _offsets({m for _, m in plan.offsets_seen})
    lines = [
        f"tradeday schedule {target}: generated {generated:%Y-%m-%d %H:%M %Z} for {invocation.config_path}",
        f"Market: {plan.calendar}, regular open {plan.regular_open:%H:%M} {plan.market_timezone} "
        f"(UTC {market_offsets}); session.start_before_open {sbo}.",
    ]
    if server is not None:
        server_offsets = _offsets({s for s, _ in plan.offsets_seen})
        lines.append(f"This machine's timezone: {server.name} (from {server.source}; UTC {server_offsets}). "
                     f"The time{'s' if plan.guarded else ''} below {'are' if plan.guarded else 'is'} "
                     f"{server.name} wall-clock time.")
        if server.note:
            lines.append(f"Note: {server.note}.")
    else:
        lines.append(f"The timer keeps the market's timezone ({plan.market_timezone}), so the market's DST "
                     "changes are systemd's business and the machine's own timezone does not matter.")
    leads = [s.min_lead for s in plan.starts] + [s.max_lead for s in plan.starts]
    lead = _lead(min(leads)) if min(leads) == max(leads) else f"{_lead(min(leads))} to {_lead(max(leads))}"
    rules = "both zones' DST rules" if server is not None else "the market's DST rules"
    lines.append(
        f"Computed for every day from {plan.first} to {plan.last} under {rules}: each day exactly one "
        f"start falls {lead} before the open (allowed: between {_lead(MAX_LEAD)} and {sbo} before it); "
        f"tradeday then waits until {sbo} before the open, and on a day without a session it says why "
        "and exits 0."
    )
    if plan.guarded:
        lines.append(
            f"No single time fits all of the year's UTC offset pairs, so there are {len(plan.starts)} starts, "
            "each for the offset pairs it names (server, market); exactly one of them counts each day."
        )
    if plan.earlier_opens:
        days = ", ".join(f"{d} {t:%H:%M}" for d, t in plan.earlier_opens)
        lines.append(f"Sessions that open early were included: {days}.")
    if plan.later_opens:
        days = ", ".join(f"{d} {t:%H:%M}" for d, t in plan.later_opens[:4])
        more = f" and {len(plan.later_opens) - 4} more" if len(plan.later_opens) > 4 else ""
        lines.append(f"Sessions that open later ({days}{more}): the morning start waits for them.")
    if plan.unknown_days:
        lines.append(f"{plan.calendar} has no holiday data for {plan.unknown_days} of these days: the start "
                     "fires anyway, and tradeday's precheck reports those days as unknown.")
    if invocation.live:
        lines.append("LIVE: this config says mode: live, so the command trades real money "
                     "(--mode live --confirm-live).")
    moved = "the config or the machine's timezone" if server is not None else "the config"
    lines.append(f"Regenerate before {plan.last}, and after changing {moved}.")
    return lines


def wrap(lines: list[str], prefix: str, width: int = 100) -> list[str]:
    """Wrap each line to ``width`` with ``prefix``; continuation lines are indented."""
    import textwrap

    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(line, width=width, initial_indent=prefix, subsequent_indent=prefix + "  ",
                                 break_on_hyphens=False, break_long_words=False) or [prefix.rstrip()])
    return out
