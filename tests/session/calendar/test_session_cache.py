"""The session cache (session/calendar/cache.py): answers equal to a fresh computation for every
day of every year a calendar covers, used only when made by this pmc and this code, never in the
way (corrupt, read-only, full), and what lets a command answer without importing pandas."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from session.calendar import MarketCalendar, cache, pmc
from tests.conftest import REPO, TRADEDAY

# XNSE: every year of pmc's NSE list and the bundled overlay, and the first year after it (an
# unknown year must stay unknown from the cache). XNYS is rule-based (every year is known):
# the years a trader asks about, from 1990 to ten years ahead.
XNSE_YEARS = (1996, 2027)
XNYS_YEARS = (1990, date.today().year + 10)


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder, and this process's memory of pmc's days and horizons forgotten."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(folder))
    forget(monkeypatch)
    return folder


def forget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pmc, "_PMC_DAYS", {})
    monkeypatch.setattr(pmc, "_HORIZONS", {})


def refuse_pmc(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, computing a day or a horizon with pmc fails the test: answers must be cached."""

    def computed(*args: object, **kwargs: object) -> None:
        raise AssertionError("computed with pmc, not read from the session cache")

    monkeypatch.setattr(pmc.PmcDays, "_load", computed)
    monkeypatch.setattr(pmc, "list_horizon", computed)


def span(cal: MarketCalendar, years: tuple[int, int]) -> list:
    return cal.sessions(date(years[0], 1, 1), date(years[1], 12, 31))


@pytest.mark.parametrize(("name", "years"), [("XNSE", XNSE_YEARS), ("XNYS", XNYS_YEARS)])
def test_cached_answers_equal_a_fresh_computation_for_every_day(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch, name: str, years: tuple[int, int]
) -> None:
    fresh_cal = MarketCalendar(name)
    fresh = span(fresh_cal, years)  # computed by pmc, and kept
    zone = fresh_cal.tz.key
    written = sorted(p.name for p in (empty_cache / cache.FOLDER).iterdir())
    assert written == sorted([f"{name}-horizon.json"] + [cache.year_path(empty_cache, name, zone, y).name
                                                        for y in range(years[0], years[1] + 1)])
    direct = pmc.PmcDays(name, fresh_cal.tz, use_cache=False)  # pmc's own days, the cache not involved
    direct.ensure_years(*years)

    forget(monkeypatch)
    refuse_pmc(monkeypatch)
    cached_cal = MarketCalendar(name)
    cached = span(cached_cal, years)
    assert (cached_cal.known_from, cached_cal.known_through) == (fresh_cal.known_from, fresh_cal.known_through)
    assert len(cached) == len(fresh) == (date(years[1], 12, 31) - date(years[0], 1, 1)).days + 1
    for a, b in zip(cached, fresh, strict=True):
        assert a == b and a.breaks == b.breaks, a.date
        assert a.to_json() == b.to_json(), a.date  # same wall times and offsets, not only instants
        assert [str(t) for t in a.trading_intervals()] == [str(t) for t in b.trading_intervals()], a.date
        for x, y in ((a.open, b.open), (a.close, b.close)):
            assert (x.tzinfo if x else None) is (y.tzinfo if y else None), a.date
    # Every field pmc gave for every day, regular times (pre/post windows, early closes) included.
    base = pmc._PMC_DAYS[(name, zone)]
    for s in cached:
        got, want = base.day(s.date), direct.day(s.date)
        assert got == want, s.date
        assert [str(t) for t in (got.open, got.close, got.regular_open, got.regular_close)] == [
            str(t) for t in (want.open, want.close, want.regular_open, want.regular_close)], s.date
    if name == "XNSE":  # the overlay's sessions and the unknown year came through as before
        by_day = {s.date: s for s in cached}
        assert by_day[date(2024, 11, 1)].special_session and by_day[date(2024, 11, 1)].is_trading_day
        assert not by_day[date(2027, 3, 1)].known


