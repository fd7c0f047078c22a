"""The document's figures: per strategy, per symbol and for the day, and one row per trade."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reports.journal import scaled_to_decimal
from reports.pnl.decimal_text import JSON_EXACT_INT
from reports.pnl.kernels import GroupSort
from reports.pnl.money import Money

if TYPE_CHECKING:
    import numpy as np


@dataclass
class TradeInfo:
    pnl: np.ndarray
    strategy: np.ndarray
    symbol: np.ndarray
    entry_iso: Sequence[str]  # a list, or an IsoColumn (made a slice at a time) for a huge day
    exit_iso: Sequence[str]
    strat_names: list[str]
    sym_names: list[str]

    def describe(self, money: Money, i: int) -> dict[str, Any]:
        return {
            "pnl": money.one(int(self.pnl[i])),
            "strategy": self.strat_names[int(self.strategy[i])],
            "symbol": self.sym_names[int(self.symbol[i])],
            "entry_time": self.entry_iso[i],
            "exit_time": self.exit_iso[i],
        }


@dataclass(frozen=True)
class FillFigures:
    """Per fill of the day (carried lots left out): what the figures add up."""

    gross: np.ndarray  # realized gross PnL, 10**-S
    fee: np.ndarray  # 10**-S
    delta: np.ndarray  # the realized-PnL curve moves by this at each fill
    notional: np.ndarray  # 10**-(qd+pd)
    notional_places: int


def figures_by(
    money: Money, trades: TradeInfo, trade_keys: np.ndarray, fill_keys: np.ndarray, names: list[str],
    fills_of_day: FillFigures,
) -> list[dict[str, Any]]:
    """The core fields per key (strategy or symbol), sorted by realized PnL, best first.

    Vectorised over groups (sorts and segment reductions), so a thousand symbols cost
    about what one does.
    """
    import numpy as np

    groups = len(names)
    fill_sort = GroupSort(fill_keys, groups)
    trade_sort = GroupSort(trade_keys, groups)
    pnl = trades.pnl
    fills = fill_sort.counts
    count = trade_sort.counts
    wins = trade_sort.sum((pnl > 0).astype(np.int64))
    losses = trade_sort.sum((pnl < 0).astype(np.int64))
    gross = fill_sort.sum(fills_of_day.gross)
    fees = fill_sort.sum(fills_of_day.fee)
    turnover = fill_sort.sum(fills_of_day.notional)
    win_sum = trade_sort.sum(np.where(pnl > 0, pnl, 0))
    loss_sum = trade_sort.sum(np.where(pnl < 0, pnl, 0))
    best = trade_sort.extreme(pnl, largest=True)
    worst = trade_sort.extreme(pnl, largest=False)
    drawdown = fill_sort.drawdown(fills_of_day.delta)
    turnover_money = Money(fills_of_day.notional_places, money.places)
    out: list[dict[str, Any]] = []
    for g in np.flatnonzero((fills > 0) | (count > 0)).tolist():
        n_trades, n_wins, n_losses = int(count[g]), int(wins[g]), int(losses[g])
        w_sum, l_sum = int(win_sum[g]), int(loss_sum[g])
        out.append({
            "name": names[g],
            "realized_pnl": money.one(int(gross[g]) - int(fees[g])),
            "gross_pnl": money.one(int(gross[g])),
            "fees": money.one(int(fees[g])),
            "fills": int(fills[g]),
            "trades": n_trades,
            "wins": n_wins,
            "losses": n_losses,
            "win_rate": round(n_wins / n_trades, 6) if n_trades else None,
            "biggest_winner": trades.describe(money, int(best[g])) if n_wins else None,
            "biggest_loser": trades.describe(money, int(worst[g])) if n_losses else None,
            "avg_win": money.ratio(w_sum, n_wins) if n_wins else None,
            "avg_loss": money.ratio(l_sum, n_losses) if n_losses else None,
            "profit_factor": round(w_sum / -l_sum, 4) if n_losses else None,
            "max_drawdown": money.one(int(drawdown[g])),
            "turnover": turnover_money.one(int(turnover[g])),
        })
    out.sort(key=lambda e: (-e["realized_pnl"], e["name"]))
    return out


def empty_figures(money: Money) -> dict[str, Any]:
    """The core fields of a day without fills."""
    zero = money.one(0)
    return {
        "realized_pnl": zero, "gross_pnl": zero, "fees": zero, "fills": 0, "trades": 0, "wins": 0, "losses": 0,
        "win_rate": None, "biggest_winner": None, "biggest_loser": None, "avg_win": None, "avg_loss": None,
        "profit_factor": None, "max_drawdown": zero, "turnover": zero,
    }


def trade_rows(
    money: Money, info: TradeInfo, *, t_long: np.ndarray, t_qty: np.ndarray, qd: int,
    avg_entry: np.ndarray, avg_exit: np.ndarray, price_places: int, fees: np.ndarray,
    fees_carried: np.ndarray, fills: np.ndarray,
) -> list[dict[str, Any]]:
    strat = [info.strat_names[i] for i in info.strategy.tolist()]
    sym = [info.sym_names[i] for i in info.symbol.tolist()]
    qty = _quantities(t_qty, qd)
    entry_px = Money(price_places, price_places).many(avg_entry)
    exit_px = Money(price_places, price_places).many(avg_exit)
    pnl = money.many(info.pnl)
    fee = money.many(fees)
    fee_c = money.many(fees_carried)
    side = ["LONG" if v else "SHORT" for v in t_long.tolist()]
    return [
        {
            "strategy": s, "symbol": y, "side": sd, "quantity": q,
            "entry_time": et, "exit_time": xt, "avg_entry": ae, "avg_exit": ax,
            "pnl": p, "fees": f, "fees_carried": fc, "fills": int(nf),
        }
        for s, y, sd, q, et, xt, ae, ax, p, f, fc, nf in zip(
            strat, sym, side, qty, info.entry_iso, info.exit_iso, entry_px, exit_px, pnl, fee, fee_c,
            fills.tolist(), strict=True,
        )
    ]


def _quantities(values: np.ndarray, decimals: int) -> list[int | float]:
    if decimals == 0:
        # JSON integers up to 2**53; past that a float (no JSON reader takes 100-bit integers).
        return [v if abs(v) < JSON_EXACT_INT else float(v) for v in map(int, values.tolist())]
    return [float(scaled_to_decimal(int(v), decimals)) for v in values.tolist()]
