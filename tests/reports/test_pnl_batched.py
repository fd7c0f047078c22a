"""The batched paths of compute_day against the plain computations they replace.

* Times print from a byte matrix filled by blocks (isotimes._format): equal to
  ``datetime.isoformat`` at any instant nanoseconds hold, in any zone.
* The figures of the day, per strategy and per symbol come from one key space
  (figures.figures_by_each): equal to one grouping at a time, and to it again past the
  batching limit; the segment reductions under them equal a plain loop, Python ints included.
* Trade quantities without Decimals equal the Decimal path; the equity curve's one-pass
  series equal one series at a time; open positions sort by name through the names' ranks.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.journal import Fill, scaled_to_decimal, time_from_ns
from reports.pnl import compute_day
from reports.pnl.isotimes import IsoColumn, iso_times, iso_times_runs

IST = timezone(timedelta(hours=5, minutes=30))
ZONES = [IST, UTC, timezone(-timedelta(hours=9, minutes=45)), ZoneInfo("America/New_York"),
         ZoneInfo("Europe/London"), ZoneInfo("Australia/Lord_Howe")]
NS_MIN, NS_MAX = -(2 ** 63) + 86_400 * 10 ** 9, 2 ** 63 - 1 - 86_400 * 10 ** 9


def _isoformat(ns: int, tz, with_us: bool) -> str:
    return time_from_ns(ns, tz).isoformat(timespec="microseconds" if with_us else "seconds")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.integers(NS_MIN, NS_MAX), st.integers(1_700_000_000 * 10 ** 9, 1_700_100_000 * 10 ** 9)),
                min_size=1, max_size=30),
       st.sampled_from(ZONES), st.booleans())
def test_times_print_as_isoformat(instants, tz, whole_seconds):
    ns = np.array(instants, dtype=np.int64)
    if isinstance(tz, ZoneInfo):  # before 1901 the zones' local mean times have offsets in seconds
        ns = np.maximum(ns, -2_177_452_800 * 10 ** 9)
    if whole_seconds:
        ns = ns // 10 ** 9 * 10 ** 9
    with_us = bool(((ns // 1000) % 1_000_000).any())
    expected = [_isoformat(int(v), tz, with_us) for v in ns]
    assert iso_times(ns, tz) == expected
    assert IsoColumn(ns, tz, with_us=with_us)[:] == expected


def test_times_of_one_day_and_of_many_days_print_alike():
    # one (day, offset) row for the whole array, two (a DST change), many (a carried book)
    base = 1_710_050_000 * 10 ** 9  # 2024-03-10, around New York's change to daylight time
    for tz in (ZoneInfo("America/New_York"), IST):
        for span in (3_600, 86_400, 400 * 86_400):
            ns = base + np.arange(0, span, max(span // 500, 1), dtype=np.int64) * 10 ** 9 + 123_456_000
            assert iso_times(ns, tz) == [_isoformat(int(v), tz, True) for v in ns]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 3 * 86_400), st.sampled_from([0, 0, 0, 1, 999_999])),
                         max_size=5), max_size=6),
       st.sampled_from(ZONES))
def test_runs_print_as_one_call_per_run(runs, tz):
    base = 1_710_000_000 * 10 ** 9
    arrays = [np.array([base + s * 10 ** 9 + us * 1000 for s, us in r], dtype=np.int64) for r in runs]
    joined = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
    assert iso_times_runs(joined, [len(a) for a in arrays], tz) == [t for a in arrays for t in iso_times(a, tz)]


# --- segment reductions


def _plain_extreme(keys, values, groups, largest):
    out = [-1] * groups
    for i, (k, v) in enumerate(zip(keys, values, strict=True)):
        if out[k] == -1 or (v > values[out[k]] if largest else v < values[out[k]]):
            out[k] = i
    return out


def _plain_drawdown(keys, values, groups):
    curve, peak, out = [0] * groups, [0] * groups, [0] * groups
    for k, v in zip(keys, values, strict=True):
        curve[k] += v
        peak[k] = max(peak[k], curve[k])
        out[k] = max(out[k], peak[k] - curve[k])
    return out


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-4, 4)), max_size=40), st.sampled_from([1, 10 ** 30]),
       st.sampled_from([1, 6]))
def test_group_reductions_are_a_plain_loop(rows, unit, groups):
    from reports.pnl.kernels import GroupSort

    keys = [k % groups for k, _ in rows]
    values = [v * unit for _, v in rows]
    arr = np.array(values, dtype=object if unit > 1 else np.int64)
    sort = GroupSort(np.array(keys, dtype=np.int64), groups)
    for largest in (True, False):  # small values: ties everywhere, the earliest wins
        assert sort.extreme(arr, largest=largest).tolist() == _plain_extreme(keys, values, groups, largest)
    assert sort.drawdown(arr).tolist() == _plain_drawdown(keys, values, groups)
    assert sort.sum(arr).tolist() == [sum(v for k, v in zip(keys, values, strict=True) if k == g)
                                      for g in range(groups)]


def test_drawdown_of_curves_too_wide_to_lift_into_one_running_max():
    from reports.pnl.kernels import GroupSort

    keys = [0, 0, 1, 1, 2, 2]
    values = [2 ** 61, -(2 ** 61), -(2 ** 61), 2 ** 61, 5, -7]  # span * groups >= 2**62
    sort = GroupSort(np.array(keys, dtype=np.int64), 3)
    assert sort.drawdown(np.array(values, dtype=np.int64)).tolist() == _plain_drawdown(keys, values, 3)


@pytest.mark.parametrize("decimals", [0, 3, 22, 25])
@pytest.mark.parametrize("values", [[1, 250, 7_000_001], [2 ** 53 - 1, 2 ** 53, 3 * 10 ** 30]])
def test_trade_quantities_without_decimals_are_the_decimal_path(values, decimals):
    from reports.pnl.decimal_text import JSON_EXACT_INT
    from reports.pnl.figures import _quantities

    arr = np.array(values, dtype=object if max(values) >= 2 ** 62 else np.int64)
    if decimals == 0:
        expected = [v if abs(v) < JSON_EXACT_INT else float(v) for v in values]
    else:
        expected = [float(scaled_to_decimal(v, decimals)) for v in values]
    got = _quantities(arr, decimals)
    assert got == expected and [type(v) for v in got] == [type(v) for v in expected]


# --- whole days: the batched figures and the one-pass curve against one grouping / series at a time


def _fills(n: int, *, big: bool = False, us: bool = True) -> list[Fill]:
    start = datetime(2026, 11, 20, 9, 15, tzinfo=IST)
    strategies = ["zeta", "alpha", "Beta", "ünï"]
    symbols = ["X2", "x1", "AA", "b", "Z"]
    out = []
    for i in range(n):
        qty = D(i % 4 + 1) * (D(10) ** 12 if big and i % 7 == 0 else 1)
        out.append(Fill(start + timedelta(seconds=7 * i, microseconds=(250 * (i % 3)) if us else 0),
                        strategies[(i * 7) % 4], symbols[(i // 3) % 5], "BUY" if (i * 5) % 3 else "SELL",
                        qty, D("100.05") + (i % 11) * D("0.25") + (D(10) ** 14 if big and i % 5 == 0 else 0),
                        D("0.1") * (i % 3)))
    return out


@pytest.mark.parametrize("big", [False, True])  # True: values past int64, object arrays
def test_batched_figures_are_one_grouping_at_a_time(monkeypatch, big):
    import reports.pnl.figures as figures

    calls = []
    real = figures.figures_by_each

    def one_at_a_time(money, trades, groupings, fills_of_day):
        calls.append(len(groupings))
        return [real(money, trades, [g], fills_of_day)[0] for g in groupings]

    fills = _fills(160, big=big)
    batched = compute_day(fills, currency="INR", tz=IST)
    import reports.pnl.day as day_module

    monkeypatch.setattr(day_module, "figures_by_each", one_at_a_time)
    plain = compute_day(fills, currency="INR", tz=IST)
    assert calls == [3]
    assert (batched.summary, batched.strategies, batched.symbols) == (plain.summary, plain.strategies, plain.symbols)
    assert batched.strategies and batched.summary["biggest_winner"] and batched.summary["biggest_loser"]
    # and past the batching limit (a big day), one grouping at a time inside figures_by_each
    monkeypatch.setattr(figures, "_BATCH_ROWS", 0)
    monkeypatch.setattr(day_module, "figures_by_each", real)
    limited = compute_day(fills, currency="INR", tz=IST)
    assert (limited.summary, limited.strategies, limited.symbols) == (plain.summary, plain.strategies, plain.symbols)


def _plain_curve(fills, points: int):
    """The equity curve one series at a time, from the day's figures (what curve.py did)."""
    from reports.journal.times import epoch_ns
    from reports.pnl.curve import _thin

    day = compute_day(fills, currency="INR", tz=IST)
    # realized PnL per fill in paise (the test's prices and fees have two decimals)
    delta = [int((gross - f.fees) * 100) for gross, f in zip(day.exact.fill_realized, fills, strict=True)]
    ns = np.array([epoch_ns(f.time) for f in fills], dtype=np.int64)

    def series(rows):
        cum = np.cumsum(np.array([delta[i] for i in rows], dtype=np.int64))
        keep = _thin(cum, points)
        return [[t, v / 100] for t, v in zip(iso_times(ns[np.asarray(rows)[keep]], IST), cum[keep].tolist(),
                                              strict=True)]

    names = sorted({f.strategy for f in fills})
    return {"total": series(list(range(len(fills)))),
            "strategies": {s: series([i for i, f in enumerate(fills) if f.strategy == s]) for s in names}}


@pytest.mark.parametrize("points", [1000, 12, 5])  # every point kept; the strategies thinned too; only a few
@pytest.mark.parametrize("us", [True, False])
def test_curve_series_in_one_pass_are_one_series_at_a_time(points, us):
    fills = _fills(120, us=us)
    curve = compute_day(fills, currency="INR", tz=IST, curve_points=points).equity_curve
    assert curve == _plain_curve(fills, points)
    assert all(isinstance(p, list) for s in [curve["total"], *curve["strategies"].values()] for p in s)


def test_open_positions_sort_by_name_whatever_order_the_names_came_in():
    fills = [Fill(datetime(2026, 11, 20, 10, i, tzinfo=IST), s, y, "BUY", D(1), D(10), D(0))
             for i, (s, y) in enumerate([("zeta", "b"), ("Zeta", "a"), ("alpha", "é"), ("alpha", "E"), ("zeta", "a"),
                                         ("ä", "x"), ("alpha", "b")])]
    book = compute_day(fills, currency="INR", tz=IST).open_book
    pairs = list(zip(book.strategy, book.symbol, strict=True))
    assert pairs == sorted((f.strategy, f.symbol) for f in fills)
