"""tradeday's configuration: one YAML file validated into typed models.

Rules (README "Configuration"):
- Relative paths resolve against ``root``; ``root`` itself (default ".") resolves against the
  directory holding the config file. Nothing depends on the working directory, because cron
  starts commands in $HOME.
- ``${VAR}`` / ``${VAR:-default}`` in tradeday's own sections come from the environment; every
  value taken from the environment is treated as a secret (registered with the redactor).
- Engine-owned sections (``strategy``, ``risk``, anything not tradeday's) pass through
  untouched: the engine reads the same file.

Modules: ``fields`` (base model, value types), ``engines`` (engines and end-of-day steps),
``models`` (the other sections and the whole file), ``errors`` (pydantic errors as
``file:line`` messages), ``loader`` (load_config), ``manager`` (ConfigManager), ``masking``
(secrets masked for show/diff).
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any


@contextmanager
def _no_pydantic_plugins() -> Iterator[None]:
    previous = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PYDANTIC_DISABLE_PLUGINS", None)
        else:
            os.environ["PYDANTIC_DISABLE_PLUGINS"] = previous

# The names load on first use (PEP 562), so that ``session.config.source`` and
# ``session.config.snapshot`` (tradeday status) import without the models. The models are
# built on that first use, with pydantic's plugin lookup off: without it pydantic would look
# for plugins among every installed distribution's entry points (importlib.metadata: ~20 ms of
# every config-reading command's start); tradeday's own validation has none to run, like
# typer's parameters.
_EXPORTS = {
    "BackoffConfig": "session.config.engines",
    "BrokerConfig": "session.config.models",
    "BrokerKind": "session.config.models",
    "CONFIG_ENV_VAR": "session.config.source",
    "ChecksConfig": "session.config.models",
    "Command": "session.config.engines",
    "ConfigManager": "session.config.manager",
    "ConfigSpecialSession": "session.config.models",
    "DEFAULT_CONFIG_PATH": "session.config.source",
    "Duration": "session.config.fields",
    "EngineConfig": "session.config.engines",
    "EnvMap": "session.config.engines",
    "EodConfig": "session.config.models",
    "Hours": "session.config.models",
    "IbkrConfig": "session.config.models",
    "KiteConfig": "session.config.models",
    "MarketConfig": "session.config.models",
    "Model": "session.config.fields",
    "PathsConfig": "session.config.models",
    "ReportsConfig": "session.config.models",
    "SECRET_KEY_PATTERN": "session.config.masking",
    "SessionConfig": "session.config.models",
    "SignalName": "session.config.fields",
    "Size": "session.config.fields",
    "StepConfig": "session.config.engines",
    "TRADEDAY_SECTIONS": "session.config.models",
    "TimeOfDay": "session.config.fields",
    "TradedayConfig": "session.config.models",
    "Window": "session.config.models",
    "default_config_path": "session.config.source",
    "load_config": "session.config.loader",
    "masked_data": "session.config.masking",
    "masked_diff": "session.config.masking",
    "masked_lines": "session.config.masking",
    "parse_size": "session.config.fields",
    "record_history": "session.config.loader",
    "validation_messages": "session.config.errors",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _no_pydantic_plugins():
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:
    from session.config.engines import (
        BackoffConfig,
        Command,
        EngineConfig,
        EnvMap,
        StepConfig,
    )
    from session.config.errors import (
        validation_messages,
    )
    from session.config.fields import (
        Duration,
        Model,
        SignalName,
        Size,
        TimeOfDay,
        parse_size,
    )
    from session.config.loader import (
        CONFIG_ENV_VAR,
        DEFAULT_CONFIG_PATH,
        default_config_path,
        load_config,
        record_history,
    )
    from session.config.manager import (
        ConfigManager,
    )
    from session.config.masking import (
        SECRET_KEY_PATTERN,
        masked_data,
        masked_diff,
        masked_lines,
    )
    from session.config.models import (
        TRADEDAY_SECTIONS,
        BrokerConfig,
        BrokerKind,
        ChecksConfig,
        ConfigSpecialSession,
        EodConfig,
        Hours,
        IbkrConfig,
        KiteConfig,
        MarketConfig,
        PathsConfig,
        ReportsConfig,
        SessionConfig,
        TradedayConfig,
        Window,
    )

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_PATH",
    "SECRET_KEY_PATTERN",
    "TRADEDAY_SECTIONS",
    "BackoffConfig",
    "BrokerConfig",
    "BrokerKind",
    "ChecksConfig",
    "Command",
    "ConfigManager",
    "ConfigSpecialSession",
    "Duration",
    "EngineConfig",
    "EnvMap",
    "EodConfig",
    "Hours",
    "IbkrConfig",
    "KiteConfig",
    "MarketConfig",
    "Model",
    "PathsConfig",
    "ReportsConfig",
    "SessionConfig",
    "SignalName",
    "Size",
    "StepConfig",
    "TimeOfDay",
    "TradedayConfig",
    "Window",
    "default_config_path",
    "load_config",
    "masked_data",
    "masked_diff",
    "masked_lines",
    "parse_size",
    "record_history",
    "validation_messages",
]
