"""Loading a config file: read it with positions, substitute ``${VAR}``, register secrets,
validate, and warn about probable typos of section names. Loading never writes; keeping a
version in the config history is :func:`record_history`, for the commands that checked the
artifacts folder first.

Rules (README "Configuration"):
- Relative paths resolve against ``root``; ``root`` itself (default ".") resolves against the
  directory holding the config file. Nothing depends on the working directory, because cron
  starts commands in $HOME.
- ``${VAR}`` / ``${VAR:-default}`` in tradeday's own sections come from the environment; every
  value taken from the environment is treated as a secret (registered with the redactor).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import ConfigValidationError
from core.redact import GLOBAL_REDACTOR
from core.suggest import within_edits
from session.config.errors import validation_messages
from session.config.masking import is_secret_path, leaves
from session.config.models import TRADEDAY_SECTIONS, TradedayConfig
from session.notify.config import secret_values as notification_secrets
from session.validation import loc_text
from session.yamlsource import MissingVariable, YamlSource, interpolate, read_config_text

DEFAULT_CONFIG_PATH = "configs/dev.yaml"
CONFIG_ENV_VAR = "TRADEDAY_CONFIG"


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)


class _RecordingEnviron:
    """The environment as ``interpolate`` reads it, noting the names it took a value from."""

    def __init__(self, environ: Any, names: set[str]) -> None:
        self._environ = environ
        self._names = names

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self._environ.get(name, default)
        if value is not None:
            self._names.add(name)
        return value


def _interpolate_tradeday_sections(source: YamlSource, environ: Any,
                                   from_env: set[tuple[str | int, ...]]) -> frozenset[str]:
    """Substitute ``${VAR}`` in tradeday's sections (not the engine's) of ``source.data``.

    Returns the variables the ``notifications`` section took values from: their values are
    tradeday's secrets, kept out of the engines' environment (docs/ENGINE.md). Adds to
    ``from_env`` the key path of every value that took something from the environment."""
    found: list[str] = []
    notification_names: set[str] = set()
    notification_environ = _RecordingEnviron(environ, notification_names)

    def visit(node: Any, path: tuple[str | int, ...]) -> None:
        if not path or path[0] not in TRADEDAY_SECTIONS or "$" not in str(node.value):
            return
        if node.tag != "tag:yaml.org,2002:str":
            return
        before = len(found)
        try:
            new = interpolate(node.value, notification_environ if path[0] == "notifications" else environ, found)
        except MissingVariable as missing:
            raise ConfigValidationError(
                source.locate(path, f"{loc_text(path)}: environment variable {missing.name} is not set"),
                hint=f"export {missing.name}=... or write ${{{missing.name}:-default}}",
            ) from None
        target = source.data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = new
        if len(found) > before:
            from_env.add(path)

    source.walk_scalars(visit)
    for value in found:
        GLOBAL_REDACTOR.add(value)
    return frozenset(notification_names)


def _register_inline_secrets(data: Any) -> None:
    """Every secret written in the file itself (``is_secret_path``) goes to the redactor;
    paths (``secrets_file``) do not: they are no secret."""
    for path, value in leaves(data):
        if isinstance(value, str) and is_secret_path(path):
            GLOBAL_REDACTOR.add(value)
            GLOBAL_REDACTOR.add(value.strip())


def _validated(source: YamlSource) -> TradedayConfig:
    try:
        return TradedayConfig.model_validate(source.data)
    except ValidationError as exc:
        messages = validation_messages(exc, source)
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        err = ConfigValidationError(messages[0] + more, hint="fix the value at that line; see README 'Configuration'")
        err.details = messages  # type: ignore[attr-defined]  # every message: cli.main prints them all
        raise err from None


def _section_typo_warnings(config: TradedayConfig, source: YamlSource) -> list[str]:
    """An engine-owned section named like one of tradeday's is probably a typo of it."""
    warnings = []
    for key in config.model_extra or {}:
        near = within_edits(key, TRADEDAY_SECTIONS, 2)
        if near:
            warnings.append(
                source.locate((key,), f"unknown section '{key}' (did you mean '{near[0]}'?); "
                                      "it is passed to the engine untouched")
            )
    return warnings


def load_config(path: str | os.PathLike[str] | None = None, *, environ: Any = None,
                record: bool = False) -> TradedayConfig:
    """Load, interpolate and validate a config file; raise ConfigError (exit 3) on any problem.

    Loading writes nothing. ``record=True`` (for callers that know the artifacts folder is
    usable, such as a run's hot reload) also keeps the file in the config history; a failure
    to do so is logged as a warning, never raised.
    """
    cfg_path = Path(path) if path is not None else default_config_path()
    config = config_from_text(cfg_path, read_config_text(cfg_path), environ=environ)
    if record:
        problem = record_history(config)
        if problem:
            logging.getLogger("tradeday.config").warning("%s", problem)
    return config


def config_from_text(cfg_path: Path, text: str, *, environ: Any = None) -> TradedayConfig:
    """The config that ``text`` would be as the file ``cfg_path`` (ConfigManager.save checks
    what it is about to write with it); ConfigError as load_config."""
    source = YamlSource(cfg_path, text)
    if not isinstance(source.data, dict):
        raise ConfigValidationError(f"{cfg_path}:1 the config must be a mapping of sections "
                                    "(version, mode, market, ...)")
    for key in source.data:
        if not isinstance(key, str):
            raise ConfigValidationError(source.locate((key,), f"section names must be text, not {key!r}"))
    env_paths: set[tuple[str | int, ...]] = set()
    notification_env = _interpolate_tradeday_sections(source, os.environ if environ is None else environ, env_paths)
    _register_inline_secrets({k: v for k, v in source.data.items() if k in TRADEDAY_SECTIONS})

    config = _validated(source)
    for value in notification_secrets(config.notifications):
        GLOBAL_REDACTOR.add(value)

    config._loaded_from(cfg_path.resolve(), source.text)
    config._notification_env = notification_env
    config._env_paths = frozenset(env_paths)
    config.warnings.extend(_section_typo_warnings(config, source))
    return config


def record_history(config: TradedayConfig) -> str | None:
    """Keep ``config`` in its config history; None, or the warning saying why it could not."""
    from session.config_history import record_quietly

    return record_quietly(config, config.config_history_dir)
