"""``ConfigManager``: copilot_quant's orchestrator API over load_config and the config history."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from session.config.loader import default_config_path, load_config
from session.config.models import TradedayConfig


class ConfigManager:
    """copilot_quant's orchestrator API: ``ConfigManager(path).load()``, ``.reload()``,
    ``.save(config)``, ``.list_versions()``."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, record: bool = True) -> None:
        self.path = Path(path) if path is not None else default_config_path()
        self.record = record
        self.config: TradedayConfig | None = None

    def load(self) -> TradedayConfig:
        self.config = load_config(self.path, record=self.record)
        return self.config

    def reload(self) -> TradedayConfig:
        """Load again; on error the previous config stays current and the error is raised."""
        return self.load()

    def save(self, config: TradedayConfig) -> Path:
        """Write ``config`` (tradeday's sections and the engine's) to the file, atomically."""
        import yaml

        from core.fsutil import atomic_write_text

        data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        atomic_write_text(self.path, text)
        return self.load().path or self.path

    def list_versions(self) -> list[dict[str, Any]]:
        from session.config_history import ConfigHistory

        cfg = self.config or load_config(self.path)
        return ConfigHistory(cfg.config_history_dir).versions()
