"""The document's figures: per strategy, per symbol and for the day, and one row per trade."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reports.journal import scaled_to_decimal
from reports.pnl.decimal_text import JSON_EXACT_INT
from reports.pnl.kernels import GroupSort, div_half_even
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

    def describe_many(self, money: Money, rows: np.ndarray) -> list[dict[str, Any]]:
        """The trades at ``rows`` as the figures name them (biggest winner, biggest loser)."""
        entry, exit_ = self.entry_iso, self.exit_iso
        return [
            {"pnl": p, "strategy": self.strat_names[s], "symbol": self.sym_names[y], "entry_time": entry[i],
             "exit_time": exit_[i]}
            for p, s, y, i in zip(money.many(self.pnl[rows]), self.strategy[rows].tolist(),
                                  self.symbol[rows].tolist(), rows.tolist(), strict=True)
        ]


@dataclass(frozen=True)
class FillFigures:
    """Per fill of the day (carried lots left out): what the figures add up."""

    gross: np.ndarray  # realized gross PnL, 10**-S
    fee: np.ndarray  # 10**-S
    delta: np.ndarray  # the realized-PnL curve moves by this at each fill
    notional: np.ndarray  # 10**-(qd+pd)
    notional_places: int


# Above this many rows (fills and trades, once per grouping) the groupings are done one at a time.
_BATCH_ROWS = 1 << 18


@dataclass(frozen=True)
class Grouping:
    """One way of grouping the figures: a key per trade and per fill of the day, and the keys' names."""

    trade_keys: np.ndarray
    fill_keys: np.ndarray
    names: list[str]


