"""The end of day: analytics and backtest hooks, fills, reconciliation, the daily report.

``run_eod`` is what ``tradeday run`` calls after the close and what ``tradeday eod`` runs
by hand; ``tradeday report`` calls it with ``regenerate=True`` (no broker calls, hooks
only with ``--with-analytics``, the run's records kept). The steps, in order:

1. analytics: ``eod.analytics.command`` in its own process group, output to
   ``{logs}/{date}/eod-analytics.log``, killed (whole group) at ``eod.analytics.timeout``;
   ``{artifacts}/analytics/daily/{date}.json`` is embedded in the report.
2. backtest: the same contract; ``{artifacts}/backtests/daily/{date}.json``.
3. fills: the engine's journal, or (``eod.fills_source: kite``) today's trades from Kite,
   saved as ``{journal}/{date}.kite.csv`` so the engine's own journal is never touched.
4. reconcile: the engine's journal against the broker's fills, when both exist.
5. report: ``{reports}/daily/{date}.json`` and ``.md`` (``.html``, ``.png``), with the
   previous session's open positions as opening lots (carry).

A failing step is recorded (report and log) and makes the exit code 5, but the later
steps still run and the report is still written. Bad input (a journal or previous report
that does not parse) is different: no report is written from it, the earlier report for
that date stays as it was, and the error names file:line and field.
"""
from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError, EodError, TradedayError, UsageError
from core.exitcodes import ExitCode
from core.redact import GLOBAL_REDACTOR

if TYPE_CHECKING:
    from reports.journal import Fill, FillTable
    from session.calendar import MarketCalendar
    from session.config import StepConfig, TradedayConfig

log = logging.getLogger("tradeday.eod")

# Earlier daily reports searched for open positions to carry (holiday weeks included).
CARRY_LOOKBACK_DAYS = 10
# After a step's timeout: SIGTERM to its group, then this long before SIGKILL.
STEP_STOP_GRACE_S = 5.0
# An analytics/backtest document larger than this is not embedded in the report.
MAX_EMBED_BYTES = 5 * 1024 * 1024
# Lines of a failed step's output repeated in tradeday's log (the full output is in its file).
OUTPUT_TAIL_LINES = 15

STEP_OK = "ok"
STEP_FAILED = "failed"
STEP_TIMEOUT = "timeout"
STEP_SKIPPED = "skipped"
STEP_MISMATCH = "mismatch"  # reconciliation found differences: listed in the report, not a failure
FAILED_STATUSES = frozenset({STEP_FAILED, STEP_TIMEOUT})

_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})(\.kite)?\.(csv|jsonl)$")
_REPORT_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json$")


# --------------------------------------------------------------------------- contract


@dataclass
class EodOptions:
    mode: str
    analytics: bool = True
    backtest: bool = True
    # {"status": "completed"|..., "engines": [EngineStatus.to_json() dicts]}; None: nothing ran
    # (then the report keeps the session of an earlier report for the date, or the state file's).
    session_info: dict[str, Any] | None = None
    carry: bool = True
    # `tradeday report`: no broker calls, the run's step records and mode kept, hooks only if asked.
    regenerate: bool = False
    # Called with each step record as it finishes (the CLI prints a status line).
    on_step: Callable[[dict[str, Any]], None] | None = None
    # Extra lines for the report's notes (e.g. what an import said).
    notes: list[str] = field(default_factory=list)


@dataclass
class EodResult:
    exit_code: int  # 0, or 5 (ExitCode.EOD_FAILED) if any step failed
    report_paths: dict[str, Path]  # "json", "md", ("html", "chart")
    summary: dict[str, Any] | None
    steps: list[dict[str, Any]]
    error: str | None = None  # bad input that stopped the report, one line (file:line field)


# --------------------------------------------------------------------------- where things are


def analytics_output_path(config: TradedayConfig, day: date) -> Path:
    return config.artifacts_dir / "analytics" / "daily" / f"{day.isoformat()}.json"


def backtest_output_path(config: TradedayConfig, day: date) -> Path:
    return config.artifacts_dir / "backtests" / "daily" / f"{day.isoformat()}.json"


def broker_journal_path(config: TradedayConfig, day: date) -> Path:
    """The broker's fills in the journal format; never the engine's own journal."""
    return config.journal_dir / f"{day.isoformat()}.kite.csv"


def daily_report_path(config: TradedayConfig, day: date) -> Path:
    return config.reports_dir / "daily" / f"{day.isoformat()}.json"


def step_log_path(config: TradedayConfig, day: date, name: str) -> Path:
    return config.logs_dir / day.isoformat() / f"eod-{name}.log"


def load_calendar(config: TradedayConfig) -> MarketCalendar:
    from session.calendar import MarketCalendar

    return MarketCalendar.from_market_config(config.market)


def resolve_currency(config: TradedayConfig, calendar: MarketCalendar) -> str:
    """``reports.currency``, else the market's; ConfigError (exit 3) if neither is known."""
    from reports.pnl import MARKET_CURRENCY

    if config.reports.currency:
        return config.reports.currency.strip().upper()
    for name in (calendar.name, getattr(calendar, "pmc_name", "")):
        if name and name.upper() in MARKET_CURRENCY:
            return MARKET_CURRENCY[name.upper()]
    raise ConfigError(f"{config.path} reports.currency: no known currency for market {calendar.name}",
                      hint="set reports.currency (e.g. USD, INR, EUR)")


def _show(config: TradedayConfig, path: Path) -> str:
    """A path for messages: relative to the config's root when inside it (shorter, no home dir)."""
    try:
        return str(path.relative_to(config.root_dir))
    except ValueError:
        return str(path)


