"""Free TCP ports on 127.0.0.1 for servers that must be told their port up front."""
from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (just now).

    For a server that cannot bind port 0 itself (aiosmtpd's Controller connects to its
    port to check that it started), or for a port where nothing should answer.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