def test_a_cache_made_by_another_pmc_or_another_code_is_not_used(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = date(2026, 3, 2)  # a regular XNYS Monday
    assert MarketCalendar("XNYS").session(day).is_trading_day
    path = cache.year_path(empty_cache, "XNYS", "America/New_York", 2026)
    horizon = cache.horizon_path(empty_cache, "XNYS")
    good = json.loads(path.read_text())
    index = (day - date(2026, 1, 1)).days
    for field, other in (("pandas_market_calendars", "0.0.1"), ("exchange_calendars", "0.0.1"),
                         ("pandas", "0.0.1"), ("code", "0" * 16)):
        # The same file with a forged day, written by "another" pmc version or tradeday code.
        forged = json.loads(json.dumps(good))
        forged["key"][field] = other
        forged["days"][index] = [None, None, *good["days"][index][2:4], "Forged holiday", False, False]
        path.write_text(json.dumps(forged))
        horizon_data = json.loads(horizon.read_text())
        horizon.write_text(json.dumps({**horizon_data, "key": forged["key"], "horizon": [2026, 2026]}))
        forget(monkeypatch)
        again = MarketCalendar("XNYS")
        assert again.session(day).is_trading_day and again.session(day).holiday is None, field
        assert again.known_through is None, field  # not the forged horizon
        assert json.loads(path.read_text()) == good, field  # rewritten under this process's key
        assert json.loads(horizon.read_text())["key"] == cache.cache_key()
    # With this key, the file is what answers -- unless others could have written it.
    forged = json.loads(json.dumps(good))
    forged["days"][index] = [None, None, *good["days"][index][2:4], "Forged holiday", False, False]
    path.write_text(json.dumps(forged))
    path.chmod(0o666)
    forget(monkeypatch)
    assert MarketCalendar("XNYS").session(day).holiday is None
    assert json.loads(path.read_text()) == good and path.stat().st_mode & 0o077 == 0
    path.write_text(json.dumps(forged))
    forget(monkeypatch)
    assert MarketCalendar("XNYS").session(day).holiday == "Forged holiday"


def test_the_overlays_apply_on_top_of_a_warm_cache(empty_cache: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # The user's calendar file changes after the cache was made: its days count at once.
    day = date(2026, 3, 2)
    calendars = tmp_path / "calendars"
    calendars.mkdir()
    assert MarketCalendar("XNYS", calendars_dir=calendars).session(day).is_trading_day
    forget(monkeypatch)
    refuse_pmc(monkeypatch)
    (calendars / "XNYS.yaml").write_text(textwrap.dedent("""
        calendar: XNYS
        sources:
          memo: {date: 2026-01-05, title: Exchange memo}
        holidays:
          2026-03-02: {name: Storm closure, source: memo}
    """), encoding="utf-8")
    closed = MarketCalendar("XNYS", calendars_dir=calendars).session(day)
    assert (closed.is_trading_day, closed.holiday) == (False, "Storm closure")


@pytest.mark.parametrize("damage", ["truncated", "not json", "a day short", "a bad row", "another year",
                                    "empty", "a list"])
def test_a_corrupt_cache_file_is_ignored_and_rewritten(empty_cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                      damage: str) -> None:
    day = date(2026, 11, 27)  # the day after Thanksgiving: an early close
    expected = MarketCalendar("XNYS").session(day)
    assert expected.early_close
    path = cache.year_path(empty_cache, "XNYS", "America/New_York", 2026)
    good = path.read_text()
    data = json.loads(good)
    broken = {
        "truncated": good[: len(good) // 2],
        "not json": "\x00\xff garbage",
        "a day short": json.dumps({**data, "days": data["days"][:-1]}),
        "a bad row": json.dumps({**data, "days": [*data["days"][:-1], ["09:30", None, None, None, None, 1, 2]]}),
        "another year": json.dumps({**data, "year": 2025}),
        "empty": "",
        "a list": "[]",
    }[damage]
    path.write_text(broken)
    forget(monkeypatch)
    assert MarketCalendar("XNYS").session(day) == expected
    assert path.read_text() == good


def test_an_unwritable_cache_folder_costs_only_speed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    day = date(2026, 11, 27)
    for options in ("ro", "size=16k"):
        folder = tmp_path / options.replace("=", "")
        folder.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
        try:
            if options != "ro":  # a full disk: fill it first
                (folder / cache.FOLDER).mkdir()
                with pytest.raises(OSError), open(folder / "filler", "wb") as fh:
                    while True:
                        fh.write(b"x" * 4096)
                        fh.flush()
            monkeypatch.setenv(cache.CACHE_ENV, str(folder))
            forget(monkeypatch)
            got = MarketCalendar("XNYS").session(day)
            assert got.early_close and got.close is not None and got.close.hour == 13
            left = sorted(p.name for p in (folder / cache.FOLDER).iterdir()) if options != "ro" else []
            assert left == []  # no half-written file, no temporary one
        finally:
            subprocess.run(["umount", str(folder)], check=True)


def test_a_warm_cache_answers_without_pandas_and_the_cli_never_fails_on_it(tmp_path: Path) -> None:
    # Real processes: the first computes and keeps, the second answers from the files alone.
    code = textwrap.dedent("""
        import json, sys
        from datetime import date
        from session.calendar import MarketCalendar
        out = {}
        for name in ("XNYS", "XNSE"):
            cal = MarketCalendar(name)
            out[name] = [d.to_json() for d in cal.sessions(date(2026, 1, 1), date(2026, 12, 31))]
            out[name + " horizon"] = [cal.known_from, cal.known_through, cal.first_unknown_year(2026)]
        out["heavy"] = [m for m in ("pandas", "pandas_market_calendars", "numpy") if m in sys.modules]
        print(json.dumps(out))
    """)
    env = {**os.environ, cache.CACHE_ENV: str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                           timeout=120) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr + runs[1].stderr
    cold, warm = (json.loads(r.stdout) for r in runs)
    assert "pandas_market_calendars" in cold.pop("heavy")
    assert warm.pop("heavy") == []
    assert warm == cold
    assert warm["XNSE horizon"] == [1996, 2026, 2027]

    # The command line with a cache folder it cannot create (a file is in the way): the answer,
    # exit 0, nothing on stderr.
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    config = tmp_path / "t.yaml"
    config.write_text(f'version: "1.0.0"\nroot: "{tmp_path}"\nmarket: {{calendar: XNYS}}\nbroker: {{kind: none}}\n')
    done = subprocess.run([TRADEDAY, "calendar", "--date", "2026-11-27", "--json", "-c", str(config)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, cache.CACHE_ENV: str(blocked / "cache")})
    assert done.returncode == 0 and done.stderr == "", done.stderr
    answer = json.loads(done.stdout)
    assert (answer["early_close"], answer["close"]) == (True, "2026-11-27T13:00:00-05:00")
