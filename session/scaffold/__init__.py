"""``tradeday init``: a new folder with everything a first day needs.

``DIR/tradeday.yaml`` (commented, paper, its artifacts inside DIR), ``DIR/engines/
placeholder_engine.py`` (an engine that trades nothing, copied from this package, so that it works
from an installed tradeday, where the repository's examples/ are not), for Kite the two secrets
files with the keys to fill in (0600, in a 0700 folder), and a ``.gitignore`` for the secrets and
the artifacts. The texts are the templates in ``templates/`` (package data).

Nothing is overwritten without ``force``; even with it, an existing secrets file is kept (it may
hold the user's keys), and an existing ``.gitignore`` only gets the lines it lacks.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Literal

from core.errors import UsageError
from core.fsutil import atomic_write_text

CONFIG_NAME = "tradeday.yaml"
ENGINE_PATH = "engines/placeholder_engine.py"
GITIGNORE_LINES = ("secrets/", "artifacts/")
SECRET_FILE_MODE = 0o600
SECRET_FOLDER_MODE = 0o700


@dataclass(frozen=True)
class Market:
    label: str
    calendar: str
    broker: str  # the broker most people use there: the default of --broker


MARKETS = {
    "nse": Market("NSE (India), 09:15-15:30 Asia/Kolkata", "XNSE", "kite"),
    "nyse": Market("NYSE (US), 09:30-16:00 America/New_York", "XNYS", "ibkr"),
}
BROKERS = ("kite", "ibkr", "none")
_FILLS_NOTE = {
    "kite": "or kite: Kite's trades() of the day, reconciled against the journal",
    "ibkr": "the fills your engine appends to $TRADEDAY_JOURNAL",
    "none": "the fills your engine appends to $TRADEDAY_JOURNAL",
}
# The secrets files to fill in: name in DIR/secrets, template, the key they hold.
_SECRETS = {"kite": [("kite.env", "kite.env.tmpl", "KITE_API_KEY"),
                     ("kite_tokens.env", "kite_tokens.env.tmpl", "ACCESS_TOKEN")]}

Action = Literal["wrote", "kept", "updated", "unchanged"]
Kind = Literal["config", "engine", "secret", "gitignore"]


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    action: Action
    kind: Kind
    what: str  # for people: "config", "secrets: fill in KITE_API_KEY=", ...


@dataclass(frozen=True)
class Scaffold:
    folder: Path
    config: Path
    market: str
    broker: str
    files: list[WrittenFile] = field(default_factory=list)

    @property
    def secrets_to_fill(self) -> list[Path]:
        """The secrets files written now, with their keys still empty."""
        return [f.path for f in self.files if f.action == "wrote" and f.kind == "secret"]


@dataclass(frozen=True)
class _Planned:
    path: Path
    text: str
    mode: int
    what: str
    kind: Kind


def _template(name: str) -> str:
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def config_text(market: str, broker: str, today: date | None = None) -> str:
    """The commented config for ``market`` and ``broker``."""
    info = MARKETS[market]
    broker_label = {"kite": "Zerodha Kite Connect", "ibkr": "Interactive Brokers", "none": "no broker"}[broker]
    parts = {
        "TITLE": f"{info.label}, {broker_label}; written {(today or date.today()).isoformat()}",
        "MARKET": _template(f"market-{market}.yaml.tmpl"),
        "BROKER": _template(f"broker-{broker}.yaml.tmpl"),
        "FILLS": _FILLS_NOTE[broker],
        "CHANNEL": _template(f"channel-{market}.yaml.tmpl"),
    }
    text = _template("config.yaml.tmpl")
    for key, value in parts.items():
        text = text.replace(f"@@{key}@@", value)
    return text


def _plan(folder: Path, market: str, broker: str) -> list[_Planned]:
    from core.fileperms import file_mode, folder_mode

    engine = resources.files(__package__).joinpath("placeholder_engine.py").read_text(encoding="utf-8")
    # tradeday's files are private (core/fileperms.py); the engine is executable by its owner too.
    planned = [
        _Planned(folder / CONFIG_NAME, config_text(market, broker), file_mode(), "config", "config"),
        _Planned(folder / ENGINE_PATH, engine, folder_mode(), "a placeholder engine: replace it with yours",
                 "engine"),
    ]
    for name, template, key in _SECRETS.get(broker, []):
        planned.append(_Planned(folder / "secrets" / name, _template(template), SECRET_FILE_MODE,
                                f"secrets: fill in {key}=", "secret"))
    return planned


def _check_target(folder: Path, planned: list[_Planned], force: bool) -> None:
    """UsageError (exit 2) before anything is written: a file in the way, or files to overwrite."""
    for path in {folder, *folder.parents, *(p.path.parent for p in planned)}:
        if path.exists() and not path.is_dir():
            raise UsageError(f"{path} exists and is not a folder; choose another DIR for tradeday init")
    for p in planned:
        if p.path.is_dir():
            raise UsageError(f"{p.path} is a folder; move it away first")
    existing = [p.path for p in planned if p.kind != "secret" and p.path.exists()]
    if existing and not force:
        names = ", ".join(str(p) for p in existing)
        raise UsageError(f"{names} already exist{'s' if len(existing) == 1 else ''}; nothing written",
                         hint="add --force to overwrite (secrets files and .gitignore lines are kept)")


def _merge_gitignore(path: Path) -> WrittenFile:
    from core.fileperms import file_mode

    try:
        before = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = "# tradeday: keys and tokens, and what runs write (logs, state, fills, reports)\n"
        atomic_write_text(path, text + "".join(f"{line}\n" for line in GITIGNORE_LINES), mode=file_mode())
        return WrittenFile(path, "wrote", "gitignore", ", ".join(GITIGNORE_LINES))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}; add {', '.join(GITIGNORE_LINES)} to it by hand") from None
    present = {line.strip() for line in before.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in present and "/" + line not in present]
    if not missing:
        return WrittenFile(path, "unchanged", "gitignore", "already ignores " + ", ".join(GITIGNORE_LINES))
    text = before + ("" if before.endswith("\n") or not before else "\n")
    text += "# added by tradeday init\n" + "".join(f"{line}\n" for line in missing)
    atomic_write_text(path, text, mode=stat.S_IMODE(path.stat().st_mode))
    return WrittenFile(path, "updated", "gitignore", "added " + ", ".join(missing))


def write_scaffold(folder: Path, market: str, broker: str | None = None, *, force: bool = False) -> Scaffold:
    """Write a new setup into ``folder`` (created if missing); UsageError for a bad market or
    broker, or when files exist (without ``force``): then nothing is written."""
    if market not in MARKETS:
        raise UsageError(f"--market {market!r}: choose one of {', '.join(MARKETS)}")
    chosen = broker or MARKETS[market].broker
    if chosen not in BROKERS:
        raise UsageError(f"--broker {chosen!r}: choose one of {', '.join(BROKERS)}")
    folder = Path(os.path.abspath(folder.expanduser()))  # absolute, symlinks kept as the user wrote them
    planned = _plan(folder, market, chosen)
    _check_target(folder, planned, force)
    written: list[WrittenFile] = []
    current = folder
    try:
        for p in planned:
            current = p.path
            written.append(_write_one(p))
        current = folder / ".gitignore"
        written.append(_merge_gitignore(current))
    except OSError as exc:
        raise _write_failed(current, exc, written) from None
    return Scaffold(folder=folder, config=folder / CONFIG_NAME, market=market, broker=chosen, files=written)


def _write_one(p: _Planned) -> WrittenFile:
    if p.kind == "secret":
        if p.path.exists():
            return WrittenFile(p.path, "kept", p.kind, "secrets: it exists, never overwritten")
        if not p.path.parent.exists():
            p.path.parent.mkdir(mode=SECRET_FOLDER_MODE, parents=True)
            os.chmod(p.path.parent, SECRET_FOLDER_MODE)
    # Atomic (a failure leaves no half file), and a secrets file is 0600 from its first byte.
    atomic_write_text(p.path, p.text, mode=p.mode)
    return WrittenFile(p.path, "wrote", p.kind, p.what)


def _write_failed(path: Path, exc: OSError, written: list[WrittenFile]) -> UsageError:
    """A read-only or full disk, a folder of someone else's: one line, and what is there already."""
    done = [str(f.path) for f in written if f.action in ("wrote", "updated")]
    so_far = f"; already written: {', '.join(done)} (run again with --force once fixed)" if done else "; nothing written"
    return UsageError(f"cannot write {path}: {exc.strerror or exc}{so_far}",
                      hint="choose a folder you can write to, on a disk with free space")