def figures_by_each(
    money: Money, trades: TradeInfo, groupings: Sequence[Grouping], fills_of_day: FillFigures,
) -> list[list[dict[str, Any]]]:
    """Per grouping (the day, per strategy, per symbol), the core fields per key, sorted by
    realized PnL, best first.

    Vectorised over groups (sorts and segment reductions), so a thousand symbols cost about
    what one does; and the groupings share one key space (the rows repeated once per
    grouping), so three groupings cost one set of array operations, not three.
    """
    import numpy as np

    if len(groupings) > 1 and (len(fills_of_day.gross) + len(trades.pnl)) * len(groupings) > _BATCH_ROWS:
        # A big day: the per-call overhead no longer counts, the repeated rows' memory would.
        return [figures_by_each(money, trades, [g], fills_of_day)[0] for g in groupings]
    first_key = np.cumsum([0, *(len(g.names) for g in groupings)]).tolist()
    groups = first_key[-1]
    copies = len(groupings)
    n_trades = len(trades.pnl)

    def repeated(values: np.ndarray) -> np.ndarray:
        return values if copies == 1 else np.concatenate([values] * copies)

    def keys(per_grouping: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([np.asarray(k, dtype=np.int64) + lo for k, lo in zip(per_grouping, first_key,
                                                                                   strict=False)])

    fill_sort = GroupSort(keys([g.fill_keys for g in groupings]), groups)
    trade_sort = GroupSort(keys([g.trade_keys for g in groupings]), groups)
    pnl = repeated(trades.pnl)
    gross = fill_sort.sum(repeated(fills_of_day.gross))
    fees = fill_sort.sum(repeated(fills_of_day.fee))
    turnover = fill_sort.sum(repeated(fills_of_day.notional))
    drawdown = fill_sort.drawdown(repeated(fills_of_day.delta))
    win_sum = trade_sort.sum(np.where(pnl > 0, pnl, 0))
    loss_sum = trade_sort.sum(np.where(pnl < 0, pnl, 0))
    wins = trade_sort.sum((pnl > 0).astype(np.int64))
    losses = trade_sort.sum((pnl < 0).astype(np.int64))
    # Every money figure of every group in one rounding pass per field (each value is rounded
    # alone either way); averages half-even as money.ratio takes them.
    realized_m = money.many(gross - fees)
    gross_m, fees_m, drawdown_m = money.many(gross), money.many(fees), money.many(drawdown)
    turnover_m = Money(fills_of_day.notional_places, money.places).many(turnover)
    avg_win_m = money.many(div_half_even(win_sum, np.maximum(wins, 1).astype(win_sum.dtype)))
    avg_loss_m = money.many(div_half_even(loss_sum, np.maximum(losses, 1).astype(loss_sum.dtype)))
    best_of: list[dict[str, Any] | None] = [None] * groups
    worst_of: list[dict[str, Any] | None] = [None] * groups
    if n_trades:
        best = trade_sort.extreme(pnl, largest=True) % n_trades  # the trade (its row in one copy)
        worst = trade_sort.extreme(pnl, largest=False) % n_trades
        with_wins, with_losses = np.flatnonzero(wins > 0), np.flatnonzero(losses > 0)
        described = trades.describe_many(money, np.concatenate([best[with_wins], worst[with_losses]]))
        for g, d in zip(with_wins.tolist(), described, strict=False):
            best_of[g] = d
        for g, d in zip(with_losses.tolist(), described[len(with_wins):], strict=True):
            worst_of[g] = d
    fills, count = fill_sort.counts.tolist(), trade_sort.counts.tolist()
    wins_l, losses_l, win_sum_l, loss_sum_l = wins.tolist(), losses.tolist(), win_sum.tolist(), loss_sum.tolist()
    out: list[list[dict[str, Any]]] = []
    for grouping, lo in zip(groupings, first_key, strict=False):
        rows: list[dict[str, Any]] = []
        for g in range(lo, lo + len(grouping.names)):
            n_trades_g = count[g]
            if not (n_trades_g or fills[g]):
                continue
            n_wins, n_losses = wins_l[g], losses_l[g]
            rows.append({
                "name": grouping.names[g - lo],
                "realized_pnl": realized_m[g],
                "gross_pnl": gross_m[g],
                "fees": fees_m[g],
                "fills": fills[g],
                "trades": n_trades_g,
                "wins": n_wins,
                "losses": n_losses,
                "win_rate": round(n_wins / n_trades_g, 6) if n_trades_g else None,
                "biggest_winner": best_of[g],
                "biggest_loser": worst_of[g],
                "avg_win": avg_win_m[g] if n_wins else None,
                "avg_loss": avg_loss_m[g] if n_losses else None,
                "profit_factor": round(win_sum_l[g] / -loss_sum_l[g], 4) if n_losses else None,
                "max_drawdown": drawdown_m[g],
                "turnover": turnover_m[g],
            })
        rows.sort(key=lambda e: (-e["realized_pnl"], e["name"]))
        out.append(rows)
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
    import numpy as np

    # names and sides picked from object arrays: the same str objects, no loop per trade
    strat = np.asarray(info.strat_names, dtype=object)[info.strategy].tolist()
    sym = np.asarray(info.sym_names, dtype=object)[info.symbol].tolist()
    side = np.asarray(["SHORT", "LONG"], dtype=object)[t_long.astype(np.int64)].tolist()
    qty = _quantities(t_qty, qd)
    entry_px = Money(price_places, price_places).many(avg_entry)
    exit_px = Money(price_places, price_places).many(avg_exit)
    pnl = money.many(info.pnl)
    fee = money.many(fees)
    fee_c = money.many(fees_carried)
    return [
        {
            "strategy": s, "symbol": y, "side": sd, "quantity": q,
            "entry_time": et, "exit_time": xt, "avg_entry": ae, "avg_exit": ax,
            "pnl": p, "fees": f, "fees_carried": fc, "fills": nf,
        }
        for s, y, sd, q, et, xt, ae, ax, p, f, fc, nf in zip(
            strat, sym, side, qty, info.entry_iso, info.exit_iso, entry_px, exit_px, pnl, fee, fee_c,
            fills.tolist(), strict=True,
        )
    ]


def _quantities(values: np.ndarray, decimals: int) -> list[int | float]:
    import numpy as np

    small = values.dtype != object and (
        len(values) == 0 or (int(values.max()) < JSON_EXACT_INT and int(values.min()) > -JSON_EXACT_INT))
    if decimals == 0:
        if small:
            return values.tolist()
        # JSON integers up to 2**53; past that a float (no JSON reader takes 100-bit integers).
        return [v if abs(v) < JSON_EXACT_INT else float(v) for v in map(int, values.tolist())]
    if small and decimals <= 22:
        # An exact float over an exact power of ten: one correctly rounded division, as float(Decimal) is.
        return (values.astype(np.float64) / 10 ** decimals).tolist()
    return [float(scaled_to_decimal(int(v), decimals)) for v in values.tolist()]
