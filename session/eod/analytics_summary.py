"""Where the daily report's summary comes from: ``summary.source``.

``journal`` (the engine's fills journal), ``broker`` (``eod.fills_source: kite``), or, when
there are no fills at all and the analytics step wrote kite-algo-minimal's ``daily_metrics``
(``realized_pnl``, ``num_trades``, ``win_rate`` in percent, ``biggest_winner``, ...; and
``strategy_metrics`` per strategy), ``analytics``: the summary and the strategy table are
then that step's figures, as kite-algo-minimal's own daily report shows them. ``none``: no
fills and no such figures (the summary is empty).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SOURCES = ("journal", "broker", "analytics", "none")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _fraction(percent: Any, wins: int | None, trades: int | None) -> float | None:
    """kite-algo-minimal writes win rates in percent (62.5); tradeday's are fractions (0.625)."""
    if wins is not None and trades:
        return round(wins / trades, 6)
    value = _number(percent)
    return round(value / 100, 6) if value is not None and trades else None


def _trade(pnl: Any) -> dict[str, Any] | None:
    value = _number(pnl)
    if not value:
        return None
    return {"pnl": value, "strategy": None, "symbol": None, "entry_time": None, "exit_time": None}


def _figures(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """tradeday's summary fields from one set of the seed's metrics (unknown ones null)."""
    trades = _count(metrics.get("num_trades", metrics.get("trades")))
    found = metrics.get("pnl_distribution")
    distribution: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    wins = _count(metrics.get("wins", distribution.get("wins")))
    losses = _count(metrics.get("losses", distribution.get("losses")))
    return {
        "realized_pnl": _number(metrics.get("realized_pnl")) or 0.0,
        "gross_pnl": None, "fees": None, "fills": None,
        "trades": trades or 0,
        "wins": wins or 0,
        "losses": losses or 0,
        "win_rate": _fraction(metrics.get("win_rate"), wins, trades),
        "biggest_winner": _trade(metrics.get("biggest_winner")),
        "biggest_loser": _trade(metrics.get("biggest_loser")),
        "avg_win": _number(metrics.get("avg_win")) if wins else None,
        "avg_loss": _number(metrics.get("avg_loss")) if losses else None,
        "profit_factor": _number(metrics.get("profit_factor")),
        "max_drawdown": _number(metrics.get("max_drawdown")),
        "turnover": None,
    }


def daily_metrics(analytics: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    metrics = (analytics or {}).get("daily_metrics")
    return metrics if isinstance(metrics, Mapping) and _number(metrics.get("realized_pnl")) is not None else None


def apply_summary_source(doc: dict[str, Any], fills_origin: str | None, analytics: Mapping[str, Any] | None,
                         *, analytics_file: str) -> dict[str, Any]:
    """Set ``summary.source`` in a daily document; without fills, take the analytics step's
    ``daily_metrics`` as the summary when it wrote them."""
    summary = doc.get("summary")
    if not isinstance(summary, dict):
        return doc
    metrics = daily_metrics(analytics) if fills_origin is None else None
    if metrics is None:
        summary["source"] = fills_origin or "none"
        return doc
    summary.update(_figures(metrics))
    summary["source"] = "analytics"
    per_strategy = (analytics or {}).get("strategy_metrics")
    if isinstance(per_strategy, Mapping) and not doc.get("strategies"):
        rows = [{"name": str(name), **_figures(m)} for name, m in per_strategy.items() if isinstance(m, Mapping)]
        doc["strategies"] = sorted(rows, key=lambda r: (-r["realized_pnl"], r["name"]))
    day = doc.get("date")
    note = (f"No fills journal for {day}: the summary is the analytics step's daily_metrics "
            f"({analytics_file}), as kite-algo-minimal reports it.")
    replaced = (f"No fills journal for {day}: the figures", f"No session ran on {day} and there is no fills journal")
    notes = [n for n in doc.get("notes", []) if not str(n).startswith(replaced)]
    doc["notes"] = [note, *notes]
    return doc