def _clean(text: str) -> str:
    return GLOBAL_REDACTOR(" ".join(str(text).split()))


# --------------------------------------------------------------------------- the pipeline


def run_eod(config: TradedayConfig, day: date, options: EodOptions, hub: Any | None = None) -> EodResult:
    """Run the end of day for ``day``; see the module docstring. Never raises for bad input."""
    run = _EodRun(config, day, options, hub)
    try:
        return run.run()
    except (TradedayError, OSError) as exc:
        # A config or data problem (or a full disk) found on the way: recorded, notified, exit 5.
        if isinstance(exc, OSError):
            message = _clean(f"{exc.filename or 'a file'}: {exc.strerror or exc}")
        else:
            message = _clean(str(exc))
        log.error("end of day %s stopped: %s", day, message)
        run.record({"name": run.current, "status": STEP_FAILED, "exit_code": None, "duration_s": None,
                    "message": message})
        run.notify_failed(report_written=False)
        return EodResult(exit_code=ExitCode.EOD_FAILED, report_paths={}, summary=None, steps=run.steps,
                         error=message)


class _EodRun:
    def __init__(self, config: TradedayConfig, day: date, options: EodOptions, hub: Any | None) -> None:
        self.config = config
        self.day = day
        self.options = options
        self.hub = hub
        self.steps: list[dict[str, Any]] = []
        self.current = "setup"
        self.notes: list[str] = list(options.notes)
        self.warnings: list[str] = []

    # -- bookkeeping

    def record(self, step: dict[str, Any]) -> dict[str, Any]:
        step = {"name": step.get("name"), "status": step.get("status"), "exit_code": step.get("exit_code"),
                "duration_s": step.get("duration_s"), "message": _clean(step.get("message") or ""),
                **{k: v for k, v in step.items() if k not in ("name", "status", "exit_code", "duration_s", "message")}}
        self.steps.append(step)
        level = logging.ERROR if step["status"] in FAILED_STATUSES else (
            logging.WARNING if step["status"] == STEP_MISMATCH else logging.INFO)
        duration = f" in {step['duration_s']:.1f}s" if isinstance(step.get("duration_s"), (int, float)) else ""
        log.log(level, "eod %s %s: %s%s%s", self.day, step["name"], step["status"], duration,
                f": {step['message']}" if step["message"] else "")
        if self.options.on_step is not None:
            self.options.on_step(step)
        return step

    def failed_steps(self) -> list[dict[str, Any]]:
        return [s for s in self.steps if s["status"] in FAILED_STATUSES and not s.get("earlier")]

    def notify_failed(self, *, report_written: bool, report_path: Path | None = None) -> None:
        failed = self.failed_steps()
        if self.hub is None or not failed:
            return
        names = ", ".join(s["name"] for s in failed)
        lines = [f"{s['name']}: {s['status']}: {s['message']}" for s in failed]
        lines.append(f"report: {report_path}" if report_written and report_path else "no report was written")
        self.hub.emit("eod_failed", "CRITICAL", f"end of day failed {self.day}: {names}", "\n".join(lines),
                      fields={"date": self.day.isoformat(), "failed_steps": names})

    # -- the steps

    def run(self) -> EodResult:
        config, day, opts = self.config, self.day, self.options
        log.info("end of day %s (mode %s%s)", day, opts.mode, ", regenerating" if opts.regenerate else "")
        calendar = load_calendar(config)
        currency = resolve_currency(config, calendar)
        session_day = calendar.session(day)
        earlier_doc = self._earlier_report()
        earlier_steps = {s.get("name"): s for s in (earlier_doc or {}).get("steps") or [] if isinstance(s, dict)}
        if opts.regenerate and earlier_doc and not self._has_fills_source():
            kept = self._keep_earlier(earlier_doc)
            if kept is not None:
                return kept

        self.current = "analytics"
        analytics = self._hook("analytics", config.eod.analytics, opts.analytics,
                               analytics_output_path(config, day), session_day, earlier_steps)
        self.current = "backtest"
        backtest = self._hook("backtest", config.eod.backtest, opts.backtest,
                              backtest_output_path(config, day), session_day, earlier_steps)

        self.current = "fills"
        fills, journal_fills, broker_fills = self._fills(calendar)

        self.current = "reconcile"
        reconciliation = self._reconcile(journal_fills, broker_fills)

        self.current = "report"
        started = time.monotonic()
        opening, carried_from = self._opening_positions()
        doc = self._build(calendar, session_day, currency, fills, opening, carried_from, reconciliation,
                          analytics, backtest, earlier_doc)
        paths = self._write(doc)
        if not any(s["name"] == "report" for s in self.steps):  # a template fallback recorded itself
            shown = ", ".join(p.suffix.lstrip(".") for p in paths.values())
            self.record({"name": "report", "status": STEP_OK, "exit_code": None,
                         "duration_s": round(time.monotonic() - started, 3),
                         "message": f"wrote {_show(config, paths['md'])} ({shown})"})
        failed = self.failed_steps()
        code = ExitCode.EOD_FAILED if failed else ExitCode.OK
        self._notify_summary(doc, paths)
        self.notify_failed(report_written=True, report_path=paths["md"])
        return EodResult(exit_code=int(code), report_paths=paths, summary=doc.get("summary"), steps=self.steps)

    def _has_fills_source(self) -> bool:
        return self.config.journal_path(self.day).is_file() or (
            self.config.eod.fills_source == "kite" and broker_journal_path(self.config, self.day).is_file())

    def _keep_earlier(self, earlier_doc: dict[str, Any]) -> EodResult | None:
        """A regeneration without the day's journal keeps a report that has fills: its
        numbers cannot be rebuilt, and an empty report would silently replace them."""
        fills = (earlier_doc.get("summary") or {}).get("fills") or 0
        if not fills:
            return None  # nothing to lose; carried positions are recomputed so carry flows on
        json_path = daily_report_path(self.config, self.day)
        paths = {"json": json_path}
        for kind, suffix in (("md", ".md"), ("html", ".html"), ("chart", ".png")):
            if json_path.with_suffix(suffix).is_file():
                paths[kind] = json_path.with_suffix(suffix)
        self.record({"name": "report", "status": STEP_SKIPPED,
                     "message": f"no journal for {self.day} ({_show(self.config, self.config.journal_path(self.day))}); "
                                f"kept the existing report ({fills} fills)"})
        return EodResult(exit_code=ExitCode.OK, report_paths=paths, summary=earlier_doc.get("summary"),
                         steps=self.steps)

    def _earlier_report(self) -> dict[str, Any] | None:
        """This date's existing report (its session and step records are kept), if readable."""
        existing = daily_report_path(self.config, self.day)
        if not existing.is_file():
            return None
        try:
            return _read_json_report(existing)
        except EodError as exc:
            # It is about to be replaced; a damaged one must not block that.
            log.warning("the existing report %s is not readable (%s); writing a new one", existing, exc)
            return None

    # analytics / backtest

    def _hook(self, name: str, step: StepConfig | None, wanted: bool, output: Path, session_day: Any,
              earlier_steps: Mapping[str, Any]) -> dict[str, Any] | None:
        """Run one hook (or not) and return the document to embed, if any."""
        why_not = None
        if step is None:
            why_not = f"no eod.{name}.command configured"
        elif not step.enabled:
            why_not = f"eod.{name}.enabled is false"
        elif not wanted:
            why_not = "not re-run (tradeday report)" if self.options.regenerate else f"--no-{name}"
        if why_not is not None:
            doc, problem = _read_embedded(output, self.config) if output.is_file() else (None, None)
            earlier = earlier_steps.get(name) if self.options.regenerate else None
            if earlier is not None and earlier.get("status") != STEP_SKIPPED:
                # Keep what the run recorded: the report must not forget that analytics failed.
                rec = dict(earlier)
                rec["earlier"] = True
                self.record(rec)
                if earlier.get("status") in FAILED_STATUSES:
                    doc, problem = None, None  # the run did not embed what a failed hook left behind
            else:
                extra = f"; embedded the existing {_show(self.config, output)}" if doc is not None else ""
                self.record({"name": name, "status": STEP_SKIPPED, "message": why_not + extra})
            if problem:
                self.notes.append(f"{name}: {problem}")
            return doc
        assert step is not None
        rec = run_step(self.config, name, step, self.day, self.options.mode, output, session_day=session_day)
        doc = None
        if rec["status"] == STEP_OK:
            if output.is_file():
                doc, problem = _read_embedded(output, self.config)
                if problem:
                    rec["status"] = STEP_FAILED
                    rec["message"] = problem
                else:
                    rec["message"] = f"{rec['message']}; wrote {_show(self.config, output)}"
            else:
                rec["message"] = f"{rec['message']}; wrote no {_show(self.config, output)} (nothing to embed)"
        self.record(rec)
        return doc

    # fills

    def _fills(self, calendar: MarketCalendar) -> tuple[FillTable | None, FillTable | None, FillTable | None]:
        """(fills for the report, the engine's journal, the broker's fills)."""
        from reports.journal import read_journal

        config, day = self.config, self.day
        started = time.monotonic()
        journal_path = config.journal_path(day)
        journal = None
        parts = []
        if journal_path.is_file():
            loaded = read_journal(journal_path, display_name=_show(config, journal_path))  # JournalError: stop
            journal = loaded.fills
            self.warnings.extend(loaded.warnings)
            parts.append(f"{len(journal)} fills in {_show(config, journal_path)}"
                         + (f" ({len(loaded.warnings)} duplicate row(s) dropped)" if loaded.warnings else ""))
        broker = None
        status, exit_note = STEP_OK, None
        if config.eod.fills_source == "kite":
            broker, problem = self._kite_fills(calendar, journal)
            if problem:
                status, exit_note = STEP_FAILED, problem
            if broker is not None:
                parts.append(f"{len(broker)} broker fills in {_show(config, broker_journal_path(config, day))}")
        if broker is not None:
            fills = broker
            self.notes.append("Figures are from the broker's fills (eod.fills_source: kite).")
        else:
            fills = journal
            if config.eod.fills_source == "kite" and journal is not None:
                self.notes.append("The broker's fills were not available: figures are from the engine's journal.")
        if fills is None:
            parts.append(f"no fills journal for {day} ({_show(config, journal_path)})")
        message = "; ".join(p for p in (exit_note, *parts) if p)
        self.record({"name": "fills", "status": status, "duration_s": round(time.monotonic() - started, 3),
                     "message": message})
        return fills, journal, broker

    def _kite_fills(self, calendar: MarketCalendar, journal: FillTable | None) -> tuple[FillTable | None, str | None]:
        """The broker's fills for the day (fetched, or saved earlier) and a problem, if any."""
        from reports.journal import FillTable, read_journal, write_journal

        config, day = self.config, self.day
        saved = broker_journal_path(config, day)

        def saved_fills() -> FillTable | None:
            if not saved.is_file():
                return None
            return read_journal(saved, display_name=_show(config, saved)).fills  # JournalError: stop

        if self.options.regenerate:
            # A regeneration never calls the broker: the fills saved at the end of that day.
            fills = saved_fills()
            if fills is None:
                self.notes.append(f"No saved broker fills ({_show(config, saved)}); run `tradeday eod --date {day}` "
                                  "on the day itself to fetch them.")
            return fills, None
        try:
            fetched = fetch_kite_fills(config, calendar, day)
        except TradedayError as exc:
            fallback = saved_fills()
            note = f"; used the fills saved earlier in {_show(config, saved)}" if fallback is not None else ""
            return fallback, f"Kite: {exc}{note}"
        if not fetched and day != calendar.today():
            # Kite lists only today's trades: an empty answer says nothing about an earlier day.
            fallback = saved_fills()
            if fallback is not None:
                return fallback, None
            return None, (f"Kite lists only today's trades, and none are from {day}: the broker's fills of "
                          "an earlier day cannot be fetched (run the end of day on the day itself)")
        fills = _attribute_strategies(fetched, journal)
        write_journal(fills, saved)
        return FillTable.from_fills(fills, source=_show(config, saved)), None

    # reconcile

    def _reconcile(self, journal: FillTable | None, broker: FillTable | None) -> Any:
        from reports.pnl import reconcile

        started = time.monotonic()
        if broker is None or journal is None:
            why = ("no broker source (eod.fills_source: journal)" if self.config.eod.fills_source == "journal"
                   else "no broker fills" if broker is None else "no engine journal to compare with")
            self.record({"name": "reconcile", "status": STEP_SKIPPED, "message": why})
            return None
        result = reconcile(journal, broker)
        if result.ok:
            status, message = STEP_OK, f"journal and broker agree ({result.matched} matched)"
        else:
            status = STEP_MISMATCH
            message = (f"{result.matched} matched; {len(result.missing_in_journal)} broker fills missing from the "
                       f"journal, {len(result.missing_in_broker)} journal fills the broker does not have, "
                       f"{len(result.mismatches)} mismatches (listed in the report)")
        self.record({"name": "reconcile", "status": status, "duration_s": round(time.monotonic() - started, 3),
                     "message": message})
        return result

    # report

    def _opening_positions(self) -> tuple[list[Any], date | None]:
        from reports.pnl import opening_positions_from_report

        if not (self.config.reports.carry and self.options.carry):
            return [], None
        found = find_previous_report(self.config, self.day)
        if found is None:
            older = latest_report_before(self.config, self.day - timedelta(days=CARRY_LOOKBACK_DAYS))
            if older is not None:
                try:
                    doc = _read_json_report(older[1])
                except EodError:
                    doc = {}  # only read for a note; too old to carry anyway
                if doc.get("open_positions"):
                    self.notes.append(f"Open positions of {older[0]} not carried: that report is more than "
                                      f"{CARRY_LOOKBACK_DAYS} days older than this one.")
            return [], None
        prev_day, prev_path = found
        doc = _read_json_report(prev_path)
        positions = opening_positions_from_report(doc, carry=True, source=_show(self.config, prev_path))
        if positions:
            self.notes.append(f"{len(positions)} open position(s) carried from the report of {prev_day}.")
        return positions, prev_day

    def _build(self, calendar: MarketCalendar, session_day: Any, currency: str, fills: FillTable | None,
               opening: list[Any], carried_from: date | None, reconciliation: Any,
               analytics: dict[str, Any] | None, backtest: dict[str, Any] | None,
               earlier_doc: dict[str, Any] | None) -> dict[str, Any]:
        from reports.pnl import compute_day
        from reports.render import build_daily_report

        config, day, opts = self.config, self.day, self.options
        trading = session_day.is_trading_day
        result = None
        if fills is not None or opening:
            result = compute_day(fills if fills is not None else [], currency=currency, opening_positions=opening,
                                 session_open=session_day.open if trading else None,
                                 session_close=session_day.close if trading else None, tz=calendar.tz)
        session = self._session(earlier_doc)
        if fills is None and opening:
            self.notes.insert(0, f"No fills journal for {day}: the open positions carried from {carried_from} "
                                 "are unchanged.")
        mode = opts.mode
        if opts.regenerate and earlier_doc and earlier_doc.get("mode"):
            mode = str(earlier_doc["mode"])  # the mode the day was traded in, not today's flag
        return build_daily_report(
            date=day, mode=mode, config_path=config.path, config_sha256=config.sha256,
            market={"calendar": calendar.name, "open": session_day.open, "close": session_day.close,
                    "kind": session_day.kind},
            day=result, currency=currency, session=session, steps=list(self.steps),
            reconciliation=reconciliation, analytics=analytics, backtest=backtest,
            notes=[_clean(n) for n in self.notes], journal_warnings=[_clean(w) for w in self.warnings],
        )

    def _session(self, earlier_doc: dict[str, Any] | None) -> dict[str, Any] | None:
        if self.options.session_info is not None:
            return report_session(self.options.session_info)
        if earlier_doc and earlier_doc.get("session"):
            return report_session(earlier_doc["session"])
        return session_from_state_file(self.config, self.day)

    def _write(self, doc: dict[str, Any]) -> dict[str, Path]:
        from reports.render import ReportRenderError, write_daily_report

        config, day = self.config, self.day
        json_path = daily_report_path(config, day)
        md_path = json_path.with_suffix(".md")
        html_path = json_path.with_suffix(".html") if config.reports.html else None
        templates = config.resolve(config.reports.templates_dir) if config.reports.templates_dir else None
        try:
            written = write_daily_report(doc, json_path, md_path, templates_dir=templates, html_path=html_path,
                                         chart=config.reports.chart)
        except ReportRenderError as exc:
            if templates is None:
                raise
            # The person's own template is broken: the day still gets a report, from ours.
            rec = self.record({"name": "report", "status": STEP_FAILED,
                               "message": f"{exc}; written with the bundled templates instead"})
            doc["steps"] = doc["steps"] + [{k: rec[k] for k in ("name", "status", "exit_code", "duration_s",
                                                                "message")}]
            written = write_daily_report(doc, json_path, md_path, templates_dir=None, html_path=html_path,
                                         chart=config.reports.chart)
        paths = {"json": written["json"], "md": written["markdown"]}
        if "html" in written:
            paths["html"] = written["html"]
        if "chart" in written:
            paths["chart"] = written["chart"]
        return paths

    def _notify_summary(self, doc: Mapping[str, Any], paths: Mapping[str, Path]) -> None:
        if self.hub is None:
            return
        s = doc.get("summary") or {}
        cur = doc.get("currency") or ""
        pnl = float(s.get("realized_pnl") or 0.0)
        win_rate = s.get("win_rate")
        wr_text = f"{float(win_rate) * 100:.1f}%" if win_rate is not None else "-"
        lines = [f"Realized PnL {pnl:+,.2f} {cur}; {s.get('trades', 0)} trades, win rate {wr_text}; "
                 f"fees {float(s.get('fees') or 0.0):,.2f} {cur}"]
        rec = doc.get("reconciliation")
        if rec and not rec.get("ok"):
            lines.append(f"Reconciliation: {len(rec.get('missing_in_journal') or [])} missing from the journal, "
                         f"{len(rec.get('missing_in_broker') or [])} missing at the broker, "
                         f"{len(rec.get('mismatches') or [])} mismatches")
        lines.append(f"Report: {paths['md']}")
        self.hub.emit("daily_summary", "INFO", f"daily summary {doc.get('date')}: {pnl:+,.2f} {cur}",
                      "\n".join(lines),
                      fields={"date": doc.get("date"), "realized_pnl": pnl, "trades": s.get("trades", 0),
                              "win_rate": win_rate, "open_positions": s.get("open_positions", 0),
                              "report": str(paths["md"])})


