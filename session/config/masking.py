"""Secrets out of sight, by the document's structure: the config as data with secrets masked
(``config show``), and the masked difference between two config versions (``config diff``).

A value is secret when its key says so (``SECRET_KEY_PATTERN``, anywhere below such a key),
when it is a header value or a notification URL, or when it came from ``${ENV}``. Whatever
the YAML looks like (flow style, block scalars, anchors, several documents) the parsed
documents are compared, so no line shape can slip through. A diff also scrubs, everywhere in
both versions, every value that was a secret in either of them (a webhook path moved under
an innocent key), and marks a rotated secret as changed without showing it.

Keys that name a place (``*_file``, ``*_dir``, ``*_path``, ``path``) are never secret:
``secrets_file: secrets/kite.env`` is where the secret is, and a user needs to see it.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core.redact import GLOBAL_REDACTOR, MASK, Redactor

if TYPE_CHECKING:
    from session.config.models import TradedayConfig
    from session.config_history import ConfigHistory

# Keys whose values are secrets wherever they appear (config show/diff mask them).
SECRET_KEY_PATTERN = re.compile(
    r"(token|password|passwd|secret|api_?key|apikey|webhook|authorization|credential|private_key|cookie"
    r"|healthcheck_url)",
    re.IGNORECASE,
)
# Keys that name a place, never a secret, even when named after one (secrets_file, tokens_file).
_PLACE_KEY = re.compile(r"(_file|_dir|_path)$|^path$", re.IGNORECASE)
# Below these keys every value is a secret: HTTP headers carry API keys and bearer tokens.
_SECRET_CONTAINERS = frozenset({"headers"})
# In the notifications section a bare ``url`` is a webhook URL, its path the secret.
_NOTIFICATION_URL_KEYS = frozenset({"url"})

Path_ = tuple[Any, ...]
CHANGED = " (changed)"


def is_secret_key(key: object) -> bool:
    """Does a value under ``key`` hold a secret? Never for a key that names a place."""
    text = str(key)
    return not _PLACE_KEY.search(text) and bool(SECRET_KEY_PATTERN.search(text))


def is_secret_path(path: Path_) -> bool:
    """Is the value at ``path`` (keys and list indexes from the document's root) a secret?"""
    keys = [p for p in path if isinstance(p, str)]
    if any(is_secret_key(k) for k in keys):
        return True
    if len(keys) >= 2 and keys[-2].lower() in _SECRET_CONTAINERS:
        return True
    return bool(keys) and keys[0] == "notifications" and keys[-1].lower() in _NOTIFICATION_URL_KEYS


def leaves(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """(key path, value) of every scalar in nested dicts and lists."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, (*path, i))
    else:
        yield path, value


def _masked_value(value: Any) -> Any:
    if value is None or value == "":
        return value  # "not set" is no secret, and worth seeing
    return MASK


def _fragments(value: Any) -> list[str]:
    """The pieces of a secret that may show up on their own: the value, its lines, and the
    parts of a URL that carry the secret (path, query, password, and the path's segments
    that look like keys: with a digit, or 16 characters and more, unlike ``services``)."""
    if not isinstance(value, str):
        return [str(value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else []
    text = value.strip()
    out = [value, text, *(line.strip() for line in text.splitlines())]
    if "://" in text:
        try:
            parts = urlsplit(text)
        except ValueError:
            return out
        out += [parts.path if parts.path != "/" else "", parts.query, parts.password or ""]
        out += [seg for seg in parts.path.split("/") if len(seg) >= 16 or any(c.isdigit() for c in seg)]
    return [f for f in out if f]


def _mask(value: Any, secret: set[Path_], changed: set[Path_], redact: Redactor, path: Path_ = ()) -> Any:
    if isinstance(value, dict):
        return {(redact(k) if isinstance(k, str) else k): _mask(v, secret, changed, redact, (*path, k))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, secret, changed, redact, (*path, i)) for i, v in enumerate(value)]
    if path in secret:
        masked = _masked_value(value)
        return f"{masked}{CHANGED}" if path in changed and masked not in (None, "") else masked
    return redact(value) if isinstance(value, str) else value


def _secret_paths(data: Any, extra: frozenset[Path_] = frozenset()) -> dict[Path_, Any]:
    return {p: v for p, v in leaves(data) if p in extra or is_secret_path(p)}


def masked_data(config: TradedayConfig) -> dict[str, Any]:
    """The config as plain data with every secret replaced by ``***`` (for show)."""
    data = config.model_dump(mode="json", by_alias=True)
    if config.engine_options is not None:  # kite-algo-minimal's `engines:` mapping, as the file has it
        from session.config.sections import plain

        data["engines"] = plain(config.engine_options)
    secrets = _secret_paths(data, config.env_paths)
    masked: dict[str, Any] = _mask(data, set(secrets), set(), GLOBAL_REDACTOR)
    return masked


def _redactor_for(*secret_maps: dict[Path_, Any]) -> Redactor:
    redact = GLOBAL_REDACTOR.copy()
    for secrets in secret_maps:
        for value in secrets.values():
            for fragment in _fragments(value):
                redact.add(fragment)
    return redact


def _render(docs: list[Any]) -> list[str]:
    import yaml

    class _Plain(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True  # anchors expanded: the same value reads the same in both versions

    text = yaml.dump_all(docs, Dumper=_Plain, sort_keys=False, allow_unicode=True, default_flow_style=False,
                         width=10**9, explicit_start=len(docs) > 1)
    return text.splitlines(keepends=True)


def masked_versions(texts: tuple[tuple[str, str], tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Both versions ``((label, text), (label, text))`` parsed and rendered alike, secrets
    masked: a secret at a path where the other version holds another value reads
    ``*** (changed)`` on the second side."""
    from session.yamlsource import YamlSource

    (label_a, text_a), (label_b, text_b) = texts
    docs_a = YamlSource.documents(label_a, text_a)
    docs_b = YamlSource.documents(label_b, text_b)
    secrets_a = _secret_paths(docs_a)
    secrets_b = _secret_paths(docs_b)
    redact = _redactor_for(secrets_a, secrets_b)
    changed = {p for p, v in secrets_b.items() if p in secrets_a and secrets_a[p] != v}
    lines_a = _render(_mask(docs_a, set(secrets_a), set(), redact))
    lines_b = _render(_mask(docs_b, set(secrets_b), changed, redact))
    # Last, the text itself: a secret in a key, or one a dump split, never reaches the output.
    return [redact(line) for line in lines_a], [redact(line) for line in lines_b]


def masked_diff(history: ConfigHistory, a: str, b: str) -> list[str]:
    """The unified diff from version (or file) ``a`` to ``b``, secrets masked, one line each
    without its newline; empty when the documents do not differ."""
    import difflib

    version_a = history.resolve(a)
    version_b = history.resolve(b)
    lines_a, lines_b = masked_versions((version_a, version_b))
    lines = difflib.unified_diff(lines_a, lines_b, version_a[0], version_b[0])
    redact = GLOBAL_REDACTOR
    return [redact(line.rstrip("\n")) for line in lines]


def masked_lines(text: str) -> list[str]:
    """The lines of one YAML text, parsed and rendered with its secrets masked (kept for
    callers of the line-based version; comments and layout are not kept)."""
    return masked_versions((("<text>", text), ("<text>", text)))[0]
