"""The report documents (JSON) and their Markdown/HTML renderings and charts.

``build_daily_report`` assembles the JSON document (schema ``tradeday.daily/1``,
described field by field in docs/REPORTS.md) from plain arguments; ``write_daily_report``
renders everything in memory first -- Markdown, HTML, chart -- and only then replaces
the files, each atomically, so a broken template leaves yesterday's files as they were.
Templates come from the user's ``templates_dir`` when it has one of the same name, else
from the bundled ``templates`` package (works from a wheel too).
"""
from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from datetime import date as date_type
from decimal import ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EodError
from reports.fileset import ReportWriteError, write_file_set  # noqa: F401  (ReportWriteError: re-exported)
from reports.jinja_env import bytecode_cache, environment_class
from reports.journal.scaled import EXACT, localcontext_of
from reports.markdown_text import escape_markdown, finalize, md_code, md_filter
from reports.moments import format_when, zone_of  # market time, to the second
from reports.money_text import format_money, format_number, format_percent
from reports.report_json import report_json_chunks
from reports.table_rows import (
    html_position_rows,
    html_strategy_rows,
    html_symbol_rows,
    md_position_rows,
    md_strategy_rows,
    md_symbol_rows,
    shared_cells,
)

if TYPE_CHECKING:
    import jinja2

    from reports.pnl import DayResult, Reconciliation

DAILY_SCHEMA = "tradeday.daily/1"
PERIOD_SCHEMA = "tradeday.period/1"
DAILY_MD = "daily_report.md.j2"
DAILY_HTML = "daily_report.html.j2"
PERIOD_MD = "period_report.md.j2"
MARKET_KINDS = ("regular", "early_close", "special", "closed", "unknown")


class ReportRenderError(EodError):
    """A report template failed to render (nothing was written)."""


# ----------------------------------------------------------------- daily document


