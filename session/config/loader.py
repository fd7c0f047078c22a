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
from session.config.models import TRADEDAY_SECTIONS, TradedayConfig
from session.config.source import CONFIG_ENV_VAR as CONFIG_ENV_VAR  # re-exported: callers import it here
from session.config.source import DEFAULT_CONFIG_PATH as DEFAULT_CONFIG_PATH
from session.config.source import default_config_path, read_source
from session.notify.config import secret_values as notification_secrets
from session.yamlsource import YamlSource, read_config_text


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
    source, notification_env, env_paths = read_source(cfg_path, text, environ)
    config = _validated(source)
    for value in notification_secrets(config.notifications):
        GLOBAL_REDACTOR.add(value)

    config._loaded_from(cfg_path.resolve(), source.text)
    config._notification_env = notification_env
    config._env_paths = env_paths
    config.warnings.extend(_section_typo_warnings(config, source))
    return config


def record_history(config: TradedayConfig) -> str | None:
    """Keep ``config`` in its config history; None, or the warning saying why it could not."""
    from session.config_history import record_quietly

    return record_quietly(config, config.config_history_dir)
