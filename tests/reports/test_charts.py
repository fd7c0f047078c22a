"""The charts, read from the matplotlib figure: the daily one shows the session window and the
market's offset; the period one a bar per trading day, the cumulative line and readable dates."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import matplotlib.dates as mdates

from reports.chart import daily_figure, period_figure, render_period_chart
from tests.reports.test_render import daily_doc


def period_doc(first: date, last: date) -> dict:
    days, cumulative, day = [], 0.0, first
    while day <= last:
        if day.weekday() < 5:
            pnl = float((day.toordinal() % 7) - 3) * 10
            cumulative += pnl
            days.append({"date": day.isoformat(), "realized_pnl": pnl, "cumulative_pnl": cumulative})
        day += timedelta(days=1)
    return {"period": "p", "currency": "USD", "days": days}


def labels(fig) -> list[str]:  # type: ignore[no-untyped-def]
    ax = fig.axes[0]
    fig.canvas.draw()
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text()]


def test_a_month_has_a_bar_per_day_a_cumulative_line_and_one_label_per_date() -> None:
    doc = period_doc(date(2026, 11, 2), date(2026, 11, 30))
    fig = period_figure(doc)
    ax = fig.axes[0]
    assert len(ax.patches) == len(doc["days"]) == 21  # one bar per trading day
    line = next(ln for ln in ax.get_lines() if ln.get_label() == "cumulative")
    assert list(line.get_ydata()) == [d["cumulative_pnl"] for d in doc["days"]]
    shown = labels(fig)
    assert len(shown) == len(set(shown)) <= 12  # no date twice, not crowded
    parsed = [datetime.strptime(f"{t} 2026", "%a %d %b %Y").date() for t in shown]
    assert parsed == sorted(parsed) and all(d.isoformat() in {x["date"] for x in doc["days"]} for d in parsed)
    assert parsed[0] == date(2026, 11, 2)
    assert ax.get_xlabel() == "2026"  # the year once, not on every tick
    lo, hi = ax.get_xlim()
    assert all(lo <= t <= hi for t in ax.get_xticks())  # no tick outside the period


def test_a_week_labels_every_day_and_a_period_across_years_says_the_year() -> None:
    week = period_figure(period_doc(date(2026, 11, 16), date(2026, 11, 20)))
    assert labels(week) == ["Mon 16 Nov", "Tue 17 Nov", "Wed 18 Nov", "Thu 19 Nov", "Fri 20 Nov"]
    turn = period_figure(period_doc(date(2026, 12, 28), date(2027, 1, 5)))
    shown = labels(turn)
    assert shown[0] == "2026-12-28" and shown[-1] == "2027-01-05" and len(shown) == len(set(shown))
    assert turn.axes[0].get_xlabel() == "2026–2027"
    assert render_period_chart(period_doc(date(2026, 11, 16), date(2026, 11, 20)))[:4] == b"\x89PNG"


def test_the_daily_chart_shades_the_session_and_names_the_offset() -> None:
    doc = daily_doc()
    fig = daily_figure(doc)
    ax = fig.axes[0]
    opens = datetime.fromisoformat(doc["market"]["open"])
    closes = datetime.fromisoformat(doc["market"]["close"])
    band = next(p for p in ax.patches if p.get_label().startswith("session"))
    xs = [band.get_x(), band.get_x() + band.get_width()]  # axvspan draws a Rectangle (matplotlib >= 3.9)
    assert abs(min(xs) - mdates.date2num(opens)) < 1e-6 and abs(max(xs) - mdates.date2num(closes)) < 1e-6
    assert band.get_label() == "session 09:15–15:30"
    assert ax.get_xlabel() == "market time (UTC+05:30)"
    hours = [int(t.split(":")[0]) for t in labels(fig) if ":" in t]
    assert hours and min(hours) >= 9 and max(hours) <= 16  # ticks in market time, not UTC
