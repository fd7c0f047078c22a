"""Charts for the reports: PNG bytes from a report document (matplotlib, Agg, lazy).

No pyplot: a Figure drawn on its own Agg canvas leaves matplotlib's global backend
alone. Deterministic: a fixed figure size, dpi and style, no pyplot global state, and the PNG
written without the "Software" text chunk (matplotlib writes no timestamp in PNGs), so
the same document gives the same bytes.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def render_daily_chart(doc: Mapping[str, Any]) -> bytes | None:
    """Cumulative realized PnL through the day, one line per strategy (and the total).

    None when the day has no fills (nothing to draw).
    """
    curve = doc.get("equity_curve") or {}
    strategies: Mapping[str, list[list[Any]]] = curve.get("strategies") or {}
    total: list[list[Any]] = curve.get("total") or []
    if not total:
        return None
    end = datetime.fromisoformat(total[-1][0])
    series = []
    for name, points in sorted(strategies.items()):
        if points:
            xs = [datetime.fromisoformat(t) for t, _ in points]
            ys = [v for _, v in points]
            if xs[-1] < end:  # hold the last value to the day's last fill
                xs.append(end)
                ys.append(ys[-1])
            series.append((name, xs, ys))
    if len(series) != 1:
        # Drawn first, so the strategies' lines stay visible on top of it.
        series.insert(0, ("total", [datetime.fromisoformat(t) for t, _ in total], [v for _, v in total]))
    title = f"Cumulative realized PnL — {doc.get('date', '')}"
    return _line_chart(series, title=title, ylabel=str(doc.get("currency", "")), time_axis=True,
                       tz=end.tzinfo, steps=True)


def render_period_chart(doc: Mapping[str, Any]) -> bytes | None:
    """Cumulative realized PnL day by day over the period (total and per strategy)."""
    days = doc.get("days") or []
    if not days:
        return None
    dates = [date.fromisoformat(d["date"]) for d in days]
    series = []
    per_strategy: Mapping[str, list[float]] = doc.get("strategy_cumulative") or {}
    for name in sorted(per_strategy):
        series.append((name, dates, per_strategy[name]))
    series.insert(0, ("total", dates, [d["cumulative_pnl"] for d in days]))
    return _line_chart(series, title=f"Cumulative realized PnL — {doc.get('period', '')}",
                       ylabel=str(doc.get("currency", "")), time_axis=False, tz=None, steps=False)


def _line_chart(series: list[tuple[str, list[Any], list[float]]], *, title: str, ylabel: str,
                time_axis: bool, tz: Any, steps: bool) -> bytes:
    import io

    import matplotlib
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=_FIGSIZE, dpi=_DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        for name, xs, ys in series:
            style = ({"linewidth": 3.0, "color": "#bbbbbb", "linestyle": "-"} if name == "total" and len(series) > 1
                     else {"linewidth": 1.5})
            if steps:
                ax.step(xs, ys, where="post", label=name, **style)
            else:
                ax.plot(xs, ys, marker="o", markersize=3, label=name, **style)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if time_axis:
            # A fixed %H:%M labels every tick alike on a short (demo, or half-hour special)
            # session; the concise formatter picks seconds, minutes or hours as the span needs.
            locator = mdates.AutoDateLocator(tz=tz)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))
        else:
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
        if len(series) > 1:
            ax.legend(loc="best", fontsize=8, frameon=False)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
