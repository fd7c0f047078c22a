"""Config versioning: every config a command loads is kept by content SHA-256.

Layout under ``{artifacts}/config-history/``: ``{sha256}.yaml`` (the file exactly as loaded,
mode 0600 because it may hold inline secrets) and ``index.json`` mapping each hash to when
it was first seen, last used, and from which paths.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.errors import ConfigError, UsageError
from core.fsutil import atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    from filelock import FileLock


class LoadedConfig(Protocol):
    """What the history needs of a loaded config (``session.config.TradedayConfig`` is one);
    a protocol, so that this module does not depend on the config package."""

    @property
    def sha256(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def path(self) -> Path | None: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ConfigHistory:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.index_path = folder / "index.json"

    def _lock(self) -> FileLock:
        from filelock import FileLock

        self.folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.folder / ".index.lock"), timeout=10)

    def _read_index(self) -> dict[str, Any]:
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ConfigError(
                f"{self.index_path}: config history index is corrupt",
                hint="move it aside; snapshots stay valid and the index is rebuilt on next load",
            ) from None
        return data if isinstance(data, dict) else {}

    def record(self, config: LoadedConfig) -> str:
        sha = config.sha256
        with self._lock():
            snapshot = self.folder / f"{sha}.yaml"
            if not snapshot.exists():
                atomic_write_text(snapshot, config.text, mode=0o600)
            index = self._read_index()
            entry = index.setdefault(sha, {"first_seen": _now(), "sources": []})
            entry["last_used"] = _now()
            source = str(config.path) if config.path else None
            if source and source not in entry["sources"]:
                entry["sources"].append(source)
            entry["uses"] = int(entry.get("uses", 0)) + 1
            # Two loads within one second tie on last_used; a counter under the lock orders them.
            entry["seq"] = 1 + max((int(e.get("seq", 0)) for e in index.values() if isinstance(e, dict)), default=0)
            atomic_write_json(self.index_path, index)
        return sha

    def versions(self) -> list[dict[str, Any]]:
        """Newest use first."""
        index = self._read_index()
        rows = [{"sha256": sha, **entry} for sha, entry in index.items()]
        rows.sort(key=lambda r: (r.get("last_used", ""), int(r.get("seq", 0))), reverse=True)
        return rows

    def resolve(self, ref: str) -> tuple[str, str]:
        """(label, text) for a hash prefix (4+ characters) or a path to a YAML file."""
        path = Path(ref)
        if path.is_file():
            return str(path), path.read_text(encoding="utf-8")
        if len(ref) >= 4 and all(c in "0123456789abcdef" for c in ref.lower()):
            matches = sorted(p for p in self.folder.glob(f"{ref.lower()}*.yaml"))
            if len(matches) == 1:
                return matches[0].stem[:12], matches[0].read_text(encoding="utf-8")
            if len(matches) > 1:
                raise UsageError(f"'{ref}' matches {len(matches)} config versions; give more characters")
        raise UsageError(
            f"'{ref}' is neither a file nor a known config version",
            hint="list versions with: tradeday config history",
        )
