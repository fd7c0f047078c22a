"""Loading a config file: read it with positions, substitute ``${VAR}``, register secrets,
validate, warn about probable typos of section names, and optionally keep it in the history.

Rules (README "Configuration"):
- Relative paths resolve against ``root``; ``root`` itself (default ".") resolves against the
  directory holding the config file. Nothing depends on the working directory, because cron
  starts commands in $HOME.
- ``${VAR}`` / ``${VAR:-default}`` in tradeday's own sections come from the environment; every
  value taken from the environment is treated as a secret (registered with the redactor).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import ConfigError
from core.redact import GLOBAL_REDACTOR
from core.suggest import within_edits
from session.config.errors import validation_messages
from session.config.masking import SECRET_KEY_PATTERN
from session.config.models import TRADEDAY_SECTIONS, TradedayConfig
from session.notify.config import secret_values as notification_secrets
from session.validation import loc_text
from session.yamlsource import MissingVariable, YamlSource, interpolate

DEFAULT_CONFIG_PATH = "configs/dev.yaml"
CONFIG_ENV_VAR = "TRADEDAY_CONFIG"


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)


def _interpolate_tradeday_sections(source: YamlSource, environ: Any) -> None:
    """Substitute ``${VAR}`` in tradeday's sections (not the engine's) of ``source.data``."""
    found: list[str] = []

    def visit(node: Any, path: tuple[str | int, ...]) -> None:
        if not path or path[0] not in TRADEDAY_SECTIONS or "$" not in str(node.value):
            return
        if node.tag != "tag:yaml.org,2002:str":
            return
        try:
            new = interpolate(node.value, environ, found)
        except MissingVariable as missing:
            raise ConfigError(
                source.locate(path, f"{loc_text(path)}: environment variable {missing.name} is not set"),
                hint=f"export {missing.name}=... or write ${{{missing.name}:-default}}",
            ) from None
        target = source.data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = new

    source.walk_scalars(visit)
    for value in found:
        GLOBAL_REDACTOR.add(value)


def _register_inline_secrets(data: Any, key: str = "") -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            _register_inline_secrets(v, str(k))
    elif isinstance(data, list):
        for v in data:
            _register_inline_secrets(v, key)
    elif isinstance(data, str) and SECRET_KEY_PATTERN.search(key):
        GLOBAL_REDACTOR.add(data)


def _validated(source: YamlSource) -> TradedayConfig:
    try:
        return TradedayConfig.model_validate(source.data)
    except ValidationError as exc:
        messages = validation_messages(exc, source)
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        err = ConfigError(messages[0] + more, hint="fix the value at that line; see README 'Configuration'")
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

    ``record=True`` keeps the file in the config history (session.config_history).
    """
    cfg_path = Path(path) if path is not None else default_config_path()
    source = YamlSource.read(cfg_path)
    if not isinstance(source.data, dict):
        raise ConfigError(f"{cfg_path}:1 the config must be a mapping of sections (version, mode, market, ...)")
    for key in source.data:
        if not isinstance(key, str):
            raise ConfigError(source.locate((key,), f"section names must be text, not {key!r}"))
    _interpolate_tradeday_sections(source, os.environ if environ is None else environ)
    _register_inline_secrets({k: v for k, v in source.data.items() if k in TRADEDAY_SECTIONS})

    config = _validated(source)
    for value in notification_secrets(config.notifications):
        GLOBAL_REDACTOR.add(value)

    config._loaded_from(cfg_path.resolve(), source.text)
    config.warnings.extend(_section_typo_warnings(config, source))
    if record:
        from session.config_history import ConfigHistory

        ConfigHistory(config.config_history_dir).record(config)
    return config
