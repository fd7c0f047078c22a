"""Keep secrets out of output: mask URLs and scrub known secret values from text."""
from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

MASK = "***"


def mask_url(url: str) -> str:
    """``https://hooks.slack.com/services/T/B/X`` -> ``https://hooks.slack.com/…``.

    Webhook URLs carry their secret in the path or query; scheme and host are enough to
    tell which channel failed.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.scheme or not parts.hostname:
        return MASK
    host = parts.hostname
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}/…"


class Redactor:
    """Replaces every registered secret value with ``***`` in a piece of text.

    Values shorter than 4 characters are not registered: masking ``1`` everywhere would
    destroy output without protecting anything.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            self._secrets.add(secret)

    def copy(self) -> Redactor:
        """A redactor that knows these secrets, to add more for one output only."""
        return Redactor(self._secrets)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __call__(self, text: str) -> str:
        # Longest first so a secret that contains another is masked whole.
        for s in sorted(self._secrets, key=len, reverse=True):
            if s in text:
                text = text.replace(s, MASK)
        return text


# Process-wide redactor: config loading registers secret values here, and the
# log formatter, notification sender and error printer pass text through it.
GLOBAL_REDACTOR = Redactor()
