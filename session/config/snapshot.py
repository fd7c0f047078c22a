"""The validated values ``tradeday status`` reads, kept from the last full load of the same
file with the same environment, so that status starts without pydantic (issue 15: the models
cost ~0.2 s of every start that validates).

Both ways run :mod:`session.config.source` first: read the file, substitute ``${VAR}``, register
the secrets. The snapshot is keyed by what validation sees, the interpolated data (so the file's
bytes and every variable it reads), the config file's resolved path, and the code that
validates (tradeday's config modules, pydantic's installation, Python's version). On a match
the view answers from the kept values; anything else (no snapshot, another key, a damaged or
untrusted file) is the full load, which also writes the snapshot. Where things are (the root,
the folders, the journal file) is computed on each start by the functions TradedayConfig's own
properties use, from the validated ``root`` and ``paths``; an attribute the snapshot does not
keep loads the config fully (the view never guesses).

Kept: no secret. A config is not snapshotted when a kept value came from the environment, when
``paths.group`` is set (validation asks the system for the group), or with
``market.special_sessions``; the notifications' secrets are kept as places in the interpolated
data (key path, start, end), taken from there again on each start. Files are this user's own
(core/cachedir.py), written atomically.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import sys
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from core.cachedir import private_subfolder, trusted
from core.redact import GLOBAL_REDACTOR
from session.config.source import (
    default_config_path,
    folder_in,
    journal_file,
    read_source,
    resolve_in,
    root_dir_of,
)
from session.yamlsource import read_config_text

if TYPE_CHECKING:
    from session.config.models import TradedayConfig

log = logging.getLogger("tradeday.config")

SNAPSHOT_VERSION = 1
FOLDER = "config-snapshots"
_HERE = Path(__file__).resolve().parent
# What decides the validated values: a change to any of these is another key.
_CODE = (*sorted(_HERE.glob("*.py")), _HERE.parent / "yamlsource.py", _HERE.parent / "validation.py",
         _HERE.parent / "notify" / "config.py", _HERE.parent.parent / "core" / "durations.py")
_KEPT_SECTIONS = ("root", "market", "paths", "reports", "session")


def load_config_cached(path: str | os.PathLike[str] | None = None) -> TradedayConfig:
    """``load_config(path)``, answered from the snapshot when it matches (a view with the
    attributes status reads), else loaded fully and snapshotted. Errors as load_config."""
    cfg_path = Path(path) if path is not None else default_config_path()
    text = read_config_text(cfg_path)
    source, _, _ = read_source(cfg_path, text)  # the loader's own first half: its errors, its secrets
    resolved = cfg_path.resolve()
    key = _key(resolved, source.data)
    file = _snapshot_file(resolved)
    kept = _read(file, key) if file is not None else None
    if kept is not None:
        secrets = _secrets_at(source.data, kept["secret_spans"])
        if secrets is not None:
            for value in secrets:
                GLOBAL_REDACTOR.add(value)
            return cast("TradedayConfig", ConfigView(resolved, kept["values"]))
    from session.config import load_config

    config = load_config(cfg_path)
    if file is not None:
        _write(file, key, config, source.data)
    return config


def _key(resolved: Path, data: Any) -> str:
    digest = hashlib.sha256()
    for part in (str(SNAPSHOT_VERSION), sys.version, str(resolved), repr(data)):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for code in _CODE:
        try:
            digest.update(code.read_bytes())
        except OSError:
            digest.update(b"missing")
    for package in ("pydantic", "pydantic_core"):  # where and which: an upgrade is another key
        spec = importlib.util.find_spec(package)
        origin = Path(spec.origin) if spec and spec.origin else None
        try:
            st = origin.stat() if origin else None
        except OSError:
            st = None
        digest.update(f"{origin}:{st and st.st_size}:{st and st.st_mtime_ns}".encode())
    return digest.hexdigest()


def _snapshot_file(resolved: Path) -> Path | None:
    folder = private_subfolder(FOLDER)
    if folder is None:
        return None
    return folder / (hashlib.sha256(str(resolved).encode("utf-8", "surrogatepass")).hexdigest()[:32] + ".json")


def _read(file: Path, key: str) -> dict[str, Any] | None:
    """The kept values for ``key``; None when missing, another key's, damaged or not trusted."""
    try:
        with open(file, "rb") as fh:
            if not trusted(os.fstat(fh.fileno())):
                return None
            kept = json.loads(fh.read())
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("key") != key or kept.get("version") != SNAPSHOT_VERSION:
        return None
    if not isinstance(kept.get("values"), dict) or not isinstance(kept.get("secret_spans"), list):
        return None
    try:
        _revive(kept["values"])  # every value it will be asked for must make sense now
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return kept


def _write(file: Path, key: str, config: TradedayConfig, data: Any) -> None:
    """Keep what status reads of ``config``, when nothing in it is a secret (best effort)."""
    from core.fsutil import atomic_write_json
    from session.notify.config import secret_values

    if config.paths.group is not None or config.market.special_sessions:
        return
    if any(p and p[0] in _KEPT_SECTIONS for p in config.env_paths):
        return  # a value from the environment is a secret: not written to disk
    spans = _spans_of(data, secret_values(config.notifications))
    if spans is None:
        return
    m = config.market
    values = {
        "root": config.root, "warnings": list(config.warnings),
        "paths": {name: getattr(config.paths, name) for name in ("artifacts", "logs", "state", "reports", "journal")},
        "market": {"calendar": m.calendar, "timezone": m.timezone,
                   "hours": [m.hours.open.isoformat(), m.hours.close.isoformat()] if m.hours else None,
                   "pre_market": _window(m.pre_market), "post_market": _window(m.post_market),
                   "extra_holidays": [[d.isoformat(), name] for d, name in m.extra_holidays.items()]},
        "reports": {"currency": config.reports.currency, "carry": config.reports.carry},
        "session": {"max_daily_loss": None if config.session.max_daily_loss is None
                    else str(config.session.max_daily_loss)},
    }
    try:
        atomic_write_json(file, {"version": SNAPSHOT_VERSION, "key": key, "values": values, "secret_spans": spans},
                          mode=0o600)
    except OSError as exc:  # only speed is lost
        log.debug("config snapshot not written to %s: %s", file, exc)


