#!/usr/bin/env python3
"""tradeday's demo analytics hook: a few daily metrics from the fills journal.

tradeday runs it at the end of day (``eod.analytics.command``) with:

    TRADEDAY_JOURNAL     the day's fills journal (CSV or JSON Lines, docs/ENGINE.md section 4)
    TRADEDAY_ARTIFACTS   the artifacts folder
    TRADEDAY_OUTPUT      where tradeday looks for the result (optional; default below)
    TRADEDAY_SESSION_DATE, TRADEDAY_MODE, TRADEDAY_CONFIG

and embeds what it writes to ``{artifacts}/analytics/daily/{date}.json`` in the daily report
under ``analytics``. Run by hand, ``--date`` and ``--config`` say where to look (the config's
``root`` and ``paths`` are read when PyYAML is importable, as it is in tradeday's interpreter).

Metrics (exact decimal arithmetic; money rounded to 2 places at the end):

* ``daily_metrics``: fills, buys, sells, strategies, symbols, notional (sum of
  quantity x price), fees, first and last fill time;
* ``strategy_metrics``: per strategy: fills, bought and sold quantity, notional, fees,
  symbols traded;
* ``symbol_metrics``: per symbol: fills, VWAP, low and high fill price, and the volatility
  of its fill prices (standard deviation of the log returns between consecutive fills,
  not annualised; null below three fills).

Exit codes: 0 (written; also with no journal, which gives zero fills), 1 a journal row
is bad (the message names file:line), 2 a usage error. Standard library only.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import sys
import tempfile
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any


class BadJournal(Exception):
    pass


def artifacts_from_config(config: Path) -> Path | None:
    """``{root}/{paths.artifacts}`` of a tradeday config, if PyYAML can read it."""
    try:
        import yaml
    except ImportError:
        return None
    try:
        data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    root = (config.parent / str(data.get("root") or ".")).resolve()
    paths = data.get("paths") if isinstance(data.get("paths"), dict) else {}
    artifacts = Path(os.path.expanduser(str(paths.get("artifacts") or "artifacts")))
    return artifacts if artifacts.is_absolute() else root / artifacts


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for each fill of a CSV or JSON Lines journal."""
    rows: list[tuple[int, dict[str, str]]] = []
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BadJournal(f"{path}:{lineno}: not JSON ({exc.msg})") from None
                if not isinstance(obj, dict):
                    raise BadJournal(f"{path}:{lineno}: not a JSON object")
                rows.append((lineno, {k: "" if v is None else str(v) for k, v in obj.items()}))
        return rows
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}))
    return rows


