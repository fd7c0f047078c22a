"""An exchange's published list of holidays and special sessions, as ``tradeday calendar
import`` reads it (docs/CALENDAR.md, "Importing the exchange's list"):

* a CSV with the header ``date,description[,open,close]``: a row without times is a holiday,
  one with both times a special session (a Muhurat or a weekend session), times in the
  market's zone; dates ``YYYY-MM-DD`` (or NSE's ``26-Jan-2027``); blank lines and lines that
  start with ``#`` are skipped;
* NSE's holiday-master JSON as its website serves it: ``{"CM": [{"tradingDate": "26-Jan-2027",
  "description": "Republic Day", ...}], "FO": [...], ...}``; only ``CM`` (the Capital Market
  segment, the one tradeday's NSE times are for) is read.

Everything is checked before anything is used: a row that cannot be read, or a date listed as
a holiday and as a session, refuses the whole file with one line per problem, naming
``file:line`` (``file: CM[i]`` for a JSON entry).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from core.durations import parse_time_of_day
from core.errors import ConfigError, UsageError

HEADER = ("date", "description", "open", "close")
HEADER_TEXT = "date,description[,open,close]"
NSE_DATE = "%d-%b-%Y"  # 26-Jan-2027
FOOTNOTE = "*"  # NSE marks a holiday with a footnote (its Muhurat session) by a trailing asterisk


@dataclass(frozen=True)
class ListedDay:
    """One row of a published list: a holiday, or a session when it has times."""

    day: date
    name: str
    ref: str  # where in the file: "line 4" or "CM[3]"
    open: time | None = None
    close: time | None = None

    @property
    def is_session(self) -> bool:
        return self.open is not None


@dataclass(frozen=True)
class PublishedList:
    path: Path
    format: str  # "csv" or "nse-json"
    days: tuple[ListedDay, ...]
    notes: tuple[str, ...]  # worth a person's attention, not a reason to refuse
    sha256: str

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted({d.day.year for d in self.days}))

    @property
    def holidays(self) -> tuple[ListedDay, ...]:
        return tuple(d for d in self.days if not d.is_session)

    @property
    def sessions(self) -> tuple[ListedDay, ...]:
        return tuple(d for d in self.days if d.is_session)


def read_published(path: Path) -> PublishedList:
    """Read a published list; a file that is missing is a UsageError (exit 2), one with any
    row that cannot be read a ConfigError (exit 3) listing every such row."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror})", hint="give the path of the exchange's list") from None
    label = path.name
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{label}: not UTF-8 text (byte {exc.start})", hint="save the list as UTF-8 CSV or JSON") from None
    is_json = path.suffix.lower() == ".json" or (path.suffix.lower() != ".csv" and text.lstrip().startswith("{"))
    days, problems, notes = _nse_days(label, text) if is_json else _csv_days(label, text)
    problems += _clashes(label, days)
    problems.sort(key=lambda p: _line_of(label, p))  # in file order (JSON entries keep theirs)
    if not problems and not days:
        problems = [f"{label}: lists no day"]
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        err = ConfigError(problems[0] + more, hint="fix or remove those rows; nothing was imported")
        err.details = problems  # type: ignore[attr-defined]  # every problem: cli.main prints them all
        raise err
    return PublishedList(path, "nse-json" if is_json else "csv", tuple(days), tuple(notes),
                         hashlib.sha256(raw).hexdigest())


def _line_of(label: str, problem: str) -> int:
    number = problem[len(label) + 1:].partition(":")[0]
    return int(number) if number.isdigit() else 0


# --- CSV ------------------------------------------------------------------------------------------

def _csv_days(label: str, text: str) -> tuple[list[ListedDay], list[str], list[str]]:
    days: list[ListedDay] = []
    problems: list[str] = []
    notes: list[str] = []
    header: list[str] | None = None
    reader = csv.reader(io.StringIO(text))
    try:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [f.strip().lower() for f in fields]
                problem = _header_problem(header)
                if problem:
                    return [], [f"{label}:{line}: {problem}"], []
                continue
            if len(fields) != len(header):
                problems.append(f"{label}:{line}: {len(fields)} fields where the header has {len(header)}")
                continue
            row = dict(zip(header, (f.strip() for f in fields), strict=True))
            try:
                days.append(_csv_day(row, f"line {line}"))
            except ValueError as exc:
                problems.append(f"{label}:{line}: {exc}")
    except csv.Error as exc:
        problems.append(f"{label}:{reader.line_num}: not CSV ({exc})")
    if header is None and not problems:
        problems.append(f"{label}:1: no header; {HEADER_TEXT} comes first")
    return days, problems, notes


