"""Config versioning: every config that ``precheck``, ``run`` (and its hot reloads) and
``config validate`` use is kept by content SHA-256.

Loading a config never writes (a read-only or foreign artifacts folder must not break
``status`` or ``config show``): the commands record once they know the folder is usable, and
a failure to record is a warning (:func:`record_quietly`), never a crash.

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
        except (FileNotFoundError, NotADirectoryError):  # NotADirectory: a file in place of a folder
            return {}
        except PermissionError:
            raise ConfigError(
                f"{self.index_path}: cannot read the config history (permission denied)",
                hint=f"run as the owner of {self.folder}, or chown it to this user",
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ConfigError(
                f"{self.index_path}: config history index is corrupt",
                hint="move it aside; snapshots stay valid and the index is rebuilt on next load",
            ) from None
        return data if isinstance(data, dict) else {}

    def record(self, config: LoadedConfig) -> str:
        sha = config.sha256
        with self._lock():
            index = self._read_index() if self.index_path.exists() else self._rebuilt_index()
            snapshot = self.folder / f"{sha}.yaml"
            if not snapshot.exists():
                atomic_write_text(snapshot, config.text, mode=0o600)
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

    def _rebuilt_index(self) -> dict[str, Any]:
        """An index for the snapshots already here (an index moved aside after it broke):
        each dated by its file, oldest first, its sources unknown."""
        snapshots = sorted(self.folder.glob("*.yaml"), key=lambda p: p.stat().st_mtime)
        index: dict[str, Any] = {}
        for seq, snap in enumerate(snapshots, 1):
            when = datetime.fromtimestamp(snap.stat().st_mtime, UTC).isoformat(timespec="seconds")
            index[snap.stem] = {"first_seen": when, "last_used": when, "sources": [], "uses": 0, "seq": seq}
        return index

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


def record_quietly(config: LoadedConfig, folder: Path) -> str | None:
    """Keep ``config`` in the history under ``folder``; return None, or the one-line warning
    saying why it could not. Never raises: the history is a record, and a run or a hot
    reload must not stop for it."""
    from session.checks.filesystem import folder_problem

    # The filesystem check's test: root could write a foreign folder, but must not.
    unusable = folder_problem("config-history", folder)
    if unusable is not None:
        return f"cannot record the config version: {unusable.message}"
    try:
        ConfigHistory(folder).record(config)
    except ConfigError as exc:  # a corrupt index: its message says what to do
        return str(exc)
    except Exception as exc:  # an unwritable, read-only or full folder, a lock timeout
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        return f"cannot record the config version in {folder}: {reason}"
    return None
