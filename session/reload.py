"""Hot reload of the config while ``tradeday run`` trades, off the supervision thread.

A thread of its own watches the config file, and loads and validates a changed one (the loader
bounds its size and its YAML aliases; a read that never returns blocks only this thread). The
supervision loop only picks up a finished result (:meth:`ConfigWatcher.take`, never blocking)
and applies it with :func:`plan_reload`:

* **Reloadable** (applied at once): ``notifications``, ``session.heartbeat_interval``,
  ``session.stop_after_close``, and each engine's restart policy (``restart``,
  ``max_restarts``, ``backoff``, ``no_restart_exit_codes``, ``start_secs``, ``hang_timeout``,
  ``stop_timeout``).
* **Everything else** tradeday reads (``mode``, ``root``, ``paths``, ``market``, ``broker``,
  ``eod``, ``reports``, ``checks``, other ``session`` keys, an engine's ``command``, ``cwd``,
  ``env``, signals, engines added or removed) is refused with a ``config_rejected`` event naming
  the keys: it takes effect at the next run. Applying ``paths.artifacts`` halfway through a day
  would send the end of day to an empty journal while the day's fills sit in the old one.

The engine's own sections (``strategy``, ``risk``, ...) are the engine's business: tradeday
neither applies nor refuses them.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from session.config import TradedayConfig

log = logging.getLogger("tradeday.run")

RELOADABLE_SESSION_KEYS = ("heartbeat_interval", "stop_after_close")
RELOADABLE_ENGINE_KEYS = ("restart", "max_restarts", "backoff", "no_restart_exit_codes", "start_secs",
                          "hang_timeout", "stop_timeout", "console")
# How often the watcher looks at the file's mtime (a stat; nothing is read unless it changed).
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class LoadedChange:
    """What the watcher made of a changed file: the validated config, or why it is not one."""

    config: TradedayConfig | None
    error: str | None = None


@dataclass
class ReloadPlan:
    """A validated change seen against the running config."""

    merged: TradedayConfig  # the running config with the new one's reloadable keys
    applied: list[str] = field(default_factory=list)  # reloadable keys that changed
    rejected: list[str] = field(default_factory=list)  # other keys that changed: next run
    engines: dict[str, Any] = field(default_factory=dict)  # engine name -> its new EngineConfig


class ConfigWatcher:
    """Watches ``path`` on a daemon thread; loads a changed file there and keeps the latest result.

    ``on_change`` is called on the watcher thread with a short note when it starts loading a
    change (tradeday.log says so; a test waits for it). ``history_dir`` is the running config's
    config history, where each loaded version is kept (not the new file's, which may point
    elsewhere).
    """

    def __init__(self, path: Path, history_dir: Path, *, baseline: FileStamp | None = None,
                 poll: float = POLL_SECONDS) -> None:
        self.path = path
        self.history_dir = history_dir
        self.poll = poll
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._result: LoadedChange | None = None
        # The file as the running config was read from it: a change made before the watch
        # began (while waiting for the open) is still a change.
        self._mtime = baseline if baseline is not None else file_stamp(path)
        self._thread = threading.Thread(target=self._watch, name="tradeday-config-reload", daemon=True)

    def start(self) -> ConfigWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching. A load in progress is abandoned (the thread is a daemon)."""
        self._stop.set()

    def take(self) -> LoadedChange | None:
        """The latest finished result, once; None when nothing new is ready. Never blocks on the load."""
        with self._lock:
            result, self._result = self._result, None
        return result

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            now = file_stamp(self.path)
            if now is None or now == self._mtime:
                continue
            self._mtime = now
            log.info("config file changed (%s); loading it in the background", self.path)
            result = self._load()
            if self._stop.is_set():
                return
            with self._lock:
                self._result = result  # a newer change replaces one not yet picked up

    def _load(self) -> LoadedChange:
        from core.errors import TradedayError
        from session.config import load_config

        try:
            config = load_config(self.path)
        except TradedayError as exc:
            return LoadedChange(None, str(exc))
        except Exception as exc:  # the reload must never take the run down; the loop logs it
            return LoadedChange(None, f"{self.path}: cannot load ({exc.__class__.__name__}: {exc})")
        _record(config, self.history_dir)
        return LoadedChange(config)


