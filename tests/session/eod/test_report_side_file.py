"""The daily report's side file (``{date}.meta``, session/eod/store.py): a regeneration keeps
the run's records from it without loading the report, the next day carries from it exactly as
from the report, and reports without one (or with another report's) are read whole, as before.
In-process through run_eod, on real files."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from tests.session.eod.test_eod import DAY, HEADER, JOURNAL, make_config, write_journal

MONDAY = date(2026, 11, 23)
SESSION = {"status": "completed", "engines": [{"name": "momentum", "state": "STOPPED", "starts": 2, "restarts": 1,
                                               "exit_code": 0, "runtime_s": 22500.0}]}


def _daily(tmp_path: Path, day: date, suffix: str = ".json") -> Path:
    return tmp_path / "artifacts" / "reports" / "daily" / f"{day}{suffix}"


def _eod(cfg_path: Path, day: date, **options: object):
    from session.config import load_config
    from session.eod import EodOptions, run_eod

    result = run_eod(load_config(cfg_path), day, EodOptions(mode="paper", analytics=False, backtest=False,
                                                            **options))  # type: ignore[arg-type]
    assert result.exit_code == 0, result.steps
    return result


def _regenerate(cfg_path: Path, day: date):
    from session.config import load_config
    from session.eod import regenerate_daily

    result = regenerate_daily(load_config(cfg_path), day, mode="live")
    assert result.exit_code == 0, result.steps
    return json.loads(_daily(cfg_path.parent, day).read_text())


def _figures(doc: dict) -> tuple:
    return tuple(doc[k] for k in ("summary", "strategies", "symbols", "trades", "open_positions", "equity_curve"))


def test_regeneration_keeps_the_run_records_from_the_side_file_without_reading_the_report(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    write_journal(tmp_path, DAY, JOURNAL)
    _eod(cfg, DAY, session_info=SESSION)
    report = _daily(tmp_path, DAY)
    meta = json.loads(_daily(tmp_path, DAY, ".meta").read_text())
    assert meta["generated_at"] == json.loads(report.read_text())["generated_at"]
    assert [p["symbol"] for p in json.loads(report.read_text())["open_positions"]] == ["WIPRO"]
    # Everything after the report's head is damaged: only the side file can say what the run was.
    text = report.read_text()
    report.write_text(text[: text.index('"summary"')] + "damaged")
    doc = _regenerate(cfg, DAY)
    assert doc["session"]["engines"][0]["restarts"] == 1 and doc["session"]["status"] == "completed"
    assert doc["mode"] == "paper"  # the mode the day was traded in
    assert {s["name"] for s in doc["steps"]} >= {"analytics", "backtest", "fills", "reconcile"}


def test_old_reports_without_a_side_file_and_stale_side_files_are_read_whole(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    write_journal(tmp_path, DAY, JOURNAL)
    write_journal(tmp_path, MONDAY, HEADER + "2026-11-23T09:30:00+05:30,beta,WIPRO,SELL,2,52.00,0.30,O9,T9\n")
    _eod(cfg, DAY, session_info=SESSION)
    _eod(cfg, MONDAY)
    monday = json.loads(_daily(tmp_path, MONDAY).read_text())
    assert monday["trades"] == [] and monday["open_positions"][0]["quantity"] == 1  # 2 of WIPRO's 3 sold

    # A report written before side files existed: the session from the report, the carry from
    # its open_positions, the same figures.
    side = _daily(tmp_path, DAY, ".meta")
    side.unlink()
    friday = _regenerate(cfg, DAY)
    assert friday["session"]["engines"][0]["restarts"] == 1
    assert side.is_file()  # written again with the new report
    side.unlink()
    assert _figures(_regenerate(cfg, MONDAY)) == _figures(monday)

    # A side file that belongs to another report (its generated_at differs): ignored.
    _regenerate(cfg, DAY)
    stale = json.loads(side.read_text())
    stale["generated_at"] = "2026-11-20T18:00:00+05:30"
    stale["session"] = {"status": "stale", "engines": []}
    stale["carry"]["lots"] = [1]
    stale["carry"]["quantity"] = [999]
    side.write_text(json.dumps(stale))
    assert _regenerate(cfg, DAY)["session"]["status"] == "completed"
    side.write_text(json.dumps(stale))
    assert _figures(_regenerate(cfg, MONDAY)) == _figures(monday)
