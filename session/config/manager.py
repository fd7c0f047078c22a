"""``ConfigManager``: copilot_quant's orchestrator API over load_config and the config history.

``ConfigManager(path, enable_versioning=True)``; ``load()``, ``reload()``,
``save(config, create_version=True)``, ``list_versions()``, ``get_version(id)``,
``diff(a, b)``, ``restore_version(id)``. Versions are the config history's
(``{artifacts}/config-history/``, session/config_history.py), the same ones
``tradeday config history`` lists.

Errors are ConfigError (exit 3 in the CLI) and also the built-in types copilot_quant's
users catch: a missing file is a ``FileNotFoundError`` (ConfigNotFoundError), an invalid
config a ``ValueError`` (ConfigValidationError).
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError, ConfigValidationError
from session.config.loader import config_from_text, default_config_path, load_config, record_history

if TYPE_CHECKING:
    from session.config.models import TradedayConfig
    from session.config_history import ConfigHistory

log = logging.getLogger("tradeday.config")


def _unwritable(path: Path, loc: tuple[str | int, ...]) -> ConfigValidationError:
    from session.validation import loc_text

    return ConfigValidationError(
        f"{path}: not saved (the file is unchanged): {loc_text(loc)} cannot be written in the form "
        "this file gives it", hint="change that key in the file by hand")


class ConfigManager:
    """Load, save and version one config file, as copilot_quant's ConfigManager does."""

    def __init__(self, config_path: str | os.PathLike[str] | None = None, enable_versioning: bool = True,
                 version_dir: str | os.PathLike[str] | None = None, *, record: bool | None = None) -> None:
        self.path = Path(config_path) if config_path is not None else default_config_path()
        self.config_path = self.path  # copilot_quant's attribute name
        self.enable_versioning = enable_versioning if record is None else record
        self.version_dir = Path(version_dir) if version_dir is not None else None
        self.config: TradedayConfig | None = None

    # --- loading ------------------------------------------------------------------------------

    def load(self) -> TradedayConfig:
        """Load and validate the file (ConfigNotFoundError, ConfigValidationError); with
        versioning, keep this version in the history (a failure to is a logged warning)."""
        config = load_config(self.path)
        if self.enable_versioning:
            self._record(config)
        self.config = config
        return config

    def reload(self) -> TradedayConfig:
        """Load again; on error the previous config stays current and the error is raised."""
        return self.load()

    def get_current_config(self) -> TradedayConfig | None:
        return self.config

    # --- saving -------------------------------------------------------------------------------

    def save(self, config: TradedayConfig, create_version: bool = True) -> Path:
        """Write the values of ``config`` that differ from the file, keeping everything else
        of the file as it is (comments, order, quoting, layout).

        The new text is validated first, as ``load`` would read it; an invalid config raises
        ConfigValidationError and the file is not touched. The file is replaced atomically,
        with its permissions. With versioning (and ``create_version``), the version before
        and the version after are kept in the config history.
        """
        from core.fsutil import atomic_write_text
        from session.config.saving import view
        from session.yamlsource import read_config_text

        target = Path(os.path.realpath(self.path))  # a symlinked config stays a symlink
        current_text = read_config_text(self.path)
        current = self._valid_or_none(current_text)
        base = self._base(config, current_text, current)
        new_text = self._new_text(current_text, base, config)
        if new_text is None:
            self.config = current or self.config
            return self.path
        try:
            saved = config_from_text(self.path, new_text)
        except ConfigError as exc:
            raise ConfigValidationError(f"not saved (the file is unchanged): {exc.message}", hint=exc.hint) from None
        self._check_written(base, config, saved, view)
        if self.enable_versioning and create_version and current is not None:
            self._record(current)
        atomic_write_text(target, new_text, mode=stat.S_IMODE(target.stat().st_mode))
        if self.enable_versioning and create_version:
            self._record(saved)
        self.config = saved
        return self.path

    def _valid_or_none(self, text: str) -> TradedayConfig | None:
        try:
            return config_from_text(self.path, text)
        except ConfigError:
            return None  # a broken file can still be repaired by saving a valid config over its values

    def _base(self, config: TradedayConfig, current_text: str,
              current: TradedayConfig | None) -> TradedayConfig:
        """What ``config`` started as: the text it was loaded from, so that only the caller's
        changes are written (an edit made to the file meanwhile stays)."""
        if config.text and config.path is not None and config.path == self.path.resolve():
            if config.text == current_text and current is not None:
                return current
            try:
                return config_from_text(self.path, config.text)
            except ConfigError:
                pass
        if current is None:
            raise ConfigValidationError(
                f"{self.path}: not saved: the file does not load, so there is nothing to compare the config with",
                hint="fix the file by hand (tradeday config validate names the line), then save again")
        return current

    def _new_text(self, text: str, base: TradedayConfig, config: TradedayConfig) -> str | None:
        from session.config.saving import (
            Unwritable,
            changes,
            file_changes,
            patched_text,
            restructured_text,
            view,
            written_value,
        )
        from session.yamlsource import YamlSource

        new_view = view(config)
        edits = changes(view(base), new_view)
        if not edits:
            return None
        minimal = view(config, minimal=True)
        source = YamlSource(self.path, text)
        file_edits = file_changes([(loc, written_value(loc, value, minimal)) for loc, value in edits],
                                  source.data, minimal)
        patched = patched_text(source, file_edits)
        if patched is not None:
            return patched
        try:
            return restructured_text(text, file_edits)
        except Unwritable as exc:
            raise _unwritable(self.path, exc.loc) from None

    def _check_written(self, base: TradedayConfig, config: TradedayConfig, saved: TradedayConfig,
                       view: Any) -> None:
        """Every change reads back as the caller set it, or nothing is written (a key the
        file writes in a form save cannot express, such as copilot_quant's short notifications)."""
        from session.config.saving import DELETE, at, changes

        wanted, got = view(config), view(saved)
        for loc, value in changes(view(base), wanted):
            found, now = at(got, loc)
            if (value is DELETE and found) or (value is not DELETE and (not found or now != value)):
                raise _unwritable(self.path, loc)

    # --- versions -----------------------------------------------------------------------------

    def _history(self) -> ConfigHistory:
        from session.config_history import ConfigHistory

        if self.version_dir is not None:
            return ConfigHistory(self.version_dir)
        cfg = self.config or load_config(self.path)
        return ConfigHistory(cfg.config_history_dir)

    def _record(self, config: TradedayConfig) -> None:
        if self.version_dir is not None:
            from session.config_history import record_quietly

            problem = record_quietly(config, self.version_dir)
        else:
            problem = record_history(config)
        if problem:
            log.warning("%s", problem)

    def list_versions(self) -> list[dict[str, Any]]:
        """The versions kept, newest use first: ``{id, sha256, path, first_seen, last_used,
        sources, uses}`` (``id`` is the short hash ``get_version`` and ``diff`` take)."""
        history = self._history()
        rows = history.versions()
        for row in rows:
            row["id"] = row["sha256"][:12]
            row["path"] = history.folder / f"{row['sha256']}.yaml"
        return rows

    def get_version(self, version_id: str) -> TradedayConfig:
        """The config of a kept version (a hash prefix of 4+ characters, or a file path), read
        as if it were this manager's file."""
        _label, text = self._history().resolve(version_id)
        return config_from_text(self.path, text)

    def diff(self, a: str, b: str) -> list[str]:
        """The unified diff between two versions (hash prefixes or files), secrets masked;
        empty when they do not differ."""
        from session.config.masking import masked_diff

        return masked_diff(self._history(), a, b)

    def restore_version(self, version_id: str) -> TradedayConfig:
        """Put a kept version back as the file (validated first; the current one is kept)."""
        from core.fsutil import atomic_write_text

        _label, text = self._history().resolve(version_id)
        config_from_text(self.path, text)  # ConfigValidationError before anything is written
        target = Path(os.path.realpath(self.path))
        if self.enable_versioning:
            current = self._valid_or_none(target.read_text(encoding="utf-8")) if target.exists() else None
            if current is not None:
                self._record(current)
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else None
        atomic_write_text(target, text, mode=mode)
        return self.reload()
