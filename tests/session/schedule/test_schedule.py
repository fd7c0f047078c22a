"""`tradeday schedule cron|systemd|windows` through the console script.

The printed cron lines are evaluated with croniter (their guards with the shell's own `date`
words, evaluated at each firing) against every session of a year taken from
`tradeday calendar --from --to --json`: each session day gets exactly one start between 3 hours
and start_before_open before the open, and no two starts fall on one day.
"""
from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import TRADEDAY, run_tradeday, write_config

croniter_mod = pytest.importorskip("croniter")

SERVER_ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Europe/London"]
MARKETS = {
    # calendar: (regular open, market timezone): exchange facts, not tradeday's output.
    "XNSE": (time(9, 15), "Asia/Kolkata"),
    "XNYS": (time(9, 30), "America/New_York"),
}
MAX_LEAD = timedelta(hours=3)
NS = "{http://schemas.microsoft.com/windows/2004/02/mit/task}"
GUARD = re.compile(r'case "\$\((?:TZ=(\S+) )?date \+\\%z\) \$\(TZ=(\S+) date \+\\%z\)" in (.+?)\) exec (.+);; esac$')


def market_config(folder: Path, calendar: str, start_before_open: str, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(folder, f"""
        version: "1.0.0"
        mode: paper
        market:
          calendar: {calendar}
        session:
          start_before_open: {start_before_open}
        engines:
          - name: demo
            command: ["{{python}}", "-c", "pass"]
            stop_timeout: 45s
        broker:
          kind: none
        eod:
          enabled: false
        """, name=name or f"{calendar.lower()}-{start_before_open}.yaml")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of configs for the whole module, so that each calendar is fetched once."""
    return tmp_path_factory.mktemp("configs")


def schedule(target: str, cfg: Path, tz: str | None = "UTC", *extra: str) -> subprocess.CompletedProcess[str]:
    env = {"TZ": tz} if tz is not None else {}
    return run_tradeday(["schedule", target, "-c", str(cfg), *extra], env=env, timeout=120)


def schedule_json(target: str, cfg: Path, tz: str = "UTC", *extra: str) -> dict:
    proc = schedule(target, cfg, tz, "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


_calendars: dict[tuple[str, str, str], list[dict]] = {}


def sessions(cfg: Path, first: str, last: str) -> list[dict]:
    key = (str(cfg), first, last)
    if key not in _calendars:
        proc = run_tradeday(["calendar", "-c", str(cfg), "--from", first, "--to", last, "--json"], timeout=120)
        assert proc.returncode == 0, proc.stderr
        _calendars[key] = [d for d in json.loads(proc.stdout) if d["is_trading_day"]]
    return _calendars[key]


def windows(days: list[dict], calendar: str, start_before_open: timedelta) -> list[tuple[str, datetime, datetime]]:
    """Each session's allowed start window: [anchor - 3h, anchor - start_before_open], where the
    anchor is the regular open, or the day's own open when it is earlier (a later special
    session, e.g. Muhurat at 18:00, is waited for by a morning start)."""
    regular, zone = MARKETS[calendar]
    out = []
    for d in days:
        opens = datetime.fromisoformat(d["open"])
        anchor = min(opens, datetime.combine(date.fromisoformat(d["date"]), regular, tzinfo=ZoneInfo(zone)))
        out.append((d["date"], anchor - MAX_LEAD, anchor - start_before_open))
    return out


def offset(zone: str, at: datetime) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%z")


def cron_starts(text: str, server_tz: str, first: date, last: date) -> list[datetime]:
    """Every start the printed crontab lines make between ``first`` and ``last``: croniter for the
    times, each guard's two `date +%z` words evaluated at the firing instant."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines, text
    zone = ZoneInfo(server_tz)
    starts = []
    for line in lines:
        fields = line.split(None, 5)
        expr, command = " ".join(fields[:5]), fields[5]
        assert fields[2:5] == ["*", "*", "*"], line  # every day: tradeday decides about sessions
        guard = GUARD.match(command)
        if guard:
            guard_server, guard_market, patterns, command = guard.groups()
            allowed = set(re.findall(r'"([+-]\d{4} [+-]\d{4})"', patterns))
            assert allowed and guard_market in {"Asia/Kolkata", "America/New_York"}
        argv = shlex.split(command)
        assert argv[0] == TRADEDAY and argv[1] == "run" and argv[-1] == "--quiet", argv
        it = croniter_mod.croniter(expr, datetime.combine(first - timedelta(days=2), time(0), tzinfo=zone))
        while True:
            fire = it.get_next(datetime)
            if fire.date() > last + timedelta(days=2):
                break
            if guard:
                words = f"{offset(guard_server or server_tz, fire)} {offset(guard_market, fire)}"
                if words not in allowed:
                    continue
            starts.append(fire)
    return sorted(starts)


