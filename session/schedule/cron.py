"""A crontab snippet: the daily line(s) in the server's timezone, with no reliance on CRON_TZ.

Debian's cron ignores ``CRON_TZ``, so the times are written in the timezone cron reads them in.
When one time cannot cover both DST regimes, each line is guarded by a shell test of the two
UTC offsets at the moment it fires (``date +%z``, ``%`` escaped for crontab), so that one run a
day starts and a line whose offsets do not hold exits silently (no output, no cron mail).
"""
from __future__ import annotations

import shlex

from session.schedule.compute import StartPlan
from session.schedule.describe import Invocation, wrap
from session.schedule.host import ServerZone


def guard_test(server: ServerZone, market_timezone: str) -> str:
    """The shell words that print "<server offset> <market offset>" when the line fires."""
    server_date = f"TZ={shlex.quote(server.shell_tz)} date" if server.shell_tz else "date"
    return f'"$({server_date} +\\%z) $(TZ={shlex.quote(market_timezone)} date +\\%z)"'


def cron_lines(plan: StartPlan, invocation: Invocation, server: ServerZone) -> list[str]:
    # cron turns an unescaped % of the command into a newline.
    command = shlex.join(invocation.argv).replace("%", "\\%")
    lines = []
    for start in plan.starts:
        when = f"{start.at.minute} {start.at.hour} * * *"
        if not start.guarded:
            lines.append(f"{when}  {command}")
            continue
        patterns = "|".join(f'"{s} {m}"' for s, m in start.offsets)
        lines.append(f"{when}  case {guard_test(server, plan.market_timezone)} in {patterns}) exec {command};; esac")
    return lines


def render_cron(plan: StartPlan, invocation: Invocation, server: ServerZone, header: list[str]) -> str:
    notes = [
        *header,
        "Install: `crontab -e` and paste these lines (cron starts jobs in $HOME with a bare PATH; "
        "the paths are absolute).",
        "cron mails whatever a job prints, whatever its exit code (and drops it without a local mail "
        "server): --quiet keeps the engines' output out of the mail (it is in {artifacts}/logs/{date}/); "
        "set MAILTO=you@example.com above the lines to choose where it goes.",
    ]
    if plan.guarded:
        notes.append("Each line tests both UTC offsets when it fires (`date +%z`; crontab needs the % escaped "
                     "as \\%) and starts tradeday only if they are the ones it names; the test needs the "
                     "tzdata package.")
    body = wrap(notes, "# ")
    return "\n".join([*body, *cron_lines(plan, invocation, server)]) + "\n"