def number(row: dict[str, str], key: str, where: str, *, default: str | None = None) -> Decimal:
    text = row.get(key, "") or (default or "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadJournal(f"{where} {key}: {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise BadJournal(f"{where} {key}: {text!r} must be a number >= 0")
    return value


def money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def compute(path: Path | None) -> dict[str, Any]:
    rows = read_rows(path) if path is not None and path.is_file() else []
    per_strategy: dict[str, dict[str, Any]] = {}
    per_symbol: dict[str, dict[str, Any]] = {}
    seen_trades: set[str] = set()
    notional_total = Decimal(0)
    fees_total = Decimal(0)
    buys = sells = 0
    times: list[datetime] = []
    for lineno, row in rows:
        where = f"{path}:{lineno}"
        trade_id = row.get("trade_id", "")
        if trade_id and trade_id in seen_trades:
            continue  # tradeday drops repeated trade_ids too
        if trade_id:
            seen_trades.add(trade_id)
        side = row.get("side", "").upper()
        if side not in ("BUY", "SELL"):
            raise BadJournal(f"{where} side: {row.get('side')!r} must be BUY or SELL")
        qty = number(row, "quantity", where)
        price = number(row, "price", where)
        fees = number(row, "fees", where, default="0")
        try:
            when = datetime.fromisoformat(row.get("time", "").replace("Z", "+00:00"))
        except ValueError:
            raise BadJournal(f"{where} time: {row.get('time')!r} is not an ISO-8601 time") from None
        strategy, symbol = row.get("strategy", "") or "-", row.get("symbol", "") or "-"
        notional = qty * price
        notional_total += notional
        fees_total += fees
        buys += side == "BUY"
        sells += side == "SELL"
        times.append(when)
        st = per_strategy.setdefault(strategy, {"fills": 0, "bought": Decimal(0), "sold": Decimal(0),
                                                "notional": Decimal(0), "fees": Decimal(0), "symbols": set()})
        st["fills"] += 1
        st["bought" if side == "BUY" else "sold"] += qty
        st["notional"] += notional
        st["fees"] += fees
        st["symbols"].add(symbol)
        sy = per_symbol.setdefault(symbol, {"fills": 0, "quantity": Decimal(0), "notional": Decimal(0), "prices": []})
        sy["fills"] += 1
        sy["quantity"] += qty
        sy["notional"] += notional
        sy["prices"].append((when, price))
    strategy_metrics = {
        name: {"fills": st["fills"], "bought_quantity": float(st["bought"]), "sold_quantity": float(st["sold"]),
               "notional": money(st["notional"]), "fees": money(st["fees"]), "symbols": sorted(st["symbols"])}
        for name, st in sorted(per_strategy.items())
    }
    symbol_metrics = {}
    for name, sy in sorted(per_symbol.items()):
        prices = [p for _, p in sorted(sy["prices"], key=lambda tp: tp[0])]
        returns = [math.log(b / a) for a, b in zip(prices, prices[1:], strict=False) if a > 0 and b > 0]
        symbol_metrics[name] = {
            "fills": sy["fills"],
            "vwap": float((sy["notional"] / sy["quantity"]).quantize(Decimal("0.0001"))) if sy["quantity"] else None,
            "low": float(min(prices)),
            "high": float(max(prices)),
            "fill_price_volatility": round(statistics.stdev(returns), 8) if len(returns) >= 2 else None,
        }
    return {
        "source": str(path) if path is not None else None,
        "daily_metrics": {
            "fills": buys + sells,
            "buys": buys,
            "sells": sells,
            "strategies": len(per_strategy),
            "symbols": len(per_symbol),
            "notional": money(notional_total),
            "fees": money(fees_total),
            "first_fill": min(times).isoformat() if times else None,
            "last_fill": max(times).isoformat() if times else None,
        },
        "strategy_metrics": strategy_metrics,
        "symbol_metrics": symbol_metrics,
    }


def write_atomically(path: Path, data: dict[str, Any]) -> None:
    """A reader (tradeday) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes it 0600 whatever the umask: give it what the umask allows (tradeday
        # runs hooks with umask 077, or 027 with paths.group so that the group can read).
        umask = os.umask(0o077)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", default=os.environ.get("TRADEDAY_SESSION_DATE"), help="session date YYYY-MM-DD")
    parser.add_argument("--config", default=os.environ.get("TRADEDAY_CONFIG"), help="the tradeday config")
    parser.add_argument("--journal", default=os.environ.get("TRADEDAY_JOURNAL"), help="the fills journal")
    parser.add_argument("--output", default=os.environ.get("TRADEDAY_OUTPUT"), help="where to write the JSON")
    args = parser.parse_args(argv)
    try:
        day = date.fromisoformat(args.date) if args.date else date.today()
    except ValueError:
        parser.error(f"--date {args.date!r} is not YYYY-MM-DD")
    artifacts = Path(os.environ["TRADEDAY_ARTIFACTS"]) if os.environ.get("TRADEDAY_ARTIFACTS") else (
        artifacts_from_config(Path(args.config)) if args.config else None)
    if artifacts is None and not (args.journal and args.output):
        parser.error("set TRADEDAY_ARTIFACTS, or pass --config (with PyYAML installed), or --journal and --output")
    journal = Path(args.journal) if args.journal else None
    if journal is None and artifacts is not None:
        csv_path = artifacts / "journal" / f"{day}.csv"
        jsonl_path = artifacts / "journal" / f"{day}.jsonl"
        journal = jsonl_path if jsonl_path.is_file() and not csv_path.is_file() else csv_path
    output = Path(args.output) if args.output else artifacts / "analytics" / "daily" / f"{day}.json"  # type: ignore[operator]
    try:
        result = compute(journal)
    except BadJournal as exc:
        print(f"analytics: {exc}", file=sys.stderr)
        return 1
    result = {"date": day.isoformat(), "generated_by": "examples/analytics.py", **result}
    write_atomically(output, result)
    m = result["daily_metrics"]
    print(f"analytics {day}: {m['fills']} fills, {m['strategies']} strategies, {m['symbols']} symbols, "
          f"notional {m['notional']:,.2f}; wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
