"""The half of loading a config that needs no pydantic: read the file with positions, substitute
``${VAR}`` in tradeday's sections, register the secrets with the redactor, and where things
are (the root and the paths below it). ``loader.load_config`` runs this and then validates;
``snapshot`` runs the same functions and then takes the validated values it kept, so both ways
read the file, the environment and the secrets alike (``tradeday status`` starts without
pydantic, issue 15).
"""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

from core.errors import ConfigValidationError
from core.redact import GLOBAL_REDACTOR
from session.config.masking import is_secret_path, leaves
from session.yamlsource import MissingVariable, YamlSource, interpolate

DEFAULT_CONFIG_PATH = "configs/dev.yaml"
CONFIG_ENV_VAR = "TRADEDAY_CONFIG"


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)


# TradedayConfig's fields (models.TRADEDAY_SECTIONS, derived from the model, is the same tuple:
# tests/session/config/test_snapshot.py checks it); here so that reading needs no model.
SECTION_NAMES = ("version", "mode", "root", "market", "session", "engines", "broker", "paths", "eod",
                 "reports", "notifications", "checks")


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


def parsed_source(cfg_path: Path, text: str) -> YamlSource:
    """The file as data with positions; ConfigValidationError unless it is a mapping of sections."""
    source = YamlSource(cfg_path, text)
    if not isinstance(source.data, dict):
        raise ConfigValidationError(f"{cfg_path}:1 the config must be a mapping of sections "
                                    "(version, mode, market, ...)")
    for key in source.data:
        if not isinstance(key, str):
            raise ConfigValidationError(source.locate((key,), f"section names must be text, not {key!r}"))
    return source


def interpolate_tradeday_sections(source: YamlSource, environ: Any,
                                  from_env: set[tuple[str | int, ...]]) -> frozenset[str]:
    """Substitute ``${VAR}`` in tradeday's sections (not the engine's) of ``source.data``.

    Returns the variables the ``notifications`` section took values from: their values are
    tradeday's secrets, kept out of the engines' environment (docs/ENGINE.md). Adds to
    ``from_env`` the key path of every value that took something from the environment."""
    found: list[str] = []
    notification_names: set[str] = set()
    notification_environ = _RecordingEnviron(environ, notification_names)

    def visit(node: Any, path: tuple[str | int, ...]) -> None:
        if not path or path[0] not in SECTION_NAMES or "$" not in str(node.value):
            return
        if node.tag != "tag:yaml.org,2002:str":
            return
        before = len(found)
        try:
            new = interpolate(node.value, notification_environ if path[0] == "notifications" else environ, found)
        except MissingVariable as missing:
            from session.validation import loc_text  # pydantic's: only for this message

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


def register_inline_secrets(data: Any) -> None:
    """Every secret written in the file itself (``is_secret_path``) goes to the redactor;
    paths (``secrets_file``) do not: they are no secret."""
    for path, value in leaves(data):
        if isinstance(value, str) and is_secret_path(path):
            GLOBAL_REDACTOR.add(value)
            GLOBAL_REDACTOR.add(value.strip())


def read_source(cfg_path: Path, text: str, environ: Any = None) -> tuple[YamlSource, frozenset[str],
                                                                         frozenset[tuple[str | int, ...]]]:
    """Parse, interpolate and register the file's secrets: the source, the variables the
    notifications took, and the key paths of the values that came from the environment."""
    source = parsed_source(cfg_path, text)
    env_paths: set[tuple[str | int, ...]] = set()
    notification_env = interpolate_tradeday_sections(source, os.environ if environ is None else environ, env_paths)
    register_inline_secrets({k: v for k, v in source.data.items() if k in SECTION_NAMES})
    return source, notification_env, frozenset(env_paths)


# --- where things are (TradedayConfig's properties and the snapshot's view share these) --------

def root_dir_of(config_path: Path | None, root: str | None) -> Path:
    """``root`` (default ".") against the config file's folder (the working folder without one)."""
    base = config_path.parent if config_path else Path.cwd()
    return (base / (root or ".")).resolve()


def resolve_in(root_dir: Path, p: str | os.PathLike[str]) -> Path:
    path = Path(os.path.expanduser(str(p)))
    return path if path.is_absolute() else (root_dir / path)


def folder_in(root_dir: Path, artifacts_dir: Path, configured: str | None, name: str) -> Path:
    """``paths.logs`` (state, reports, journal) if set, else ``{artifacts}/logs``."""
    return resolve_in(root_dir, configured) if configured else artifacts_dir / name


def journal_file(journal_dir: Path, day: date) -> Path:
    """The day's journal: ``{date}.csv``, or ``{date}.jsonl`` when only that exists."""
    csv = journal_dir / f"{day.isoformat()}.csv"
    jsonl = journal_dir / f"{day.isoformat()}.jsonl"
    return jsonl if jsonl.exists() and not csv.exists() else csv