def build_daily_report(
    *,
    date: str | date_type,
    mode: str,
    config_path: str | os.PathLike[str] | None,
    config_sha256: str | None,
    market: Mapping[str, Any],
    day: DayResult | None,
    currency: str | None = None,
    session: Mapping[str, Any] | None = None,
    steps: Sequence[Mapping[str, Any]] = (),
    reconciliation: Reconciliation | Mapping[str, Any] | None = None,
    analytics: Mapping[str, Any] | None = None,
    backtest: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    journal_warnings: Sequence[str] = (),
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The daily report document.

    ``market``: ``{calendar, open, close, kind}`` (open/close ISO strings or datetimes,
    kind one of regular|early_close|special|closed|unknown). ``day``: compute_day's
    result, or None when there was no journal. ``session``: ``{status, engines: [{name,
    starts, restarts, final_state, exit_code, runtime_s}]}`` or None when nothing ran.
    ``steps``: ``[{name, status, exit_code, duration_s, message}]``. ``currency`` is
    needed only without ``day`` (else the market's currency is used).
    """
    from reports.pnl import compute_day, currency_for_market

    day_text = date.isoformat() if isinstance(date, date_type) else str(date)
    kind = str(market.get("kind") or "unknown")
    if kind not in MARKET_KINDS:
        raise EodError(f"market kind {kind!r} is not one of {', '.join(MARKET_KINDS)}")
    notes_out = [str(n) for n in notes]
    if day is None:
        cur = currency or (currency_for_market(str(market["calendar"])) if market.get("calendar") else None)
        day = compute_day([], currency=cur or "USD")
        if session is None:
            notes_out.insert(0, f"No session ran on {day_text} and there is no fills journal: nothing to report.")
        else:
            notes_out.insert(0, f"No fills journal for {day_text}: the figures below are empty.")
    elif session is None and kind == "closed":
        notes_out.insert(0, f"The market was closed on {day_text}.")
    flags = [{"kind": "journal", "message": w} for w in journal_warnings] + list(day.flags)
    rec = _reconciliation_json(reconciliation)
    return {
        "schema": DAILY_SCHEMA,
        "date": day_text,
        "mode": mode,
        "config": str(config_path) if config_path is not None else None,
        "config_sha256": config_sha256,
        "generated_at": _iso(generated_at or datetime.now(UTC).astimezone(zone_of(market.get("open")))),
        "currency": day.currency,
        "market": {
            "calendar": market.get("calendar"),
            "open": _iso(market.get("open")),
            "close": _iso(market.get("close")),
            "kind": kind,
        },
        "session": _session(session),
        "summary": day.summary,
        "strategies": day.strategies,
        "symbols": day.symbols,
        "trades": day.trades,
        "open_positions": day.open_positions_json(),
        "flags": flags,
        "reconciliation": rec,
        "analytics": dict(analytics) if analytics is not None else None,
        "backtest": dict(backtest) if backtest is not None else None,
        "steps": [_step(s) for s in steps],
        "notes": notes_out,
        "equity_curve": day.equity_curve,
    }


def _reconciliation_json(reconciliation: Reconciliation | Mapping[str, Any] | None) -> dict[str, Any] | None:
    to_dict = getattr(reconciliation, "to_dict", None)
    if to_dict is not None:
        result: dict[str, Any] = to_dict()
        return result
    return dict(reconciliation) if isinstance(reconciliation, Mapping) and reconciliation else None


def _session(session: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if session is None:
        return None
    engines = []
    for e in session.get("engines") or []:
        engines.append({
            "name": e.get("name"),
            "starts": e.get("starts"),
            "restarts": e.get("restarts"),
            "final_state": e.get("final_state"),
            "exit_code": e.get("exit_code"),
            "runtime_s": e.get("runtime_s"),
        })
    out: dict[str, Any] = {"status": session.get("status"), "engines": engines}
    if session.get("runs"):
        out["runs"] = [dict(r) for r in session["runs"]]  # every run of the date (session/eod/sessions.py)
    return out


def _step(step: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": step.get("name"),
        "status": step.get("status"),
        "exit_code": step.get("exit_code"),
        "duration_s": step.get("duration_s"),
        "message": step.get("message"),
    }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") if value.microsecond == 0 else value.isoformat()
    return str(value)


# ----------------------------------------------------------------- rendering


def render_daily_markdown(doc: Mapping[str, Any], *, templates_dir: str | os.PathLike[str] | None = None,
                          chart_name: str | None = None) -> str:
    return _render(DAILY_MD, {"report": doc, "chart": chart_name}, templates_dir)


def render_daily_html(doc: Mapping[str, Any], *, templates_dir: str | os.PathLike[str] | None = None,
                      chart_name: str | None = None) -> str:
    return _render(DAILY_HTML, {"report": doc, "chart": chart_name}, templates_dir)


def write_daily_report(
    doc: Mapping[str, Any],
    json_path: str | os.PathLike[str],
    md_path: str | os.PathLike[str],
    *,
    templates_dir: str | os.PathLike[str] | None = None,
    html_path: str | os.PathLike[str] | None = None,
    chart: bool = True,
    extra_files: Mapping[Path, bytes] | None = None,
) -> dict[str, Path]:
    """Write the JSON, the Markdown (and HTML), and the chart PNG beside the Markdown, as a set
    (with ``extra_files``, e.g. the side file of session/eod/store.py, in the same set).

    Everything is rendered in memory first (a failing template raises ReportRenderError
    before any file is touched), then every file goes to a temporary name and only when all
    are written are they renamed into place: a full disk (ReportWriteError, naming the file
    and the errno) leaves the previous set as it was. Files of the set that are not part of
    this one -- ``{md stem}.html`` without ``html_path``, ``{md stem}.png`` without a chart --
    are removed, so the set never mixes two days' versions. Returns {"json", "markdown",
    "html", "chart"} -> path for what was written.
    """
    from reports.chart import render_daily_chart

    md = Path(md_path)
    png = render_daily_chart(doc) if chart else None
    chart_path = md.with_suffix(".png")
    chart_name = chart_path.name if png is not None else None
    with shared_cells():  # the big tables' cells, made for the Markdown, printed again in the HTML
        md_text = render_daily_markdown(doc, templates_dir=templates_dir, chart_name=chart_name)
        html_text = render_daily_html(doc, templates_dir=templates_dir, chart_name=chart_name) if html_path else None
    written: dict[str, Path] = {"json": Path(json_path), "markdown": md}
    if html_path is not None and html_text is not None:
        written["html"] = Path(html_path)
    if png is not None:
        written["chart"] = chart_path
    # The JSON in pieces: a day of a million trades never holds its whole text at once.
    contents: dict[Path, bytes | Iterable[bytes]] = {written["json"]: report_json_chunks(doc),
                                                     md: md_text.encode("utf-8")}
    if "html" in written and html_text is not None:
        contents[written["html"]] = html_text.encode("utf-8")
    if png is not None:
        contents[chart_path] = png
    contents.update(extra_files or {})
    write_file_set(contents, stale=[md.with_suffix(".html"), chart_path],
                   hint=f"free space in {md.parent} (or fix its permissions), then run tradeday report {doc.get('date')}")
    return written


def dumps_report(doc: Mapping[str, Any]) -> str:
    """The document as JSON text, indented by two spaces, at any size.

    orjson: a million fills make ~270,000 trades and ~80 MB of JSON, which the standard
    library's indenting encoder (pure Python when indenting) needs tens of seconds for;
    orjson writes it in a fraction of a second, identically for the same document.
    """
    return dumps_report_bytes(doc).decode("utf-8")


def dumps_report_bytes(doc: Mapping[str, Any]) -> bytes:
    """:func:`dumps_report` as UTF-8 bytes, made once (not bytes -> str -> bytes: 100 MB each)."""
    import orjson

    return orjson.dumps(doc, option=json_options(), default=json_default)


def json_options() -> int:
    import orjson

    return orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE


def json_default(value: Any) -> Any:
    # numpy scalars orjson does not take directly become Python numbers; anything else is a
    # bug upstream and must fail loudly rather than be written as something else. A day's
    # trades made on demand (reports.pnl.trade_list.TradeList) are written as their list.
    rows = getattr(value, "json_rows", None)
    if callable(rows):
        return rows()
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"report value of type {type(value).__name__} is not JSON")


def _render(template_name: str, context: Mapping[str, Any], templates_dir: str | os.PathLike[str] | None) -> str:
    import jinja2

    env = _environment(templates_dir, html=template_name.endswith((".html.j2", ".html")))
    try:
        template = env.get_template(template_name)
        origin = template.filename or template_name
        return template.render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name or template_name}:{exc.lineno}"
        raise ReportRenderError(f"report template {where}: {exc.message}",
                                hint="fix the template, or remove it to use the bundled one") from None
    except jinja2.TemplateNotFound:
        raise ReportRenderError(f"report template {template_name} not found",
                                hint="the bundled templates are missing: reinstall tradeday") from None
    except jinja2.TemplateError as exc:
        line = _template_line(exc, template_name)
        raise ReportRenderError(f"report template {origin}{f':{line}' if line else ''}: {exc}",
                                hint="fix the template, or remove it to use the bundled one") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        line = _template_line(exc, template_name)
        raise ReportRenderError(f"report template {origin}{f':{line}' if line else ''}: {type(exc).__name__}: {exc}",
                                hint="fix the template, or remove it to use the bundled one") from None


def _template_line(exc: BaseException, template_name: str) -> int | None:
    """The template line where rendering failed (Jinja rewrites tracebacks to point there)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(template_name):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _environment(templates_dir: str | os.PathLike[str] | None, *, html: bool) -> jinja2.Environment:
    """One environment per folder and kind per process (reports.jinja_env: compiled once)."""
    if templates_dir is not None and not Path(templates_dir).is_dir():
        return _new_environment(templates_dir, html=html)  # raises, naming the folder
    return _cached_environment(None if templates_dir is None else str(templates_dir), html)


@functools.lru_cache(maxsize=16)
def _cached_environment(templates_dir: str | None, html: bool) -> jinja2.Environment:
    return _new_environment(templates_dir, html=html)


def _new_environment(templates_dir: str | os.PathLike[str] | None, *, html: bool) -> jinja2.Environment:
    """The Jinja environment of the HTML templates (autoescaped) or of the Markdown ones (every
    printed value escaped for Markdown by reports.markdown_text.finalize)."""
    import jinja2

    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        folder = Path(templates_dir)
        if not folder.is_dir():
            raise ReportRenderError(f"templates directory {folder} does not exist",
                                    hint="create it, or remove reports.templates_dir from the config")
        loaders.append(jinja2.FileSystemLoader(str(folder)))
    loaders.append(jinja2.PackageLoader("templates", ""))
    options: dict[str, Any] = {"autoescape": True} if html else {"autoescape": False, "finalize": finalize}
    env = environment_class()(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        **options,
    )
    env.filters.update({
        "money": format_money,
        "signed": lambda v, currency="": format_money(v, currency, signed=True),
        "percent": format_percent,
        "number": format_number,
        "md": md_filter,
        "md_code": md_code,
        "clock": format_clock,
        "when": format_when,
        "duration": _format_duration,
        **_table_filters(),
    })
    env.bytecode_cache = bytecode_cache(env)  # keyed by the filters just set (reports/jinja_env.py)
    return env


def _table_filters() -> dict[str, Any]:
    """The filters of reports.table_rows; the figure tables get the environment's field lookup
    (for rows that are not plain dicts). Only new filters may pass the environment: Jinja decides
    at compile time what a filter is called with, and a compiled template kept in the bytecode
    cache would call an old filter the old way."""
    import jinja2

    def figures(rows_of: Any) -> Any:
        @jinja2.pass_environment
        def rows(env: jinja2.Environment, items: Any, currency: Any = "") -> Any:
            return rows_of(items, currency, env.getattr)
        return rows

    return {
        "md_position_rows": md_position_rows, "html_position_rows": html_position_rows,
        "md_strategy_rows": figures(md_strategy_rows), "md_symbol_rows": figures(md_symbol_rows),
        "html_strategy_rows": figures(html_strategy_rows), "html_symbol_rows": figures(html_symbol_rows),
    }


# ----------------------------------------------------------------- formatting


def _format_duration(value: Any) -> str:
    from core.durations import format_duration

    return "—" if value is None else format_duration(float(value))


def format_clock(value: Any) -> str:
    """An ISO-8601 time as ``HH:MM`` (its own offset's wall clock); None -> ``—``."""
    if not value:
        return "—"
    try:
        return datetime.fromisoformat(str(value)).strftime("%H:%M")
    except ValueError:
        return str(value)


def escape_markdown_cell(value: Any) -> str:
    """Text safe anywhere in a Markdown line, table cells included (see reports.markdown_text)."""
    return escape_markdown(value)


# ----------------------------------------------------------------- period reports


def build_period_report(daily_docs: Sequence[Mapping[str, Any]], period_label: str, *,
                        title: str | None = None, generated_at: datetime | None = None) -> dict[str, Any]:
    """A week's or month's summary from its daily documents (``2026-W47``, ``2026-11``).

    Sums are of the daily figures as reported (already rounded to the minor unit), done
    in Decimal, so the period total is exactly the sum of the days shown.
    """
    docs = sorted(daily_docs, key=lambda d: str(d.get("date")))
    currencies = {d["currency"] for d in docs if d.get("currency")}
    if len(currencies) > 1:
        raise EodError(f"period {period_label} mixes currencies ({', '.join(sorted(currencies))})",
                       hint="one period report sums one currency; split the reports by market")
    currency = currencies.pop() if currencies else None
    days = _period_days(docs)
    strat_rows, strategy_cum = _period_strategies(docs)
    return {
        "schema": PERIOD_SCHEMA,
        "period": period_label,
        "title": title or _period_title(period_label),
        "generated_at": _iso(generated_at or datetime.now(UTC).astimezone()),
        "currency": currency,
        "from": days[0]["date"] if days else None,
        "to": days[-1]["date"] if days else None,
        "summary": _period_summary(days),
        "days": days,
        "strategies": strat_rows,
        "strategy_cumulative": strategy_cum,
    }


def _dec(value: Any) -> Decimal:
    """A daily report's figure as an exact Decimal (EodError for one no report holds)."""
    if value is None:
        return Decimal(0)
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        d = Decimal("NaN")
    if not d.is_finite() or not -400 < d.adjusted() < 400:  # a float's range, and then some
        raise EodError(f"a daily report holds {str(value)[:40]!r} where a figure belongs",
                       hint="the report is damaged: regenerate it with tradeday report DATE")
    return d


# The period's sums run in the journal's exact context (a day of 1e80 plus a day of 0.01 needs
# 83 digits, the default context keeps 28); the average day, a division, rounds half to even.
_AVERAGE = Context(prec=EXACT.prec, rounding=ROUND_HALF_EVEN)


@localcontext_of(EXACT)
def _period_days(docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per daily document (in date order), with the running total."""
    days: list[dict[str, Any]] = []
    cumulative = Decimal(0)
    for doc in docs:
        s = doc.get("summary") or {}
        pnl = _dec(s.get("realized_pnl"))
        cumulative += pnl
        days.append({
            "date": doc.get("date"),
            "mode": doc.get("mode"),
            "session_status": (doc.get("session") or {}).get("status"),
            "realized_pnl": float(pnl),
            "gross_pnl": float(_dec(s.get("gross_pnl"))),
            "fees": float(_dec(s.get("fees"))),
            "trades": int(s.get("trades") or 0),
            "wins": int(s.get("wins") or 0),
            "losses": int(s.get("losses") or 0),
            "win_rate": s.get("win_rate"),
            "max_drawdown": s.get("max_drawdown"),
            "cumulative_pnl": float(cumulative),
        })
    return days


@localcontext_of(EXACT)
def _period_strategies(docs: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """Per strategy: the period's figures (best first), and its cumulative PnL after each day."""
    strategies: dict[str, dict[str, Any]] = {}
    strategy_cum: dict[str, list[float]] = {}
    for index, doc in enumerate(docs):
        for st in doc.get("strategies") or []:
            agg = strategies.setdefault(st["name"], {
                "name": st["name"], "realized_pnl": Decimal(0), "gross_pnl": Decimal(0), "fees": Decimal(0),
                "trades": 0, "wins": 0, "losses": 0, "days": 0,
            })
            agg["realized_pnl"] += _dec(st.get("realized_pnl"))
            agg["gross_pnl"] += _dec(st.get("gross_pnl"))
            agg["fees"] += _dec(st.get("fees"))
            agg["trades"] += int(st.get("trades") or 0)
            agg["wins"] += int(st.get("wins") or 0)
            agg["losses"] += int(st.get("losses") or 0)
            agg["days"] += 1
        for name in strategies:
            running = strategy_cum.setdefault(name, [0.0] * index)
            running.append(float(strategies[name]["realized_pnl"]))
    strat_rows = []
    for agg in strategies.values():
        strat_rows.append({
            **agg,
            "realized_pnl": float(agg["realized_pnl"]),
            "gross_pnl": float(agg["gross_pnl"]),
            "fees": float(agg["fees"]),
            "win_rate": round(agg["wins"] / agg["trades"], 6) if agg["trades"] else None,
        })
    strat_rows.sort(key=lambda r: (-r["realized_pnl"], r["name"]))
    return strat_rows, strategy_cum


@localcontext_of(EXACT)
def _period_summary(days: list[dict[str, Any]]) -> dict[str, Any]:
    total_trades = sum(d["trades"] for d in days)
    total_wins = sum(d["wins"] for d in days)
    pnls = [_dec(d["realized_pnl"]) for d in days]
    best = max(days, key=lambda d: d["realized_pnl"]) if days else None
    worst = min(days, key=lambda d: d["realized_pnl"]) if days else None
    return {
        "realized_pnl": float(sum(pnls, Decimal(0))),
        "gross_pnl": float(sum((_dec(d["gross_pnl"]) for d in days), Decimal(0))),
        "fees": float(sum((_dec(d["fees"]) for d in days), Decimal(0))),
        "trading_days": len(days),
        "trades": total_trades,
        "wins": total_wins,
        "losses": sum(d["losses"] for d in days),
        "win_rate": round(total_wins / total_trades, 6) if total_trades else None,
        "best_day": {"date": best["date"], "realized_pnl": best["realized_pnl"]} if best else None,
        "worst_day": {"date": worst["date"], "realized_pnl": worst["realized_pnl"]} if worst else None,
        "avg_daily_pnl": float(_AVERAGE.quantize(_AVERAGE.divide(sum(pnls, Decimal(0)), len(pnls)), Decimal("0.01")))
                         if pnls else None,
        "max_drawdown": float(_max_drawdown(pnls)),
    }


@localcontext_of(EXACT)
def _max_drawdown(pnls: list[Decimal]) -> Decimal:
    """The largest fall of the running total from its peak (the peak starts at 0)."""
    peak = Decimal(0)
    running = Decimal(0)
    drawdown = Decimal(0)
    for p in pnls:
        running += p
        peak = max(peak, running)
        drawdown = max(drawdown, peak - running)
    return drawdown


def _period_title(label: str) -> str:
    if re.fullmatch(r"\d{4}-W\d{2}", label):
        return f"Weekly Report — {label}"
    if re.fullmatch(r"\d{4}-\d{2}", label):
        return f"Monthly Report — {label}"
    return f"Report — {label}"


def render_period_markdown(doc: Mapping[str, Any], *, templates_dir: str | os.PathLike[str] | None = None,
                           chart_name: str | None = None) -> str:
    return _render(PERIOD_MD, {"report": doc, "chart": chart_name}, templates_dir)


def write_period_report(
    doc: Mapping[str, Any],
    md_path: str | os.PathLike[str],
    *,
    json_path: str | os.PathLike[str] | None = None,
    templates_dir: str | os.PathLike[str] | None = None,
    chart: bool = True,
) -> dict[str, Path]:
    """``reports/weekly/2026-W47.md`` (+ ``.png`` beside it, + JSON if asked), as one set
    (see :func:`write_daily_report`; an old chart goes when there is none)."""
    from reports.chart import render_period_chart

    md = Path(md_path)
    png = render_period_chart(doc) if chart else None
    chart_path = md.with_suffix(".png")
    text = render_period_markdown(doc, templates_dir=templates_dir,
                                  chart_name=chart_path.name if png is not None else None)
    written: dict[str, Path] = {"markdown": md}
    contents = {md: text.encode("utf-8")}
    if json_path is not None:
        written["json"] = Path(json_path)
        contents[written["json"]] = dumps_report(doc).encode("utf-8")
    if png is not None:
        written["chart"] = chart_path
        contents[chart_path] = png
    write_file_set(contents, stale=[chart_path],
                   hint=f"free space in {md.parent} (or fix its permissions), then run tradeday report --period")
    return written
