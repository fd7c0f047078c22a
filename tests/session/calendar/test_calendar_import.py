"""`tradeday calendar import`: an exchange's published list (CSV or NSE's holiday-master JSON)
becomes ``{root}/calendars/{NAME}.yaml``, which every command then loads on top of the bundled
data. Through the console script and real files; in-process where only the data matters.

NSE's 2027 list is not published yet (December 2026): the 2027 rows below are illustrative,
shaped like the real thing. The 2026 JSON fixture is NSE's real 2026 list.
"""
from __future__ import annotations

import json
import subprocess
import textwrap
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.errors import ConfigError
from session.calendar import MarketCalendar, import_calendar_file, load_overlay
from session.config import load_config
from tests.conftest import FIXTURES, run_tradeday, write_config

NSE_2026_JSON = FIXTURES / "calendar" / "nse_holiday_master_2026.json"

CSV_2027 = """\
date,description,open,close
2027-01-26,Republic Day,,
2027-03-22,Holi,,
2027-10-02,Mahatma Gandhi Jayanti,,
2027-12-25,Christmas,,
2027-02-06,Special live trading session,09:15,15:30
2027-10-29,Muhurat Trading,18:00,19:00
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def nse_config(tmp_path: Path, extra: str = "") -> Path:
    return write_config(tmp_path, f"market: {{calendar: XNSE}}\n{extra}")


def day_json(cfg: Path, day: str, cwd: Path) -> dict:
    r = run_tradeday(["calendar", "-c", str(cfg), "--date", day, "--json"], cwd=cwd)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def calendar_of(cfg: Path) -> MarketCalendar:
    return MarketCalendar.from_config(load_config(cfg))


# --- the command ---------------------------------------------------------------------------------

def test_csv_import_makes_the_year_known_and_a_second_import_changes_nothing(tmp_path: Path, cli_home: Path) -> None:
    cfg = nse_config(tmp_path)
    assert day_json(cfg, "2027-03-01", cli_home)["known"] is False  # before: no data for 2027
    listed = write(tmp_path, "nse-2027.csv", CSV_2027)

    r = run_tradeday(["calendar", "import", str(listed), "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    assert "4 holidays" in r.stdout and "2 special sessions" in r.stdout
    assert "years now known: 2027" in r.stdout
    written = tmp_path / "calendars" / "XNSE.yaml"
    overlay = load_overlay(written)  # the bundled overlay's schema, checked by the same model
    assert overlay.calendar == "XNSE" and overlay.known_years == frozenset({2027})
    assert overlay.holidays[date(2027, 1, 26)] == "Republic Day"
    assert not list(written.parent.glob(".*.tmp"))  # written through a temp file, nothing left over

    assert day_json(cfg, "2027-01-26", cli_home)["holiday"] == "Republic Day"
    monday = day_json(cfg, "2027-03-01", cli_home)
    assert (monday["known"], monday["is_trading_day"], monday["open"]) == (True, True, "2027-03-01T09:15:00+05:30")
    saturday = day_json(cfg, "2027-02-06", cli_home)
    assert saturday["special_session"] == "Special live trading session" and saturday["close"].endswith("15:30:00+05:30")
    muhurat = day_json(cfg, "2027-10-29", cli_home)
    assert (muhurat["open"], muhurat["close"]) == ("2027-10-29T18:00:00+05:30", "2027-10-29T19:00:00+05:30")

    before = (written.read_bytes(), written.stat().st_mtime_ns)
    again = run_tradeday(["calendar", "import", str(listed), "-c", str(cfg)], cwd=cli_home)
    assert again.returncode == 0, again.stderr
    assert "no change" in again.stdout
    assert (written.read_bytes(), written.stat().st_mtime_ns) == before


def test_nse_holiday_master_json_reads_the_cm_segment(tmp_path: Path, cli_home: Path) -> None:
    cfg = nse_config(tmp_path)
    r = run_tradeday(["calendar", "import", str(NSE_2026_JSON), "-c", str(cfg), "--json"], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["format"] == "nse-json" and result["holidays"] == 16 and result["special_sessions"] == 0
    assert result["years"] == [2026] and result["changed"] is True
    assert result["path"] == str(tmp_path / "calendars" / "XNSE.yaml")

    # NSE's own 2026 list agrees with what tradeday knew (pmc plus the bundled overlay).
    imported, bundled = calendar_of(cfg), MarketCalendar("XNSE")

    def closed(cal: MarketCalendar) -> dict[date, str | None]:
        days = cal.sessions(date(2026, 1, 1), date(2026, 12, 31))
        return {d.date: d.holiday for d in days if d.date.weekday() < 5 and not d.is_trading_day}

    assert closed(imported) == closed(bundled)
    assert imported.session(date(2026, 2, 19)).is_trading_day  # a CD-segment holiday, not CM
    assert imported.session(date(2026, 11, 8)).special_session == "Muhurat Trading"  # bundled entries stay


def test_a_footnoted_nse_entry_is_reported(tmp_path: Path, cli_home: Path) -> None:
    cfg = nse_config(tmp_path)
    listed = write(tmp_path, "holiday-master.json", json.dumps({"CM": [
        {"tradingDate": "26-Jan-2027", "weekDay": "Tuesday", "description": "Republic Day", "Sr_no": 1},
        {"tradingDate": "29-Oct-2027", "weekDay": "Friday", "description": "Diwali Laxmi Pujan*", "Sr_no": 2},
    ]}))
    r = run_tradeday(["calendar", "-c", str(cfg), "import", str(listed)], cwd=cli_home)  # -c before import too
    assert r.returncode == 0, r.stderr
    assert "2027-10-29" in r.stdout and "footnote" in r.stdout and "special_sessions" in r.stdout
    assert day_json(cfg, "2027-10-29", cli_home)["holiday"] == "Diwali Laxmi Pujan"


def test_rows_it_cannot_read_are_refused_naming_file_and_line(tmp_path: Path, cli_home: Path) -> None:
    cfg = nse_config(tmp_path)
    bad = write(tmp_path, "bad.csv", """\
        date,description,open,close
        2027-01-26,Republic Day,,
        2027-02-30,Nonsense day,,
        2027-03-06,Half a session,09:15,
        2027-03-13,Backwards session,15:30,09:15
        2027-03-22,,,
        """)
    r = run_tradeday(["calendar", "import", str(bad), "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    for line in (3, 4, 5, 6):
        assert f"bad.csv:{line}:" in r.stderr, r.stderr
    assert "2027-02-30" in r.stderr and "open 15:30 must be before close 09:15" in r.stderr
    assert not (tmp_path / "calendars").exists()  # nothing written, not even the good row

    header = write(tmp_path, "header.csv", "day,name\n2027-01-26,Republic Day\n")
    r = run_tradeday(["calendar", "import", str(header), "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 3 and "header.csv:1:" in r.stderr and "date,description" in r.stderr

    for name, text in (("broken.json", '{"CM": [ {"tradingDate": '), ("other.json", '{"FO": []}'),
                       ("entry.json", '{"CM": [{"tradingDate": "2027/01/26", "description": "Republic Day"}]}')):
        r = run_tradeday(["calendar", "import", str(write(tmp_path, name, text)), "-c", str(cfg)], cwd=cli_home)
        assert r.returncode == 3 and f"{name}" in r.stderr and "Traceback" not in r.stderr, (name, r.stderr)
    assert "CM" in r.stderr and "26-Jan-2027" in r.stderr  # the entry's index and the expected form

    missing = run_tradeday(["calendar", "import", str(tmp_path / "nope.csv"), "-c", str(cfg)], cwd=cli_home)
    assert missing.returncode == 2 and "nope.csv" in missing.stderr and "Traceback" not in missing.stderr


def test_a_holiday_and_a_session_on_one_date_clash(tmp_path: Path, cli_home: Path) -> None:
    cfg = nse_config(tmp_path)
    clash = write(tmp_path, "clash.csv", """\
        date,description,open,close
        2027-01-26,Republic Day,,
        2027-03-22,Holi,,
        2027-10-29,Diwali Laxmi Pujan,,
        2027-10-29,Muhurat Trading,18:00,19:00
        """)
    r = run_tradeday(["calendar", "import", str(clash), "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 3
    assert "clash.csv:5:" in r.stderr and "line 4" in r.stderr and "2027-10-29" in r.stderr
    assert not (tmp_path / "calendars").exists()


def test_the_listing_keeps_every_existing_invocation(tmp_path: Path, cli_home: Path) -> None:
    cfg = nse_config(tmp_path)
    r = run_tradeday(["calendar", "-c", str(cfg), "--from", "2026-11-06", "--to", "2026-11-08"], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    assert "2026-11-08" in r.stdout and "Muhurat Trading announced" in r.stdout
    r = run_tradeday(["calendar", "--config", str(cfg), "--json", "--date", "2026-11-10"], cwd=cli_home)
    assert r.returncode == 0 and json.loads(r.stdout)["holiday"] == "Diwali-Balipratipada"
    r = run_tradeday(["calendar", "--help"], cwd=cli_home)
    assert r.returncode == 0 and "import" in r.stdout and "--date" in r.stdout
    r = run_tradeday(["calendar", "-c", str(cfg), "--date", "2027-03-01"], cwd=cli_home)
    assert r.returncode == 0 and "no holiday data for 2027" in r.stdout


# --- what an import does to the data ------------------------------------------------------------

def test_a_reimport_replaces_its_years_and_keeps_the_others(tmp_path: Path) -> None:
    config = load_config(nse_config(tmp_path))
    first = import_calendar_file(config, write(tmp_path, "a.csv", CSV_2027))
    assert first.changed and first.years == (2027,)

    revised = write(tmp_path, "b.csv", CSV_2027.replace("2027-03-22,Holi,,\n", "2027-03-23,Holi,,\n"))
    second = import_calendar_file(config, revised)
    assert second.changed
    assert any("2027-03-22" in line and "Holi" in line for line in second.removed)
    assert any("2027-03-23" in line for line in second.added)

    later = import_calendar_file(config, write(tmp_path, "c.csv", "date,description\n2028-01-26,Republic Day\n"))
    assert later.years == (2028,) and later.known_years == (2027, 2028)
    cal = MarketCalendar.from_config(config)
    assert cal.session(date(2027, 3, 23)).holiday == "Holi"
    assert cal.session(date(2027, 3, 22)).is_trading_day  # the revised list moved Holi
    assert cal.session(date(2028, 1, 26)).holiday == "Republic Day"
    assert cal.known_through == 2028


def test_a_year_with_no_holiday_is_refused_unless_already_known(tmp_path: Path, cli_home: Path) -> None:
    cfg = nse_config(tmp_path)
    only_session = write(tmp_path, "muhurat-2027.csv", "date,description,open,close\n2027-10-29,Muhurat,18:00,19:00\n")
    r = run_tradeday(["calendar", "import", str(only_session), "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 3 and "no holiday for 2027" in r.stderr
    assert not (tmp_path / "calendars").exists()

    # 2026 is known: a row that only gives the Muhurat times NSE announced later is welcome.
    assert day_json(cfg, "2026-11-08", cli_home)["known"] is False
    times = write(tmp_path, "muhurat-2026.csv", "date,description,open,close\n2026-11-08,Muhurat Trading,18:00,19:00\n")
    r = run_tradeday(["calendar", "import", str(times), "-c", str(cfg)], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    day = day_json(cfg, "2026-11-08", cli_home)
    assert (day["known"], day["is_trading_day"], day["special_session"], day["holiday"]) == (
        True, True, "Muhurat Trading", "Diwali Laxmi Pujan")
    assert day_json(cfg, "2026-11-10", cli_home)["holiday"] == "Diwali-Balipratipada"  # 2026 otherwise as bundled


def test_an_imported_holiday_keeps_the_bundled_muhurat_session(tmp_path: Path) -> None:
    # NSE lists its Muhurat day as a holiday ("Diwali Laxmi Pujan*"); the session that evening stays.
    config = load_config(nse_config(tmp_path))
    listed = write(tmp_path, "holiday-master-2024.json", json.dumps({"CM": [
        {"tradingDate": "01-Nov-2024", "weekDay": "Friday", "description": "Diwali Laxmi Pujan*"},
        {"tradingDate": "15-Nov-2024", "weekDay": "Friday", "description": "Gurunanak Jayanti"},
    ]}))
    import_calendar_file(config, listed)
    day = MarketCalendar.from_config(config).session(date(2024, 11, 1))
    assert (day.is_trading_day, day.special_session, day.holiday) == (True, "Muhurat Trading", "Diwali Laxmi Pujan")
    assert (day.open.hour, day.close.hour) == (18, 19)  # type: ignore[union-attr]
    cancelled = MarketCalendar.from_market_config(
        SimpleNamespace(calendar="XNSE", extra_holidays={date(2024, 11, 1): "No Muhurat"}),
        calendars_dir=tmp_path / "calendars")
    assert not cancelled.session(date(2024, 11, 1)).is_trading_day  # the config wins over every file


def test_calendar_option_names_the_file_and_aliases_share_it(tmp_path: Path, cli_home: Path) -> None:
    us = write_config(tmp_path, "market: {calendar: XNYS}\n", name="us.yaml")
    listed = write(tmp_path, "nse-2027.csv", CSV_2027)
    r = run_tradeday(["calendar", "import", str(listed), "--calendar", "nse", "-c", str(us)], cwd=cli_home)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "calendars" / "NSE.yaml").is_file()
    assert not (tmp_path / "calendars" / "XNYS.yaml").exists()
    # XNSE is pmc's alias of NSE: a config naming either reads the same data.
    assert day_json(nse_config(tmp_path), "2027-01-26", cli_home)["holiday"] == "Republic Day"
    r = run_tradeday(["calendar", "import", str(listed), "--calendar", "XNES", "-c", str(us)], cwd=cli_home)
    assert r.returncode == 2 and "--calendar: unknown calendar 'XNES'" in r.stderr and "XNSE" in r.stderr


def test_a_broken_calendar_file_is_a_config_error(tmp_path: Path) -> None:
    config = load_config(nse_config(tmp_path))
    broken = tmp_path / "calendars" / "XNSE.yaml"
    broken.parent.mkdir()
    broken.write_text("calendar: XNSE\nholidays:\n  2027-01-26: {name: Republic Day, source: nowhere}\n")
    with pytest.raises(ConfigError) as err:
        MarketCalendar.from_config(config)
    assert "XNSE.yaml" in str(err.value) and "sources" in str(err.value)
    with pytest.raises(ConfigError):  # an import never overwrites a file it cannot read
        import_calendar_file(config, write(tmp_path, "a.csv", CSV_2027))
    assert "nowhere" in broken.read_text()
    wrong = tmp_path / "calendars" / "XNSE.yaml"
    wrong.write_text("calendar: XNYS\n")
    with pytest.raises(ConfigError) as err:
        MarketCalendar.from_config(config)
    assert "says 'XNYS'" in str(err.value)


def test_a_read_only_root_fails_in_one_line_and_keeps_the_file(tmp_path: Path, cli_home: Path) -> None:
    root = tmp_path / "ro"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(root)], check=True)
    try:
        cfg = nse_config(root)
        listed = write(tmp_path, "nse-2027.csv", CSV_2027)
        r = run_tradeday(["calendar", "import", str(listed), "-c", str(cfg)], cwd=cli_home)
        assert r.returncode == 0, r.stderr
        before = (root / "calendars" / "XNSE.yaml").read_bytes()
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        revised = write(tmp_path, "b.csv", CSV_2027.replace("Holi", "Holi (revised)"))
        r = run_tradeday(["calendar", "import", str(revised), "-c", str(cfg)], cwd=cli_home)
        assert r.returncode == 3 and "Traceback" not in r.stderr
        assert "cannot write" in r.stderr and "XNSE.yaml" in r.stderr
        assert (root / "calendars" / "XNSE.yaml").read_bytes() == before
    finally:
        subprocess.run(["umount", str(root)], check=False)