FileStamp = tuple[int, int, int]


def file_stamp(path: Path | None) -> FileStamp | None:
    """(mtime, inode, size) of the config file: a rename over it counts as a change too."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ino, st.st_size)


def _record(config: TradedayConfig, history_dir: Path) -> None:
    from session.config_history import record_quietly

    problem = record_quietly(config, history_dir)
    if problem:
        log.warning("%s", problem)


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """Leaf key paths -> values. Empty (null, {}) counts as absent: ``env: {}`` becoming
    ``env: {X: 1}`` is the one change ``env.X``."""
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif value is not None:
        out[prefix] = value


def _changed(old: Any, new: Any, prefix: str) -> list[str]:
    """The key paths under ``prefix`` whose values differ (lists compare whole)."""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten(old, prefix, a)
    _flatten(new, prefix, b)
    return sorted(k for k in a.keys() | b.keys() if a.get(k, _MISSING) != b.get(k, _MISSING))


_MISSING = object()


def plan_reload(running: TradedayConfig, new: TradedayConfig) -> ReloadPlan:
    """Split the differences between ``running`` and ``new`` into applied and refused keys, and
    build the config to run with: ``running`` plus the reloadable keys of ``new``."""
    from session.config.models import TRADEDAY_SECTIONS

    old_data = running.model_dump(mode="json", include=set(TRADEDAY_SECTIONS))
    new_data = new.model_dump(mode="json", include=set(TRADEDAY_SECTIONS))
    plan = ReloadPlan(merged=running)
    for section in TRADEDAY_SECTIONS:
        if section in ("engines", "notifications", "session"):
            continue
        plan.rejected += _changed(old_data.get(section), new_data.get(section), section)
    if old_data["notifications"] != new_data["notifications"]:
        plan.applied.append("notifications")
    for key, value in old_data["session"].items():
        changed = _changed(value, new_data["session"].get(key), f"session.{key}")
        (plan.applied if key in RELOADABLE_SESSION_KEYS else plan.rejected).extend(changed)
    _plan_engines(plan, running, new, old_data["engines"], new_data["engines"])
    session = running.session.model_copy(
        update={k: getattr(new.session, k) for k in RELOADABLE_SESSION_KEYS})
    engines = [e.model_copy(update={k: getattr(plan.engines[e.name], k) for k in RELOADABLE_ENGINE_KEYS})
               if e.name in plan.engines else e for e in running.engines]
    plan.merged = running.model_copy(update={"notifications": new.notifications, "session": session,
                                             "engines": engines})
    return plan


def _plan_engines(plan: ReloadPlan, running: TradedayConfig, new: TradedayConfig,
                  old_list: list[dict[str, Any]], new_list: list[dict[str, Any]]) -> None:
    old_by_name = {e["name"]: e for e in old_list}
    new_by_name = {e["name"]: e for e in new_list}
    for name in old_by_name.keys() - new_by_name.keys():
        plan.rejected.append(f"engines[{name}] (removed)")
    for name in new_by_name.keys() - old_by_name.keys():
        plan.rejected.append(f"engines[{name}] (added)")
    entries = {e.name: e for e in new.engines}
    for name in old_by_name.keys() & new_by_name.keys():
        before, after = old_by_name[name], new_by_name[name]
        for key in sorted(before.keys() | after.keys()):
            changed = _changed(before.get(key), after.get(key), f"engines[{name}].{key}")
            if not changed:
                continue
            if key in RELOADABLE_ENGINE_KEYS:
                plan.applied.append(f"engines[{name}].{key}")
                plan.engines[name] = entries[name]
            else:
                plan.rejected.extend(changed)


def describe_rejected(keys: list[str], limit: int = 12) -> str:
    shown = ", ".join(keys[:limit]) + (f" and {len(keys) - limit} more" if len(keys) > limit else "")
    return f"{shown}: takes effect at the next run (not applied now)"