def _window(window: Any) -> list[str] | None:
    return None if window is None else [window.start.isoformat(), window.end.isoformat()]


def _string_leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _string_leaves(v, (*path, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _string_leaves(v, (*path, i))]
    return [(path, value)] if isinstance(value, str) else []


def _spans_of(data: Any, secrets: list[str]) -> list[list[Any]] | None:
    """Where each secret is in the interpolated data (key path, start, end); None when one is
    not a piece of any text there (then the config is not snapshotted)."""
    leaves = _string_leaves(data.get("notifications")) if isinstance(data, dict) else []
    spans = []
    for secret in secrets:
        for path, text in leaves:
            at = text.find(secret)
            if at >= 0 and all(isinstance(p, (str, int)) for p in path):
                spans.append([["notifications", *path], at, at + len(secret)])
                break
        else:
            return None
    return spans


def _secrets_at(data: Any, spans: list[Any]) -> list[str] | None:
    values = []
    for span in spans:
        try:
            path, start, end = span
            node = data
            for part in path:
                node = node[part]
            if not isinstance(node, str) or not 0 <= start < end <= len(node):
                return None
            values.append(node[start:end])
        except (TypeError, ValueError, KeyError, IndexError):
            return None
    return values


class _Section:
    """One kept section; an attribute it does not keep comes from the fully loaded config."""

    def __init__(self, view: ConfigView, name: str, values: dict[str, Any]) -> None:
        self._view, self._name, self._values = view, name, values

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        return getattr(getattr(self._view.full(), self._name), name)


def _revive(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The kept JSON as the types the model has (times, dates, Decimal)."""
    m = values["market"]

    def pair(v: list[str] | None) -> tuple[time, time] | None:
        return None if v is None else (time.fromisoformat(v[0]), time.fromisoformat(v[1]))

    hours, pre, post = pair(m["hours"]), pair(m["pre_market"]), pair(m["post_market"])
    limit = values["session"]["max_daily_loss"]
    from types import SimpleNamespace

    return {
        "market": {"calendar": str(m["calendar"]), "timezone": m["timezone"],
                   "hours": hours and SimpleNamespace(open=hours[0], close=hours[1]),
                   "pre_market": pre and SimpleNamespace(start=pre[0], end=pre[1]),
                   "post_market": post and SimpleNamespace(start=post[0], end=post[1]),
                   "extra_holidays": {date.fromisoformat(d): str(n) for d, n in m["extra_holidays"]},
                   "special_sessions": {}},
        "paths": {**{k: values["paths"][k] for k in ("artifacts", "logs", "state", "reports", "journal")},
                  "group": None},
        "reports": {"currency": values["reports"]["currency"], "carry": bool(values["reports"]["carry"])},
        "session": {"max_daily_loss": None if limit is None else Decimal(limit)},
    }


class ConfigView:
    """What ``tradeday status`` reads of a TradedayConfig, from a snapshot. Where things are is
    computed as TradedayConfig computes it (session.config.source); anything else not kept
    loads the config fully, once."""

    def __init__(self, path: Path, values: dict[str, Any]) -> None:
        self.path = path
        self.root: str | None = values["root"]
        self.warnings: list[str] = list(values["warnings"])
        revived = _revive(values)
        self.market = _Section(self, "market", revived["market"])
        self.paths = _Section(self, "paths", revived["paths"])
        self.reports = _Section(self, "reports", revived["reports"])
        self.session = _Section(self, "session", revived["session"])
        self._full: TradedayConfig | None = None

    def full(self) -> TradedayConfig:
        if self._full is None:
            from session.config import load_config

            log.debug("config %s: loading fully for an attribute the snapshot does not keep", self.path)
            self._full = load_config(self.path)
        return self._full

    def __getattr__(self, name: str) -> Any:  # only for names not set above
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.full(), name)

    @property
    def root_dir(self) -> Path:
        return root_dir_of(self.path, self.root)

    def resolve(self, p: str | os.PathLike[str]) -> Path:
        return resolve_in(self.root_dir, p)

    @property
    def artifacts_dir(self) -> Path:
        return self.resolve(self.paths.artifacts)

    def _derived(self, configured: str | None, name: str) -> Path:
        return folder_in(self.root_dir, self.artifacts_dir, configured, name)

    @property
    def logs_dir(self) -> Path:
        return self._derived(self.paths.logs, "logs")

    @property
    def state_dir(self) -> Path:
        return self._derived(self.paths.state, "state")

    @property
    def reports_dir(self) -> Path:
        return self._derived(self.paths.reports, "reports")

    @property
    def journal_dir(self) -> Path:
        return self._derived(self.paths.journal, "journal")

    def journal_path(self, day: date) -> Path:
        return journal_file(self.journal_dir, day)
