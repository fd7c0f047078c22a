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

import logging
import time
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EodError, TradedayError
from core.exitcodes import ExitCode
from session.eod.contract import (
    FAILED_STATUSES,
    STEP_FAILED,
    STEP_MISMATCH,
    STEP_OK,
    STEP_SKIPPED,
    EodOptions,
    EodResult,
    StepRecord,
    clean_message,
)
from session.eod.embedded import read_embedded
from session.eod.hooks import run_step
from session.eod.kite_fills import attribute_strategies, fetch_kite_fills
from session.eod.market import load_calendar, resolve_currency
from session.eod.paths import (
    analytics_output_path,
    backtest_output_path,
    broker_journal_path,
    daily_report_path,
    show_path,
)
from session.eod.sessions import report_session, session_from_state_file
from session.eod.store import (
    CARRY_LOOKBACK_DAYS,
    find_previous_report,
    latest_report_before,
    meta_bytes,
    read_carry,
    read_earlier_record,
    read_json_report,
    report_meta_path,
)
from session.supervisor.signals import Interrupted

if TYPE_CHECKING:
    from reports.journal import FillTable
    from session.calendar import MarketCalendar
    from session.config import StepConfig, TradedayConfig

log = logging.getLogger("tradeday.eod")


def run_eod(config: TradedayConfig, day: date, options: EodOptions, hub: Any | None = None) -> EodResult:
    """Run the end of day for ``day``; see the module docstring. Never raises for bad input."""
    run = _EodRun(config, day, options, hub)
    try:
        return run.run()
    except Interrupted as exc:  # a stop signal (tradeday run / eod / report): which step it stopped
        exc.step = exc.step or run.current
        raise
    except (TradedayError, OSError) as exc:
        # A config or data problem (or a full disk) found on the way: recorded, notified, exit 5.
        if isinstance(exc, OSError):
            from reports.fileset import errno_name

            message = clean_message(f"{exc.filename or 'a file'}: {exc.strerror or exc} ({errno_name(exc)})")
        else:
            message = clean_message(str(exc))
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
        self.steps: list[StepRecord] = []
        self.current = "setup"
        self.notes: list[str] = list(options.notes)
        self.warnings: list[str] = []

    # -- bookkeeping

    def record(self, step: StepRecord) -> StepRecord:
        step = {"name": step.get("name"), "status": step.get("status"), "exit_code": step.get("exit_code"),
                "duration_s": step.get("duration_s"), "message": clean_message(step.get("message") or ""),
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

    def _begin(self, name: str) -> None:
        self.current = name
        if self.options.on_step_start is not None:
            self.options.on_step_start(name)

    def failed_steps(self) -> list[StepRecord]:
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
        earlier_steps = _steps_by_name(earlier_doc)
        if opts.regenerate and earlier_doc and not self._has_fills_source():
            kept = self._keep_earlier(earlier_doc)
            if kept is not None:
                return kept

        self._begin("analytics")
        analytics = self._hook("analytics", config.eod.analytics, opts.analytics,
                               analytics_output_path(config, day), session_day, earlier_steps)
        self._begin("backtest")
        backtest = self._hook("backtest", config.eod.backtest, opts.backtest,
                              backtest_output_path(config, day), session_day, earlier_steps)

        self._begin("fills")
        fills, journal_fills, broker_fills = self._fills(calendar)
        self.fills_origin = None if fills is None else "broker" if fills is broker_fills else "journal"

        self._begin("reconcile")
        reconciliation = self._reconcile(journal_fills, broker_fills)

        self._begin("report")
        started = time.monotonic()
        opening, carried_from = self._opening_positions()
        doc = self._build(calendar, session_day, currency, fills, opening, carried_from, reconciliation,
                          analytics, backtest, earlier_doc)
        paths = self._write(doc)
        if not any(s["name"] == "report" for s in self.steps):  # a template fallback recorded itself
            shown = ", ".join(p.suffix.lstrip(".") for p in paths.values())
            self.record({"name": "report", "status": STEP_OK, "exit_code": None,
                         "duration_s": round(time.monotonic() - started, 3),
                         "message": f"wrote {show_path(config, paths['md'])} ({shown})"})
        failed = self.failed_steps()
        code = ExitCode.EOD_FAILED if failed else ExitCode.OK
        self._notify_summary(doc, paths)
        self.notify_failed(report_written=True, report_path=paths["md"])
        return EodResult(exit_code=int(code), report_paths=paths, summary=doc.get("summary"), steps=self.steps,
                         currency=doc.get("currency"))

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
                     "message": f"no journal for {self.day} ({show_path(self.config, self.config.journal_path(self.day))}); "
                                f"kept the existing report ({fills} fills)"})
        return EodResult(exit_code=ExitCode.OK, report_paths=paths, summary=earlier_doc.get("summary"),
                         steps=self.steps)

    def _earlier_report(self) -> dict[str, Any] | None:
        """This date's existing report (its session and step records are kept), if readable."""
        existing = daily_report_path(self.config, self.day)
        if not existing.is_file():
            return None
        try:
            return read_earlier_record(existing)  # its side file when it has one (not 100 MB of trades)
        except EodError as exc:
            # It is about to be replaced; a damaged one must not block that.
            log.warning("the existing report %s is not readable (%s); writing a new one", existing, exc)
            return None

    # analytics / backtest

    def _hook(self, name: str, step: StepConfig | None, wanted: bool, output: Path, session_day: Any,
              earlier_steps: Mapping[str, StepRecord]) -> dict[str, Any] | None:
        """Run one hook (or not) and return the document to embed, if any."""
        why_not = None
        if step is None:
            why_not = f"no eod.{name}.command configured"
        elif not step.enabled:
            why_not = f"eod.{name}.enabled is false"
        elif not wanted:
            why_not = "not re-run (tradeday report)" if self.options.regenerate else f"--no-{name}"
        if why_not is not None:
            doc, problem = read_embedded(output, self.config) if output.is_file() else (None, None)
            earlier = earlier_steps.get(name) if self.options.regenerate else None
            if earlier is not None and earlier.get("status") != STEP_SKIPPED:
                # Keep what the run recorded: the report must not forget that analytics failed.
                rec = dict(earlier)
                rec["earlier"] = True
                self.record(rec)
                if earlier.get("status") in FAILED_STATUSES:
                    doc, problem = None, None  # the run did not embed what a failed hook left behind
            else:
                extra = f"; embedded the existing {show_path(self.config, output)}" if doc is not None else ""
                self.record({"name": name, "status": STEP_SKIPPED, "message": why_not + extra})
            if problem:
                self.notes.append(f"{name}: {problem}")
            return doc
        assert step is not None
        rec = run_step(self.config, name, step, self.day, self.options.mode, output, session_day=session_day)
        doc = None
        if rec["status"] == STEP_OK:
            if output.is_file():
                doc, problem = read_embedded(output, self.config)
                if problem:
                    rec["status"] = STEP_FAILED
                    rec["message"] = problem
                else:
                    rec["message"] = f"{rec['message']}; wrote {show_path(self.config, output)}"
            else:
                rec["message"] = f"{rec['message']}; wrote no {show_path(self.config, output)} (nothing to embed)"
        self.record(rec)
        return doc

    # fills

    def _fills(self, calendar: MarketCalendar) -> tuple[FillTable | None, FillTable | None, FillTable | None]:
        """(fills for the report, the engine's journal, the broker's fills)."""
        from reports.journal import read_journal

        config, day = self.config, self.day
        started = time.monotonic()
        journal_path = config.journal_path(day)
        journal: FillTable | None = None
        parts = []
        if journal_path.is_file():
            loaded = read_journal(journal_path, display_name=show_path(config, journal_path))  # JournalError: stop
            journal = loaded.fills
            self.warnings.extend(loaded.warnings)
            parts.append(f"{len(journal)} fills in {show_path(config, journal_path)}"
                         + (f" ({len(loaded.warnings)} duplicate row(s) dropped)" if loaded.warnings else ""))
        broker: FillTable | None = None
        status, exit_note = STEP_OK, None
        if config.eod.fills_source == "kite":
            broker, problem = self._kite_fills(calendar, journal)
            if problem:
                status, exit_note = STEP_FAILED, problem
            if broker is not None:
                parts.append(f"{len(broker)} broker fills in {show_path(config, broker_journal_path(config, day))}")
        fills: FillTable | None
        if broker is not None:
            fills = broker
            self.notes.append("Figures are from the broker's fills (eod.fills_source: kite).")
        else:
            fills = journal
            if config.eod.fills_source == "kite" and journal is not None:
                self.notes.append("The broker's fills were not available: figures are from the engine's journal.")
        if fills is None:
            parts.append(f"no fills journal for {day} ({show_path(config, journal_path)})")
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
            return read_journal(saved, display_name=show_path(config, saved)).fills  # JournalError: stop

        if self.options.regenerate:
            # A regeneration never calls the broker: the fills saved at the end of that day.
            saved_earlier = saved_fills()
            if saved_earlier is None:
                self.notes.append(f"No saved broker fills ({show_path(config, saved)}); run `tradeday eod --date {day}` "
                                  "on the day itself to fetch them.")
            return saved_earlier, None
        try:
            fetched = fetch_kite_fills(config, calendar, day)
        except TradedayError as exc:
            fallback = saved_fills()
            note = f"; used the fills saved earlier in {show_path(config, saved)}" if fallback is not None else ""
            return fallback, f"Kite: {exc}{note}"
        if not fetched and day != calendar.today():
            # Kite lists only today's trades: an empty answer says nothing about an earlier day.
            fallback = saved_fills()
            if fallback is not None:
                return fallback, None
            return None, (f"Kite lists only today's trades, and none are from {day}: the broker's fills of "
                          "an earlier day cannot be fetched (run the end of day on the day itself)")
        attributed = attribute_strategies(fetched, journal)
        write_journal(attributed, saved)
        return FillTable.from_fills(attributed, source=show_path(config, saved)), None

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

    def _opening_positions(self) -> tuple[Any, date | None]:
        if not (self.config.reports.carry and self.options.carry):
            return [], None
        found = find_previous_report(self.config, self.day)
        if found is None:
            older = latest_report_before(self.config, self.day - timedelta(days=CARRY_LOOKBACK_DAYS))
            if older is not None:
                try:
                    doc = read_json_report(older[1])
                except EodError:
                    doc = {}  # only read for a note; too old to carry anyway
                if doc.get("open_positions"):
                    self.notes.append(f"Open positions of {older[0]} not carried: that report is more than "
                                      f"{CARRY_LOOKBACK_DAYS} days older than this one.")
            return [], None
        prev_day, prev_path = found
        positions = read_carry(prev_path, source=show_path(self.config, prev_path))  # a LotBook
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
        self.open_book = result.open_book if result is not None else None  # for the side file
        session = self._session(earlier_doc)
        if fills is None and opening:
            self.notes.insert(0, f"No fills journal for {day}: the open positions carried from {carried_from} "
                                 "are unchanged.")
        mode = opts.mode
        if opts.regenerate and earlier_doc and earlier_doc.get("mode"):
            mode = str(earlier_doc["mode"])  # the mode the day was traded in, not today's flag
        from session.eod.analytics_summary import apply_summary_source

        return apply_summary_source(build_daily_report(
            date=day, mode=mode, config_path=config.path, config_sha256=config.sha256,
            market={"calendar": calendar.name, "open": session_day.open, "close": session_day.close,
                    "kind": session_day.kind},
            day=result, currency=currency, session=session, steps=list(self.steps),
            reconciliation=reconciliation, analytics=analytics, backtest=backtest,
            notes=[clean_message(n) for n in self.notes], journal_warnings=[clean_message(w) for w in self.warnings],
        ), self.fills_origin, analytics, analytics_file=show_path(config, analytics_output_path(config, day)))

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
                                         chart=config.reports.chart, extra_files=self._side_file(doc, json_path))
        except ReportRenderError as exc:
            if templates is None:
                raise
            # The person's own template is broken: the day still gets a report, from ours.
            rec = self.record({"name": "report", "status": STEP_FAILED,
                               "message": f"{exc}; written with the bundled templates instead"})
            doc["steps"] = doc["steps"] + [{k: rec[k] for k in ("name", "status", "exit_code", "duration_s",
                                                                "message")}]
            written = write_daily_report(doc, json_path, md_path, templates_dir=None, html_path=html_path,
                                         chart=config.reports.chart, extra_files=self._side_file(doc, json_path))
        paths = {"json": written["json"], "md": written["markdown"]}
        if "html" in written:
            paths["html"] = written["html"]
        if "chart" in written:
            paths["chart"] = written["chart"]
        return paths

    def _side_file(self, doc: dict[str, Any], json_path: Path) -> dict[Path, bytes]:
        """``{date}.meta``: what a regeneration and the next day need (session/eod/store.py)."""
        return {report_meta_path(json_path): meta_bytes(doc, getattr(self, "open_book", None))}

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


def _steps_by_name(doc: dict[str, Any] | None) -> dict[str, StepRecord]:
    """An earlier report's step records by step name."""
    steps = (doc or {}).get("steps") or []
    return {s["name"]: s for s in steps if isinstance(s, dict) and isinstance(s.get("name"), str)}
