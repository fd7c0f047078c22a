"""Start a new setup in DIR: a commented paper config, a placeholder engine, secrets files to fill in, a .gitignore."""
from __future__ import annotations

import enum
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import LogLevel, LogLevelOpt

if TYPE_CHECKING:
    from session.scaffold import Scaffold


class MarketChoice(str, enum.Enum):
    nse = "nse"
    nyse = "nyse"


class BrokerChoice(str, enum.Enum):
    kite = "kite"
    ibkr = "ibkr"
    none = "none"


DirArg = Annotated[Path, typer.Argument(help="The folder to set up (created if missing)", show_default=True)]
MarketOpt = Annotated[MarketChoice, typer.Option("--market", help="nse (India) or nyse (US)", show_default=False)]
BrokerOpt = Annotated[BrokerChoice | None, typer.Option(
    "--broker", help="kite, ibkr or none (default: kite for nse, ibkr for nyse)", show_default=False)]
ForceOpt = Annotated[bool, typer.Option(
    "--force", help="Overwrite the config and the engine; secrets files are always kept")]


def init(
    market: MarketOpt,
    folder: DirArg = Path("."),
    broker: BrokerOpt = None,
    force: ForceOpt = False,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Start a new setup in DIR: a commented paper config, a placeholder engine, secrets files to fill in, a .gitignore.

    Exit 0, or 2 when a file exists (nothing is written; --force overwrites the config and the engine, never a secrets file). The config has no --config: it is the one this writes, DIR/tradeday.yaml.
    """
    from session.scaffold import write_scaffold

    result = write_scaffold(folder, market.value, broker.value if broker else None, force=force)
    _print(result)


def _print(result: Scaffold) -> None:
    from cli.common import out

    for f in result.files:
        out(f"{f.action:<9} {f.path}  ({f.what})")
    cfg = shlex.quote(str(result.config))
    fill = [str(p.relative_to(result.folder)) for p in result.secrets_to_fill]
    extra = {"kite": f", and fill in {' and '.join(fill)}" if fill else "",
             "ibkr": ", and broker.ibkr.port: your TWS / IB Gateway paper port",
             "none": ""}[result.broker]
    out("")
    out(f"A paper setup for {result.market.upper()} (broker {result.broker}). Next:")
    out(f"  1. edit {result.config}: your engine's command under `engines:`{extra}")
    out(f"  2. tradeday precheck -c {cfg}")
    out(f"  3. tradeday schedule cron -c {cfg}")
    if result.broker == "none":
        out(f"A first try, any day: tradeday run --start-now --duration 30s -c {cfg}")