def _header_problem(header: list[str]) -> str | None:
    unknown = [h for h in header if h not in HEADER]
    if unknown or header[:2] != ["date", "description"] or len(set(header)) != len(header):
        return f"the header is {HEADER_TEXT}, not {','.join(header)}"
    if ("open" in header) != ("close" in header):
        return f"open and close go together; the header is {HEADER_TEXT}"
    return None


def _csv_day(row: dict[str, str], ref: str) -> ListedDay:
    day = _listed_date(row["date"])
    name = row["description"].rstrip(FOOTNOTE).strip()
    if not name:
        raise ValueError(f"{day}: the description is empty; name the holiday or session")
    opens, closes = row.get("open", ""), row.get("close", "")
    if not opens and not closes:
        return ListedDay(day, name, ref)
    if not (opens and closes):
        raise ValueError(f"{day}: give both open and close for a session, or neither for a holiday")
    start, end = _time(opens, "open"), _time(closes, "close")
    if start >= end:
        raise ValueError(f"{day}: open {start:%H:%M} must be before close {end:%H:%M}")
    return ListedDay(day, name, ref, start, end)


def _listed_date(text: str) -> date:
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, NSE_DATE).date()):
        try:
            return parse(text.strip())
        except ValueError:
            pass
    raise ValueError(f"date '{text}' is not a date; write YYYY-MM-DD (or 26-Jan-2027)")


def _time(text: str, column: str) -> time:
    try:
        return parse_time_of_day(text)
    except ValueError as exc:
        raise ValueError(f"{column}: {exc}") from None


# --- NSE's holiday-master JSON ------------------------------------------------------------------

def _nse_days(label: str, text: str) -> tuple[list[ListedDay], list[str], list[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [f"{label}:{exc.lineno}: not valid JSON ({exc.msg})"], []
    if not isinstance(data, dict) or not isinstance(data.get("CM"), list):
        return [], [f'{label}: no "CM" list (Capital Market segment); expected NSE\'s holiday-master JSON, '
                    '{"CM": [{"tradingDate": "26-Jan-2027", "description": "Republic Day"}, ...]}'], []
    days: list[ListedDay] = []
    problems: list[str] = []
    notes: list[str] = []
    for i, entry in enumerate(data["CM"]):
        ref = f"CM[{i}]"
        raw_date = entry.get("tradingDate") if isinstance(entry, dict) else None
        description = entry.get("description") if isinstance(entry, dict) else None
        try:
            day = datetime.strptime(str(raw_date).strip(), NSE_DATE).date()
        except ValueError:
            problems.append(f"{label}: {ref}: tradingDate {json.dumps(raw_date)} is not a date like 26-Jan-2027")
            continue
        text = description.strip() if isinstance(description, str) else ""
        name = text.rstrip(FOOTNOTE).strip()
        if not name:
            problems.append(f"{label}: {ref}: {day}: no description")
            continue
        if text.endswith(FOOTNOTE):
            notes.append(f"{day} '{text}': the * marks a footnote in NSE's list, usually a Muhurat session that "
                         "day; once its times are published, add them under market.special_sessions or import "
                         f"a CSV row '{day},Muhurat Trading,HH:MM,HH:MM'")
        days.append(ListedDay(day, name, ref))
    return days, problems, notes


# --- the file as a whole --------------------------------------------------------------------------

def _clashes(label: str, days: list[ListedDay]) -> list[str]:
    """A date is one thing: a holiday or a session, listed once (an exact repeat is harmless)."""
    problems = []
    seen: dict[date, ListedDay] = {}
    for d in days:
        first = seen.setdefault(d.day, d)
        if first is d or (first.name, first.open, first.close) == (d.name, d.open, d.close):
            continue
        where = f"{label}:{d.ref[5:]}" if d.ref.startswith("line ") else f"{label}: {d.ref}"
        if first.is_session != d.is_session:
            kinds = ("a session", "a holiday") if d.is_session else ("a holiday", "a session")
            problems.append(f"{where}: {d.day} is {kinds[0]} here and {kinds[1]} on {first.ref} ('{first.name}'); "
                            "a date is a holiday or a session, not both (a Muhurat day: list only the session)")
        else:
            problems.append(f"{where}: {d.day} is listed twice (also {first.ref}, '{first.name}')")
    return problems
