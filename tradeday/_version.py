"""``tradeday.__version__``: the installed distribution's version, read when first asked for."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tradeday")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"
