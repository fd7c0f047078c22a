"""Where a run's control socket is, and the protocol spoken over it.

The socket is ``{date}.sock`` in the state folder (beside ``{date}.json``), mode 0600 in a 0700
folder, so only its owner can connect; the server also checks the peer's uid (SO_PEERCRED on
Linux) and refuses any other, root included. One request per connection: a JSON object on one
line (``{"action": "stop", "engine": "demo", "confirm_live": false}``), answered by one JSON
line (session/supervisor/control.py ``ControlReply``).

Unix domain socket paths are limited to about 107 bytes; a longer one is reached through the
folder's descriptor (``/proc/self/fd/N/{date}.sock``, Linux).
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from core.errors import TradedayError
from core.exitcodes import ExitCode

CONTROL_AVAILABLE = hasattr(socket, "AF_UNIX")
MAX_MESSAGE = 64 * 1024  # a request or a reply is one line of at most this many bytes
_MAX_SUN_PATH = 100  # sockaddr_un.sun_path is 108 bytes on Linux, 104 on macOS


class ControlUnavailable(TradedayError):
    """This platform has no Unix domain sockets (Windows): ``tradeday engine`` cannot reach a run."""

    exit_code = ExitCode.USAGE


def require_control() -> None:
    if not CONTROL_AVAILABLE:
        raise ControlUnavailable("tradeday engine needs a Unix domain socket, which this platform does not have",
                                 hint="on Windows, stop tradeday run itself (Ctrl+C) or run it under WSL")


def socket_path(state_folder: Path, day: date) -> Path:
    return state_folder / f"{day.isoformat()}.sock"


@contextlib.contextmanager
def reachable(path: Path) -> Iterator[str]:
    """An address for ``path`` that fits sun_path: the path, or /proc/self/fd/N/NAME while open."""
    text = os.fsdecode(path)
    if len(os.fsencode(text)) <= _MAX_SUN_PATH or not Path("/proc/self/fd").is_dir():
        yield text
        return
    fd = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def read_line(sock: socket.socket) -> bytes:
    """One line (without its newline) of at most MAX_MESSAGE bytes; ValueError past that."""
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_MESSAGE:
            raise ValueError(f"message longer than {MAX_MESSAGE} bytes")
    return data.split(b"\n", 1)[0]