# --------------------------------------------------------------------------- one hook


def step_environment(config: TradedayConfig, step: StepConfig, day: date, mode: str, output: Path,
                     session_day: Any = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """tradeday's environment, plus the step's ``env``, plus the TRADEDAY_* basics (which win)."""
    from session.engines import command_env

    env = command_env(os.environ if base is None else base, step)
    env.update({
        "TRADEDAY_MODE": mode,
        "TRADEDAY_CONFIG": str(config.path) if config.path else "",
        "TRADEDAY_SESSION_DATE": day.isoformat(),
        "TRADEDAY_JOURNAL": str(config.journal_path(day)),
        "TRADEDAY_ARTIFACTS": str(config.artifacts_dir),
        "TRADEDAY_OUTPUT": str(output),
    })
    if session_day is not None and getattr(session_day, "open", None) and getattr(session_day, "close", None):
        env["TRADEDAY_SESSION_OPEN"] = session_day.open.isoformat()
        env["TRADEDAY_SESSION_CLOSE"] = session_day.close.isoformat()
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_step(config: TradedayConfig, name: str, step: StepConfig, day: date, mode: str, output: Path, *,
             session_day: Any = None) -> dict[str, Any]:
    """Run one hook to completion or its timeout; return its step record.

    The hook runs in its own session and process group, stdin /dev/null, stdout and
    stderr appended to ``{logs}/{date}/eod-{name}.log``. At the timeout its whole group
    (and anything carrying its instance token) gets SIGTERM, then SIGKILL after
    STEP_STOP_GRACE_S. Processes it leaves behind after a normal exit are stopped too:
    a hook is supposed to be finished when it exits.
    """
    from session.engines import command_cwd, expand_command
    from session.proctree import TOKEN_VARIABLE, collect_engine_processes, stop_engine_processes

    argv = expand_command(step.command, mode=mode, config_path=config.path, day=day)
    cwd = command_cwd(config, step)
    log_path = step_log_path(config, day, name)
    record: dict[str, Any] = {"name": name, "status": STEP_FAILED, "exit_code": None, "duration_s": None,
                              "message": "", "log": str(log_path)}
    where = f"(see {_show(config, log_path)})"
    if not cwd.is_dir():
        record["message"] = f"working directory {cwd} does not exist; fix eod.{name}.cwd"
        return record
    env = step_environment(config, step, day, mode, output, session_day)
    token = uuid.uuid4().hex
    env[TOKEN_VARIABLE] = token
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started_wall = datetime.now(UTC).astimezone()
    started = time.monotonic()
    with open(log_path, "ab") as fh:
        offset = fh.tell()
        fh.write(f"### tradeday: eod {name} started {started_wall.isoformat(timespec='seconds')}: "
                 f"{GLOBAL_REDACTOR(' '.join(argv))} (cwd {cwd}, timeout {step.timeout:g}s)\n".encode())
        fh.flush()
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=fh,
                                    stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
        except OSError as exc:
            record["message"] = f"cannot start {argv[0]}: {exc.strerror or exc}; fix eod.{name}.command"
            fh.write(f"### tradeday: could not start: {exc.strerror or exc}\n".encode())
            record["duration_s"] = round(time.monotonic() - started, 3)
            return record
        timed_out = False
        try:
            try:
                proc.wait(timeout=step.timeout or None)  # 0 = no limit, like hang_timeout
            except subprocess.TimeoutExpired:
                timed_out = True
                _stop_group(proc, token, STEP_STOP_GRACE_S)
        except BaseException:
            # Ctrl+C (or anything else) while waiting: the hook must not outlive us.
            _stop_group(proc, token, 1.0)
            raise
        if not timed_out:
            leftovers = collect_engine_processes(proc.pid, token)
            if leftovers:
                log.warning("eod %s left %d process(es) running (%s); stopping them", name, len(leftovers),
                            ", ".join(str(p.pid) for p in leftovers))
                stop_engine_processes(proc.pid, token=token, stop_timeout=STEP_STOP_GRACE_S)
        duration = time.monotonic() - started
        rc = proc.returncode
        record["duration_s"] = round(duration, 3)
        record["exit_code"] = rc
        if timed_out:
            record["status"] = STEP_TIMEOUT
            record["message"] = (f"did not finish within {step.timeout:g}s (eod.{name}.timeout); "
                                 f"its process group was stopped {where}")
            fh.write(f"### tradeday: timed out after {step.timeout:g}s; process group stopped\n".encode())
        elif rc == 0:
            record["status"] = STEP_OK
            record["message"] = "exit code 0"
            fh.write(f"### tradeday: exit code 0 after {duration:.1f}s\n".encode())
        else:
            record["message"] = (f"killed by {_signal_name(-rc)}" if rc < 0 else f"exit code {rc}") + f" {where}"
            fh.write(f"### tradeday: {record['message']} after {duration:.1f}s\n".encode())
    tail = _output_tail(log_path, offset)
    if record["status"] != STEP_OK and tail:
        log.warning("eod %s output (last lines):\n%s", name, GLOBAL_REDACTOR(tail))
    elif tail:
        log.debug("eod %s output:\n%s", name, GLOBAL_REDACTOR(tail))
    return record


def _stop_group(proc: subprocess.Popen[bytes], token: str, grace: float) -> None:
    from session.proctree import stop_engine_processes

    exited = threading.Event()

    def reap() -> None:
        # The leader is our child: only Popen may wait for it (psutil must not reap it).
        proc.wait()
        exited.set()

    reaper = threading.Thread(target=reap, name="tradeday-eod-reaper", daemon=True)
    reaper.start()
    stop_engine_processes(proc.pid, token=token, stop_signal=signal.SIGTERM, stop_timeout=grace,
                          leader_exited=exited)
    reaper.join(grace + 5.0)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _output_tail(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(offset, 0))
            data = fh.read()[-64 * 1024:]
    except OSError:
        return ""
    lines = [line for line in data.decode("utf-8", "replace").splitlines() if not line.startswith("### tradeday:")]
    return "\n".join(lines[-OUTPUT_TAIL_LINES:])


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (write null)")


def _read_embedded(path: Path, config: TradedayConfig) -> tuple[dict[str, Any] | None, str | None]:
    """A hook's JSON document, or (None, a one-line problem)."""
    shown = _show(config, path)
    try:
        size = path.stat().st_size
        if size > MAX_EMBED_BYTES:
            return None, f"{shown} is {size / 1024**2:.1f} MB, more than the {MAX_EMBED_BYTES // 1024**2} MB a report embeds"
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read {shown}: {getattr(exc, 'strerror', None) or exc}"
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return None, f"{shown}:{exc.lineno} is not valid JSON: {exc.msg} (column {exc.colno})"
    except ValueError as exc:
        return None, f"{shown}: {exc}"
    if not isinstance(doc, dict):
        return None, f"{shown}: must hold a JSON object ({{...}}), not a {type(doc).__name__}"
    return doc, None


# --------------------------------------------------------------------------- Kite


def fetch_kite_fills(config: TradedayConfig, calendar: MarketCalendar, day: date) -> list[Fill]:
    """The day's trades from Kite (official client) as journal fills, in market time.

    Trades from other days (Kite's list is today's) are left out. Raises EodError/
    ConfigError with a one-line message that names neither the key nor the token.
    """
    from reports.importers import kite_trades_to_journal
    from session.brokers.kite import IST, fetch_kite_trades, load_kite_credentials

    kite = config.broker.kite
    creds = load_kite_credentials(config.resolve(kite.secrets_file), config.resolve(kite.tokens_file), os.environ)
    if not creds.api_key or not creds.access_token:
        missing = "API key" if not creds.api_key else "access token"
        raise EodError(f"no Kite {missing} (broker.kite.secrets_file / tokens_file, or KITE_API_KEY / "
                       "KITE_ACCESS_TOKEN)", hint="log in to Kite and write the token file, then run tradeday eod")
    trades = fetch_kite_trades(creds.api_key, creds.access_token, root=kite.api_root, timeout=kite.timeout)
    fills = kite_trades_to_journal(trades, IST)  # Kite's timestamps are exchange (IST) time
    return [f for f in fills if f.time.astimezone(calendar.tz).date() == day]


def _attribute_strategies(broker: list[Fill], journal: FillTable | None) -> list[Fill]:
    """Give each broker fill the strategy the engine journalled for it (by trade_id, else
    order_id), so per-strategy figures survive taking the broker as the source of truth."""
    if journal is None or not broker:
        return broker
    by_trade: dict[str, str] = {}
    by_order: dict[str, str] = {}
    for f in journal.to_fills():
        if f.trade_id:
            by_trade.setdefault(f.trade_id, f.strategy)
        if f.order_id:
            by_order.setdefault(f.order_id, f.strategy)
    out = []
    for f in broker:
        strategy = by_trade.get(f.trade_id) or by_order.get(f.order_id)
        out.append(replace(f, strategy=strategy) if strategy else f)
    return out


# --------------------------------------------------------------------------- sessions, reports on disk


def report_session(info: Mapping[str, Any]) -> dict[str, Any]:
    """``{status, engines: [EngineStatus.to_json()]}`` (or an earlier report's session) -> the
    report's ``{status, engines: [{name, starts, restarts, final_state, exit_code, runtime_s}]}``."""
    engines = []
    for e in info.get("engines") or []:
        if not isinstance(e, Mapping):
            continue
        exit_code = e.get("exit_code")
        if exit_code is None:
            exit_code = e.get("last_exit_code")
        engines.append({
            "name": e.get("name"),
            "starts": e.get("starts"),
            "restarts": e.get("restarts"),
            "final_state": e.get("final_state") or e.get("state"),
            "exit_code": exit_code,
            "runtime_s": e.get("runtime_s"),
        })
    return {"status": info.get("status"), "engines": engines}


def session_from_state_file(config: TradedayConfig, day: date) -> dict[str, Any] | None:
    """What ``tradeday run`` recorded for the day in its state file, if it started engines
    (e.g. a run interrupted before its end of day, finished by hand with ``tradeday eod``)."""
    from session.state import orchestrator_alive, read_state, state_path

    try:
        state = read_state(state_path(config.artifacts_dir, day))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or not state.get("engines"):
        return None
    code = state.get("exit_code")
    phase = str(state.get("phase") or "")
    if code in (ExitCode.SIGINT, ExitCode.SIGTERM):
        status = "interrupted"
    elif phase in ("DONE", "EOD"):
        status = "completed"
    elif orchestrator_alive(state):
        status = phase.lower() or "running"
    else:
        status = "aborted"  # the run died (SIGKILL, crash) before it finished
    return report_session({"status": status, "engines": state.get("engines")})


def _read_json_report(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EodError(f"{path}:{exc.lineno} is not valid JSON: {exc.msg}",
                       hint=f"regenerate it with tradeday report {path.stem}, or pass --no-carry") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EodError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith("tradeday.daily/"):
        raise EodError(f"{path}: not a tradeday daily report (schema tradeday.daily/1)",
                       hint="move the file out of the reports folder")
    return doc


def find_previous_report(config: TradedayConfig, day: date,
                         lookback_days: int = CARRY_LOOKBACK_DAYS) -> tuple[date, Path] | None:
    """The latest daily JSON report before ``day``, at most ``lookback_days`` earlier."""
    for back in range(1, lookback_days + 1):
        d = day - timedelta(days=back)
        p = daily_report_path(config, d)
        if p.is_file():
            return d, p
    return None


def latest_report_before(config: TradedayConfig, day: date) -> tuple[date, Path] | None:
    earlier = [d for d in report_dates(config) if d < day]
    return (max(earlier), daily_report_path(config, max(earlier))) if earlier else None


def _dates_in(folder: Path, pattern: re.Pattern[str]) -> set[date]:
    found: set[date] = set()
    try:
        names = [p.name for p in folder.iterdir()]
    except OSError:
        return found
    for name in names:
        m = pattern.match(name)
        if m:
            try:
                found.add(date.fromisoformat(m.group(1)))
            except ValueError:
                continue
    return found


def journal_dates(config: TradedayConfig) -> set[date]:
    """Dates with an engine journal or saved broker fills."""
    return _dates_in(config.journal_dir, _DAY_FILE)


def report_dates(config: TradedayConfig) -> set[date]:
    return _dates_in(config.reports_dir / "daily", _REPORT_FILE)


def latest_data_date(config: TradedayConfig) -> date | None:
    """The latest date with a journal or a daily report (``tradeday report`` without DATE)."""
    dates = journal_dates(config) | report_dates(config)
    return max(dates) if dates else None


# --------------------------------------------------------------------------- tradeday report


def regenerate_daily(config: TradedayConfig, day: date, *, mode: str, carry: bool = True,
                     with_analytics: bool = False, notes: Iterable[str] = (),
                     on_step: Callable[[dict[str, Any]], None] | None = None) -> EodResult:
    """Rewrite one day's report from its files (no broker call, hooks only if asked)."""
    return run_eod(config, day, EodOptions(mode=mode, analytics=with_analytics, backtest=with_analytics,
                                           carry=carry, regenerate=True, on_step=on_step, notes=list(notes)))


def period_bounds(kind: str, day: date) -> tuple[str, date, date]:
    """(label, first day, last day) of the ISO week (``2026-W47``) or month (``2026-11``)."""
    if kind == "week":
        year, week, weekday = day.isocalendar()
        start = day - timedelta(days=weekday - 1)
        return f"{year}-W{week:02d}", start, start + timedelta(days=6)
    if kind == "month":
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return f"{day:%Y-%m}", start, following - timedelta(days=1)
    raise UsageError(f"--period: {kind!r} must be week or month")


@dataclass
class PeriodResult:
    kind: str
    label: str
    paths: dict[str, Path]
    days: list[date]  # the days whose daily reports it sums
    regenerated: list[tuple[date, EodResult]]  # daily reports it had to write first

    @property
    def exit_code(self) -> int:
        return max([r.exit_code for _, r in self.regenerated], default=0)


def write_period(config: TradedayConfig, kind: str, day: date, *, mode: str, carry: bool = True,
                 on_step: Callable[[dict[str, Any]], None] | None = None) -> PeriodResult:
    """The weekly/monthly summary of the period containing ``day``, from its daily JSON
    reports; days with a journal but no report get their daily report written first.

    Raises EodError when a day's data is bad (no summary is written from part of a period).
    """
    from reports.render import build_period_report, write_period_report

    label, start, end = period_bounds(kind, day)
    have_reports = report_dates(config)
    have_journals = journal_dates(config)
    regenerated: list[tuple[date, EodResult]] = []
    docs = []
    days = []
    d = start
    while d <= end:
        if d not in have_reports and d in have_journals:
            result = regenerate_daily(config, d, mode=mode, carry=carry, on_step=on_step)
            regenerated.append((d, result))
            if result.error:
                raise EodError(f"{d}: {result.error}")
        path = daily_report_path(config, d)
        if path.is_file():
            docs.append(_read_json_report(path))
            days.append(d)
        d += timedelta(days=1)
    doc = build_period_report(docs, label)
    folder = config.reports_dir / ("weekly" if kind == "week" else "monthly")
    templates = config.resolve(config.reports.templates_dir) if config.reports.templates_dir else None
    written = write_period_report(doc, folder / f"{label}.md", json_path=folder / f"{label}.json",
                                  templates_dir=templates, chart=config.reports.chart)
    paths = {"json": written["json"], "md": written["markdown"]}
    if "chart" in written:
        paths["chart"] = written["chart"]
    log.info("%s report %s: %d daily report(s); %s", kind, label, len(docs), paths["md"])
    return PeriodResult(kind=kind, label=label, paths=paths, days=days, regenerated=regenerated)


@dataclass
class ImportedDay:
    date: date
    path: Path
    fills: int
    status: str  # "written", "unchanged" or "replaced"
    backup: Path | None = None


@dataclass
class ImportResult:
    days: list[ImportedDay]
    warnings: list[str]
    currencies: set[str]


def import_fills_file(config: TradedayConfig, file: Path, fmt: str, calendar: MarketCalendar, *,
                      dates: Iterable[date] | None = None, force: bool = False) -> ImportResult:
    """Convert a broker export (or a journal file) into each day's journal ``{journal}/{date}.csv``.

    ``dates``: only those days (error if the file has no fill on any of them); None: every
    day in the file. A day that already has a journal with other fills is refused (UsageError,
    exit 2) unless ``force``; then the old file is kept beside it as
    ``{name}.replaced-{UTC time}``: an import never loses a journal. All days are checked
    before any is written.
    """
    from reports.importers import import_fills
    from reports.journal import read_journal, write_journal

    if not file.is_file():
        raise UsageError(f"--fills: {file}: no such file")
    if fmt == "journal":
        loaded = read_journal(file)
        fills, warnings, currencies = loaded.fills.to_fills(), list(loaded.warnings), set()
    else:
        imported = import_fills(file, fmt, timezone=calendar.tz)
        fills, warnings, currencies = imported.fills, list(imported.warnings), set(imported.currencies)
    by_day: dict[date, list[Fill]] = {}
    for f in fills:
        by_day.setdefault(f.time.astimezone(calendar.tz).date(), []).append(f)
    if dates is not None:
        wanted = sorted(set(dates))
        chosen = {d: by_day[d] for d in wanted if d in by_day}
        if not chosen:
            covers = (f"it has fills on {min(by_day)}" + (f" to {max(by_day)}" if len(by_day) > 1 else "")
                      if by_day else "it has no fills")
            span = str(wanted[0]) if len(wanted) == 1 else f"{wanted[0]} to {wanted[-1]}"
            raise EodError(f"{file}: no fills on {span} ({covers})",
                           hint="give the date the export is for, or leave DATE out to import every day in it")
        skipped = sorted(set(by_day) - set(chosen))
        if skipped:
            warnings.append(f"{file}: fills of {len(skipped)} other day(s) not imported ({', '.join(map(str, skipped))})")
    else:
        chosen = by_day
        if not chosen:
            raise EodError(f"{file}: no fills to import", hint="check that the export covers the days you traded")

    plan: list[tuple[date, Path, list[Fill], list[Path], str]] = []
    conflicts = []
    for d in sorted(chosen):
        target = config.journal_dir / f"{d.isoformat()}.csv"
        existing = [p for p in (target, target.with_suffix(".jsonl")) if p.is_file()]
        status = "written"
        if existing:
            same = False
            if len(existing) == 1:
                try:
                    same = read_journal(existing[0]).fills.to_fills() == sorted(chosen[d], key=lambda f: f.time)
                except TradedayError:
                    same = False
            if same:
                status = "unchanged"
            elif not force:
                conflicts.append(existing[0])
            else:
                status = "replaced"
        plan.append((d, target, chosen[d], existing, status))
    if conflicts:
        names = ", ".join(_show(config, p) for p in conflicts)
        raise UsageError(f"--fills: {names} already exist{'s' if len(conflicts) == 1 else ''} with other fills; "
                         "refusing to replace the journal",
                         hint="pass --force to replace it (the old file is kept beside it as *.replaced-<time>)")
    days = []
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for d, target, day_fills, existing, status in plan:
        backup = None
        if status == "replaced":
            for old in existing:
                backup = _free_name(old.with_name(f"{old.name}.replaced-{stamp}"))
                os.replace(old, backup)
        if status != "unchanged":
            write_journal(day_fills, target)
        days.append(ImportedDay(date=d, path=target, fills=len(day_fills), status=status, backup=backup))
    return ImportResult(days=days, warnings=warnings, currencies=currencies)


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate
