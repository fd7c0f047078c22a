"""What ``tradeday run`` and ``tradeday eod`` show the person watching (session/run_summary.py
says what happens; this says how it looks).

On a terminal: colour, a live line counting down to the engines' start, a spinner while an
end-of-day step runs, and the summary block at the end. Without a terminal (cron's mail, a pipe):
the same lines, plain, once each; no live line. ``--quiet``: nothing (the log has it all).

Engine output never passes through here (rich is far too slow for it, NOTES.md): the live line
exists only before the engines start and during the end of day, when no engine runs.
Times follow core/logsetup.py's convention: market time with its offset (``09:10:00+05:30``).
"""
from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from core.durations import format_duration
from core.logsetup import clock
from session.run_summary import DaySummary, RunObserver, StepOutcome

_STATUS_STYLE = {"ok": "green", "skipped": "dim", "mismatch": "yellow", "failed": "bold red", "timeout": "bold red"}
_STATE_STYLE = {"EXITED": "green", "STOPPED": "green", "RUNNING": "green", "FATAL": "bold red",
                "BACKOFF": "yellow", "STARTING": "yellow", "STOPPING": "yellow"}


def make_run_console(*, quiet: bool, as_json: bool) -> RunObserver:
    """The console of ``tradeday run``: a terminal one, plain lines, or (``--quiet``) nothing."""
    if quiet or as_json:
        return RunObserver()
    return RunConsole(tty=sys.stdout.isatty())


class RunConsole(RunObserver):
    """Lines on stdout; on a terminal (``tty``) in colour, with a live countdown and spinners."""

    def __init__(self, *, tty: bool, width: int | None = None) -> None:
        self.tty = tty
        self._rich: Any = None
        if tty:
            from rich.console import Console

            # highlight off: rich would colour numbers and paths in messages at random.
            self._rich = Console(file=sys.stdout, highlight=False, width=width)
        self._spinner: Any = None  # the running end-of-day step's live line
        self._tz: tzinfo | None = None

    # -- lines

    def line(self, text: str, style: str | None = None) -> None:
        """One line: coloured on a terminal, plain otherwise. Never rich markup (messages carry
        users' and engines' text, where ``[x]`` is not a tag)."""
        from core.redact import GLOBAL_REDACTOR

        text = GLOBAL_REDACTOR(text)
        if self._rich is not None:
            from rich.text import Text

            self._rich.print(Text(text, style=style or ""), soft_wrap=True)
        else:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def _clock(self, moment: datetime | None) -> str:
        return clock(moment, self._tz) if moment is not None else "—"

    # -- the run

    def started(self, day: date, calendar: str, mode: str, config_path: str | None) -> None:
        self.line(f"tradeday run {day} · {calendar} · {mode}" + (f" · {config_path}" if config_path else ""),
                  "bold")

    def prechecks_passed(self, ok: int, warnings: int, warned: Sequence[str]) -> None:
        extra = f": {', '.join(warned)}" if warned else ""
        self.line(f"prechecks passed ({ok} ok, {warnings} warning{'s' if warnings != 1 else ''}{extra})",
                  "yellow" if warnings else "green")

    def prechecks_failed(self, failing: Sequence[str]) -> None:
        self.line(f"prechecks failed: {', '.join(failing)}; engines not started (tradeday precheck says why)",
                  "bold red")

    def waiting(self, start_at: datetime, open: datetime | None, tz: tzinfo) -> AbstractContextManager[Any]:
        self._tz = tz
        return self._countdown(start_at, open)

    @contextmanager
    def _countdown(self, start_at: datetime, open: datetime | None) -> Iterator[None]:
        what = f"engines start at {self._clock(start_at)}" + (f" (open {self._clock(open)})" if open else "")

        def left() -> str:
            seconds = max(0.0, (start_at - datetime.now(UTC)).total_seconds())
            return format_duration(round(seconds))

        if self._rich is None:
            self.line(f"waiting: {what}, in {left()}")
            yield
            return
        from rich.live import Live
        from rich.spinner import Spinner
        from rich.text import Text

        spinner = Spinner("dots", text=Text(f"waiting: {what}, in {left()}"), style="cyan")

        def frame() -> Any:
            spinner.update(text=Text(f"waiting: {what}, in {left()}", style="cyan"))
            return spinner

        # The live line refreshes on its own thread; log lines (stderr) print above it.
        with Live(get_renderable=frame, console=self._rich, refresh_per_second=4, transient=True,
                  redirect_stdout=True, redirect_stderr=True):
            yield

    def engines_started(self, names: Sequence[str], stop_at: datetime | None, tz: tzinfo) -> None:
        self._tz = tz
        until = f"until {self._clock(stop_at)}" if stop_at else "until they finish"
        self.line(f"engines started at {self._clock(datetime.now(UTC))}: {', '.join(names)}; {until}", "bold green")

    def engines_stopped(self, reason: str) -> None:
        self.line(f"stopping the engines: {reason}", "bold")

    # -- the end of day

    def eod_started(self, day: date) -> None:
        self.line(f"end of day {day}", "bold")

    def eod_step_started(self, name: str) -> None:
        """Plain: a line now. Terminal: a live line with a spinner and the time so far, which the
        step's result line replaces."""
        self._stop_spinner()
        began = datetime.now(UTC)
        head = f"{name:<10} running  (started {self._clock(began)})"
        if self._rich is None:
            self.line(head)
            return
        from rich.live import Live
        from rich.spinner import Spinner
        from rich.text import Text

        spinner = Spinner("dots", style="cyan")

        def frame() -> Any:
            took = (datetime.now(UTC) - began).total_seconds()
            spinner.update(text=Text(f"{head} {took:.0f}s", style="cyan"))
            return spinner

        self._spinner = Live(get_renderable=frame, console=self._rich, refresh_per_second=8, transient=True,
                             redirect_stdout=True, redirect_stderr=True)
        self._spinner.start()

    def eod_step_finished(self, step: StepOutcome) -> None:
        self._stop_spinner()
        took = f"{step.duration_s:.1f}s" if step.duration_s is not None else "-"
        earlier = " (recorded by the run)" if step.earlier else ""
        self.line(f"{step.name:<10} {step.status:<8} {took:>7}  {step.message}{earlier}",
                  _STATUS_STYLE.get(step.status))

    def close(self) -> None:
        """The run ended (also by an exception): no live line may outlive it."""
        self._stop_spinner()

    def _stop_spinner(self) -> None:
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None

    # -- the end

    def finished(self, summary: DaySummary) -> None:
        self._stop_spinner()
        self._tz = summary.timezone or self._tz
        for text, style in summary_lines(summary, self._tz):
            self.line(text, style)


def summary_lines(summary: DaySummary, tz: tzinfo | None) -> list[tuple[str, str | None]]:
    """The summary block, line by line with a style: the session window, each engine, the end of
    day, fills/trades/PnL, the report paths."""
    def at(moment: datetime | None) -> str:
        return clock(moment, tz) if moment is not None else "—"

    ok = summary.exit_code == 0
    lines: list[tuple[str, str | None]] = []
    title = f"── {'end of day ' if summary.command == 'eod' else ''}{summary.date} {summary.calendar} " \
            f"{summary.mode}: exit {summary.exit_code} "
    lines.append((title + "─" * max(3, 60 - len(title)), "bold green" if ok else "bold red"))
    if summary.command == "eod":
        pass  # the end of day by hand: no session of its own
    elif summary.start_at is None:
        lines.append((f"no engine started: {summary.message or 'nothing to run'}", None if ok else "red"))
        return lines
    else:
        lines.extend(_session_lines(summary, at))
    if summary.eod == "ran":
        failed = [s.name for s in summary.steps if s.status in ("failed", "timeout") and not s.earlier]
        steps = ", ".join(f"{s.name} {s.status}" for s in summary.steps)
        lines.append((f"end of day {steps}", "bold red" if failed else None))
        cur = f" {summary.currency}" if summary.currency else ""
        pnl = "—" if summary.realized_pnl is None else f"{summary.realized_pnl:+,.2f}{cur}"
        fees = "" if summary.fees is None else f" after fees {summary.fees:,.2f}{cur}"
        open_pos = f"; open positions {summary.open_positions}" if summary.open_positions else ""
        style = None if summary.realized_pnl is None else ("green" if summary.realized_pnl > 0 else
                                                           "red" if summary.realized_pnl < 0 else None)
        lines.append((f"fills {_n(summary.fills)} · trades {_n(summary.trades)} · realized PnL {pnl}{fees}{open_pos}",
                      style))
        for kind, path in summary.report_paths.items():
            lines.append((f"report ({kind}): {path}", None))
    else:
        lines.append((f"end of day {summary.eod}" + (": run `tradeday eod` to write the report"
                                                    if summary.eod == "interrupted" else ""), "yellow"))
    if summary.message and not ok:
        lines.append((summary.message, "red"))
    return lines


def _session_lines(summary: DaySummary, at: Any) -> list[tuple[str, str | None]]:
    market = f"; market {at(summary.open)}–{at(summary.close)}" if summary.open and summary.close else ""
    lines: list[tuple[str, str | None]] = [(f"session   {at(summary.start_at)} – {at(summary.stop_at)}"
                                            f" ({summary.stop_reason or 'stopped'}){market}", None)]
    width = max((len(e.name) for e in summary.engines), default=0)
    for i, e in enumerate(summary.engines):
        code = "—" if e.exit_code is None else str(e.exit_code)
        why = f"; {e.reason}" if e.reason else ""
        lines.append((f"{'engines' if i == 0 else '':<9} {e.name:<{width}}  {e.state:<8} starts {e.starts}  "
                      f"restarts {e.restarts}  exit {code}{why}", _STATE_STYLE.get(e.state)))
    return lines


def _n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"