def assert_one_start_per_session(starts: list[datetime], wins: list[tuple[str, datetime, datetime]]) -> None:
    for day, lo, hi in wins:
        inside = [s for s in starts if lo <= s <= hi]
        assert len(inside) == 1, f"{day}: {len(inside)} starts in [{lo}, {hi}]: {inside}"
    for a, b in zip(starts, starts[1:], strict=False):
        assert b - a > timedelta(hours=12), f"two starts on one day: {a} and {b}"


CASES = [
    # (calendar, start_before_open, --from): NSE's holiday data ends with 2026, so one NSE case
    # looks at a year it knows whole (Budget Saturday 2025-02-01, Muhurat 13:45 on 2025-10-21).
    ("XNSE", "10m", None),
    ("XNSE", "10m", "2025-01-01"),
    ("XNYS", "10m", None),
]


@pytest.mark.parametrize("server_tz", SERVER_ZONES)
@pytest.mark.parametrize(("calendar", "sbo", "first"), CASES)
def test_cron_lines_start_once_in_every_sessions_window(shared: Path, server_tz: str, calendar: str, sbo: str,
                                                         first: str | None) -> None:
    cfg = market_config(shared, calendar, sbo)
    extra = ("--from", first) if first else ()
    result = schedule_json("cron", cfg, server_tz, *extra)
    text, plan = result["text"], result["plan"]
    lo, hi = date.fromisoformat(plan["from"]), date.fromisoformat(plan["to"])
    assert (hi - lo).days >= 365
    if first:
        assert plan["from"] == first
    days = sessions(cfg, plan["from"], plan["to"])
    assert days, "no sessions in the year"
    starts = cron_starts(text, server_tz, lo, hi)
    assert_one_start_per_session(starts, windows(days, calendar, timedelta(minutes=10)))
    # The comment block says what was computed, for which zones; nothing relies on CRON_TZ.
    head = "\n".join(ln for ln in text.splitlines() if ln.startswith("#"))
    assert server_tz in head and MARKETS[calendar][1] in head and "CRON_TZ=" not in text
    assert result["executable"] == TRADEDAY and result["config"] == str(cfg)


def test_cron_prints_the_comment_block_and_the_line(tmp_path: Path) -> None:
    cfg = market_config(tmp_path / "cfg", "XNSE", "10m")
    proc = schedule("cron", cfg, "UTC")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == schedule_json("cron", cfg, "UTC")["text"]
    assert proc.stdout.startswith("# tradeday schedule cron: generated ")
    # NSE opens 09:15 IST (UTC+05:30, no DST): 25 minutes before tradeday's own start, in UTC.
    assert proc.stdout.splitlines()[-1] == f"20 3 * * *  {TRADEDAY} run --config {cfg} --quiet"
    assert "cron mails whatever a job prints, whatever its exit code" in proc.stdout.replace("\n# ", " ").replace("\n#   ", " ")


@pytest.mark.parametrize(("calendar", "server_tz"), [("XNYS", "UTC"), ("XNYS", "Europe/London"),
                                                      ("XNSE", "America/New_York")])
def test_two_guarded_lines_when_one_time_cannot_fit_both_dst_regimes(shared: Path, calendar: str,
                                                                      server_tz: str) -> None:
    # A 45-minute window (3h down to 2h15m before the open) cannot absorb a one-hour DST shift.
    cfg = market_config(shared, calendar, "2h15m")
    result = schedule_json("cron", cfg, server_tz)
    text, plan = result["text"], result["plan"]
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert len(lines) >= 2 and all(GUARD.search(ln) for ln in lines), text
    starts = cron_starts(text, server_tz, date.fromisoformat(plan["from"]), date.fromisoformat(plan["to"]))
    assert_one_start_per_session(starts, windows(sessions(cfg, plan["from"], plan["to"]), calendar,
                                                 timedelta(hours=2, minutes=15)))

    # The guards are real shell: run each with sh and the system's `date`, now. Exactly one passes,
    # the one whose offsets Python sees now.
    now = datetime.now().astimezone()
    passing = []
    for line in lines:
        test, patterns = GUARD.search(line).group(0).split(" in ")[0], GUARD.search(line).group(3)
        script = test.replace("\\%", "%") + f" in {patterns}) echo yes;; esac"
        done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        passing.append(done.stdout.strip() == "yes")
    assert passing.count(True) == 1, (lines, passing)
    server_guard, market_guard = GUARD.search(lines[passing.index(True)]).group(1, 2)
    words = f'"{offset(server_guard or server_tz, now)} {offset(market_guard, now)}"'
    assert words in lines[passing.index(True)]


