"""Charts for the reports: PNG bytes from a report document (matplotlib, Agg, lazy).

No pyplot: a Figure drawn on its own Agg canvas leaves matplotlib's global backend
alone. Deterministic: a fixed figure size, dpi and style, no pyplot global state, and the PNG
written without the "Software" text chunk (matplotlib writes no timestamp in PNGs), so
the same document gives the same bytes.

- The daily chart: cumulative realized PnL through the day (per strategy and the total), on a
  time axis in market time, labelled with its offset, the session window (open to close) shaded.
- The period chart (week, month): one bar per trading day (that day's realized PnL) and the
  cumulative line, one tick per day (every few days for a long period), labelled by date once.

``daily_figure`` / ``period_figure`` build the Figure (tests read its ticks); ``render_*`` give PNG.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

_FIGSIZE = (9.0, 4.2)
_DPI = 100
_STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "path.simplify": True,
}
_GAIN, _LOSS, _LINE, _SESSION = "#2e9e5b", "#d0463b", "#1f4e8c", "#dce9f7"
_MAX_DATE_TICKS = 12  # a month of trading days gets a label every second or third day


def render_daily_chart(doc: Mapping[str, Any]) -> bytes | None:
    """The daily chart as PNG bytes; None when the day has no fills (nothing to draw)."""
    fig = daily_figure(doc)
    return _png(fig) if fig is not None else None


def render_period_chart(doc: Mapping[str, Any]) -> bytes | None:
    """The period chart as PNG bytes; None for a period without days."""
    fig = period_figure(doc)
    return _png(fig) if fig is not None else None


def _offset_text(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    return f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def daily_figure(doc: Mapping[str, Any]) -> Figure | None:
    """Cumulative realized PnL through the day, one step line per strategy (and the total)."""
    curve = doc.get("equity_curve") or {}
    strategies: Mapping[str, list[list[Any]]] = curve.get("strategies") or {}
    total: list[list[Any]] = curve.get("total") or []
    if not total:
        return None
    end = datetime.fromisoformat(total[-1][0])
    tz = end.tzinfo
    market = doc.get("market") or {}
    opens, closes = _moment(market.get("open")), _moment(market.get("close"))
    first = datetime.fromisoformat(total[0][0])
    outside = ""
    if opens is not None and closes is not None:
        opens, closes = opens.astimezone(tz), closes.astimezone(tz)
        if first < closes and end > opens:
            end = max(end, closes)  # the fills are in the session: show all of it, lines held to the close
        else:
            # A run outside the session (a demo with --start-now): the session would squeeze the
            # fills into one vertical line; say where it was instead.
            outside = f"; the session {opens:%H:%M}–{closes:%H:%M} is outside this range"
            opens = closes = None
    series = []
    for name, points in sorted(strategies.items()):
        if points:
            xs = [datetime.fromisoformat(t) for t, _ in points]
            ys = [v for _, v in points]
            if xs[-1] < end:  # hold the last value to the end of the day
                xs.append(end)
                ys.append(ys[-1])
            series.append((name, xs, ys))
    if len(series) != 1:
        # Drawn first, so the strategies' lines stay visible on top of it.
        xs = [datetime.fromisoformat(t) for t, _ in total]
        ys = [v for _, v in total]
        if xs[-1] < end:
            xs.append(end)
            ys.append(ys[-1])
        series.insert(0, ("total", xs, ys))

    import matplotlib
    import matplotlib.dates as mdates

    with matplotlib.rc_context(_STYLE):
        fig, ax = _figure()
        if opens is not None and closes is not None:
            ax.axvspan(opens, closes, color=_SESSION, alpha=0.6, linewidth=0, zorder=0,
                       label=f"session {opens:%H:%M}–{closes:%H:%M}")
        for name, xs, ys in series:
            style = ({"linewidth": 3.0, "color": "#bbbbbb"} if name == "total" and len(series) > 1
                     else {"linewidth": 1.5})
            ax.step(xs, ys, where="post", label=name, **style)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(f"Cumulative realized PnL — {doc.get('date', '')}")
        ax.set_ylabel(str(doc.get("currency", "")))
        ax.set_xlabel(f"market time ({_offset_text(end)}){outside}")
        # Every tick a whole clock time in market time: seconds for a short span (a 20 s demo,
        # a half-hour special session), minutes for a day.
        span = (end - (opens or first)).total_seconds()
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=tz, maxticks=10))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S" if span < 900 else "%H:%M", tz=tz))
        ax.legend(loc="best", fontsize=8, frameon=False)
        fig.tight_layout()
    return fig


def period_figure(doc: Mapping[str, Any]) -> Figure | None:
    """One bar per trading day (its realized PnL) and the cumulative line over the period."""
    days = doc.get("days") or []
    if not days:
        return None
    dates = [date.fromisoformat(d["date"]) for d in days]
    pnl = [float(d.get("realized_pnl") or 0.0) for d in days]
    cumulative = [float(d["cumulative_pnl"]) for d in days]
    positions = list(range(len(days)))  # trading days side by side: no gaps for weekends and holidays

    import matplotlib

    with matplotlib.rc_context(_STYLE):
        fig, ax = _figure()
        ax.bar(positions, pnl, width=0.6, color=[_GAIN if v >= 0 else _LOSS for v in pnl], label="day", zorder=2)
        ax.plot(positions, cumulative, color=_LINE, marker="o", markersize=3, linewidth=1.8, label="cumulative",
                zorder=3)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(f"Realized PnL by day — {doc.get('period', '')}")
        ax.set_ylabel(str(doc.get("currency", "")))
        step = max(1, -(-len(days) // _MAX_DATE_TICKS))
        ticks = positions[::step]
        one_year = dates[0].year == dates[-1].year
        ax.set_xticks(ticks, [f"{dates[i]:%a %d %b}" if one_year else f"{dates[i]:%Y-%m-%d}" for i in ticks])
        ax.set_xlim(-0.6, len(days) - 0.4)
        ax.set_xlabel(str(dates[0].year) if one_year else f"{dates[0].year}–{dates[-1].year}")
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", visible=False)
        ax.legend(loc="best", fontsize=8, frameon=False)
        fig.tight_layout()
    return fig


def _figure() -> tuple[Figure, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=_FIGSIZE, dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _png(fig: Figure) -> bytes:
    import io

    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(_STYLE):
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