def test_systemd_timer_keeps_the_market_timezone(tmp_path: Path) -> None:
    cfg = market_config(tmp_path / "cfg", "XNSE", "10m")
    out = tmp_path / "units"
    out.mkdir()
    # The machine's own timezone does not matter for a timer in market time.
    texts = {}
    for tz in ("UTC", "America/New_York"):
        proc = schedule("systemd", cfg, tz)
        assert proc.returncode == 0, proc.stderr
        texts[tz] = re.findall(r"^OnCalendar=.*$", proc.stdout, re.M)
    assert texts["UTC"] == texts["America/New_York"] == ["OnCalendar=*-*-* 08:50:00 Asia/Kolkata"]

    proc = schedule("systemd", cfg, "UTC", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    service = (out / "tradeday.service").read_text(encoding="utf-8")
    timer = (out / "tradeday.timer").read_text(encoding="utf-8")
    assert f"ExecStart={TRADEDAY} run --config {cfg} --quiet" in service
    assert "Type=oneshot" in service and "SuccessExitStatus=143" in service and "activating" in service
    assert "TimeoutStopSec=105" in service  # the engine's stop_timeout 45s plus a margin
    assert "Persistent=true" in timer and "Unit=tradeday.service" in timer
    assert timer.startswith("# tradeday schedule systemd:") and "Asia/Kolkata" in timer.split("[Unit]")[0]
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", str(out / "tradeday.service"), str(out / "tradeday.timer")],
                                capture_output=True, text=True, timeout=60)
        assert verify.returncode == 0, verify.stderr
        assert "tradeday." not in verify.stderr, verify.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_timer_fires_in_every_sessions_window(shared: Path) -> None:
    cfg = market_config(shared, "XNYS", "10m")
    proc = schedule("systemd", cfg, "UTC")
    spec = re.search(r"^OnCalendar=(.*)$", proc.stdout, re.M).group(1)
    plan = schedule_json("systemd", cfg)["plan"]
    wins = windows(sessions(cfg, plan["from"], plan["to"]), "XNYS", timedelta(minutes=10))
    # systemd's own calendar arithmetic: the next elapses from the start of the year.
    done = subprocess.run(["systemd-analyze", "calendar", "--iterations=400", spec,
                           f"--base-time={plan['from']} 00:00:00 UTC"],
                          capture_output=True, text=True, timeout=60, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"})
    if "--base-time" in done.stderr or "unrecognized" in done.stderr:
        pytest.skip("systemd-analyze calendar has no --base-time")
    assert done.returncode == 0, done.stderr
    elapses = [datetime.strptime(m, "%a %Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo("UTC"))
               for m in re.findall(r"(?:Next elapse|Iter\. #\d+): (\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC",
                                   done.stdout)]
    assert len(elapses) >= 300, done.stdout[:500]
    last = elapses[-1]
    assert_one_start_per_session(elapses, [w for w in wins if w[2] <= last])


def test_windows_task_xml_follows_the_task_scheduler_schema(shared: Path, tmp_path: Path) -> None:
    cfg = market_config(shared, "XNYS", "10m")
    xml_file = tmp_path / "tradeday.xml"
    proc = schedule("windows", cfg, "Europe/London", "--output", str(xml_file))
    assert proc.returncode == 0, proc.stderr
    assert f'schtasks /Create /XML "{xml_file}" /TN tradeday' in proc.stdout
    raw = xml_file.read_bytes()
    assert raw.startswith(b"\xff\xfe"), "schtasks reads UTF-16: BOM and little-endian expected"
    text = raw.decode("utf-16")
    assert text.startswith('<?xml version="1.0" encoding="UTF-16"?>')
    task = ET.fromstring(raw)

    # The schema's required structure (taskType; Actions is the one mandatory child).
    assert task.tag == f"{NS}Task" and task.get("version") in {"1.2", "1.3", "1.4"}
    children = [c.tag.removeprefix(NS) for c in task]
    assert len(children) == len(set(children))  # xs:all: each at most once
    assert set(children) <= {"RegistrationInfo", "Triggers", "Settings", "Data", "Principals", "Actions"}
    assert {"RegistrationInfo", "Triggers", "Settings", "Principals", "Actions"} <= set(children)
    allowed_info = {"URI", "SecurityDescriptor", "Source", "Date", "Author", "Version", "Description", "Documentation"}
    assert {c.tag.removeprefix(NS) for c in task.find(f"{NS}RegistrationInfo")} <= allowed_info

    triggers = task.findall(f"{NS}Triggers/{NS}CalendarTrigger")
    assert triggers
    order = ["Enabled", "StartBoundary", "EndBoundary", "Repetition", "ExecutionTimeLimit", "RandomDelay",
             "ScheduleByDay"]
    for trigger in triggers:
        tags = [c.tag.removeprefix(NS) for c in trigger]
        assert "StartBoundary" in tags and tags[-1] == "ScheduleByDay"
        assert tags == sorted(tags, key=order.index)  # triggerBaseType is a sequence
        assert trigger.findtext(f"{NS}ScheduleByDay/{NS}DaysInterval") == "1"
        start = trigger.findtext(f"{NS}StartBoundary")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", start)  # local time: follows DST
    principal = task.find(f"{NS}Principals/{NS}Principal")
    assert principal is not None and principal.get("id") == task.find(f"{NS}Actions").get("Context")
    assert principal.findtext(f"{NS}LogonType") == "Password"  # run whether the user is logged on or not
    settings = task.find(f"{NS}Settings")
    assert settings.findtext(f"{NS}MultipleInstancesPolicy") == "IgnoreNew"
    limit = re.fullmatch(r"PT(\d+)H", settings.findtext(f"{NS}ExecutionTimeLimit"))
    assert limit and int(limit.group(1)) > 9  # above a 6.5-hour session started up to 3h early
    execute = task.find(f"{NS}Actions/{NS}Exec")
    command = execute.findtext(f"{NS}Command")
    assert Path(command).is_absolute() and Path(command).name.startswith("tradeday")
    assert command == TRADEDAY
    assert execute.findtext(f"{NS}Arguments") == f"run --config {cfg} --quiet"

    # The trigger time(s): one start in every session's window, in the machine's local time.
    plan = schedule_json("windows", cfg, "Europe/London")["plan"]
    london = ZoneInfo("Europe/London")
    ranges = []
    for trigger in triggers:
        start = datetime.fromisoformat(trigger.findtext(f"{NS}StartBoundary"))
        end = trigger.findtext(f"{NS}EndBoundary")
        ranges.append((start, datetime.fromisoformat(end) if end else datetime(9999, 1, 1)))
    starts = []
    day = date.fromisoformat(plan["from"])
    while day <= date.fromisoformat(plan["to"]):
        for start, end in ranges:
            fire = datetime.combine(day, start.time())
            if start <= fire < end:
                starts.append(fire.replace(tzinfo=london))
        day += timedelta(days=1)
    assert_one_start_per_session(starts, windows(sessions(cfg, plan["from"], plan["to"]), "XNYS",
                                                 timedelta(minutes=10)))


def test_windows_two_regimes_become_date_bounded_triggers(tmp_path: Path) -> None:
    cfg = market_config(tmp_path / "cfg", "XNYS", "2h15m")
    proc = schedule("windows", cfg, "UTC")
    assert proc.returncode == 0, proc.stderr
    task = ET.fromstring(proc.stdout)  # stdout is the XML itself (declared UTF-16; -o writes it so)
    triggers = task.findall(f"{NS}Triggers/{NS}CalendarTrigger")
    times = {t.findtext(f"{NS}StartBoundary")[11:] for t in triggers}
    assert times == {"11:00:00", "12:00:00"}  # EDT and EST
    bounded = [t for t in triggers if t.find(f"{NS}EndBoundary") is not None]
    assert len(bounded) == len(triggers) - 1  # the last one stays open


@pytest.mark.parametrize(("args", "env", "message"), [
    (["schedule", "cron"], {"TZ": "Mars/Olympus_Mons"}, "TZ='Mars/Olympus_Mons' is not a timezone"),
    (["schedule", "cron", "--from", "2026-13-01"], {"TZ": "UTC"}, "--from: '2026-13-01' is not a date"),
    (["schedule", "solaris"], {"TZ": "UTC"}, "solaris"),
])
def test_user_mistakes_are_one_line_and_exit_2(tmp_path: Path, args: list[str], env: dict[str, str],
                                               message: str) -> None:
    cfg = market_config(tmp_path / "cfg", "XNYS", "10m")
    proc = run_tradeday([*args, "-c", str(cfg)], env=env)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_start_before_open_of_three_hours_has_no_window(tmp_path: Path) -> None:
    cfg = market_config(tmp_path / "cfg", "XNYS", "3h")
    proc = schedule("cron", cfg)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "session.start_before_open" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_output_to_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    cfg = market_config(tmp_path / "cfg", "XNYS", "10m")
    proc = schedule("windows", cfg, "UTC", "--output", str(tmp_path / "nowhere" / "t.xml"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "nowhere").exists()


def test_live_config_says_so_on_the_line(tmp_path: Path) -> None:
    cfg = market_config(tmp_path / "cfg", "XNYS", "10m")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("mode: paper", "mode: live"), encoding="utf-8")
    proc = schedule("cron", cfg)
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln and not ln.startswith("#")][0]
    assert "--mode live --confirm-live" in line and "# LIVE:" in proc.stdout
