"""The orchestrator's end of the control channel: accept, check the peer, hand over, answer.

Runs on threads of its own, never on the supervision loop: one accepting thread, one short
thread per connection (at most ``MAX_CLIENTS`` at a time; more are answered "busy"). The
``handler`` gets the request and the peer's credentials and returns the reply; whatever it or a
client does wrong is answered or logged here, never raised into the caller.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from session.control.channel import encode, reachable, read_line, require_control

_log = logging.getLogger("tradeday.control")
MAX_CLIENTS = 4
CLIENT_TIMEOUT_SECONDS = 5.0  # to send its request
_ACCEPT_POLL_SECONDS = 0.5  # how soon close() is noticed


@dataclass(frozen=True)
class Peer:
    pid: int | None
    uid: int | None
    gid: int | None


Handler = Callable[[dict[str, Any], Peer], dict[str, Any]]


def peer_of(conn: socket.socket) -> Peer:
    """The connecting process's pid, uid and gid (Linux SO_PEERCRED; None elsewhere)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return Peer(None, None, None)
    raw = conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return Peer(pid, uid, gid)


class ControlServer:
    """Listen on ``path`` (mode 0600) until close(); requests go to ``handler``."""

    def __init__(self, path: Path, handler: Handler) -> None:
        require_control()
        self.path = path
        self._handler = handler
        self._sock: socket.socket | None = None
        self._closed = threading.Event()
        self._clients = threading.BoundedSemaphore(MAX_CLIENTS)
        self._thread: threading.Thread | None = None
        self._owner = -1
        if sys.platform != "win32":  # Windows has no uid (nor AF_UNIX: require_control refused it)
            self._owner = os.getuid()

    def start(self) -> ControlServer:
        """Bind and listen (OSError if it cannot: the caller logs it; trading does not depend on it)."""
        if sys.platform == "win32":
            raise OSError("no Unix domain sockets on Windows")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # The day lock is ours, so a socket file left here is a dead run's.
            self.path.unlink(missing_ok=True)
            with reachable(self.path) as address:
                sock.bind(address)
                # The process umask (077) already gives 0700; 0600 says exactly "owner, no execute".
                os.chmod(address, 0o600)
            sock.listen(8)
            sock.settimeout(_ACCEPT_POLL_SECONDS)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._thread = threading.Thread(target=self._accept_loop, name="tradeday-control", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(_ACCEPT_POLL_SECONDS * 4)
        if self._sock is not None:
            self._sock.close()
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if self._closed.is_set():
                    return
                _log.warning("control socket %s: accept failed: %s", self.path, exc.strerror or exc)
                continue
            if not self._clients.acquire(blocking=False):
                self._answer(conn, {"ok": False, "message": "busy: too many control requests at once",
                                    "refused": "busy"})
                conn.close()
                continue
            threading.Thread(target=self._serve, args=(conn,), name="tradeday-control-client", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(CLIENT_TIMEOUT_SECONDS)
            peer = peer_of(conn)
            try:
                # Read first, refuse after: a client refused before it sent would see a broken
                # pipe instead of the reason.
                request = json.loads(read_line(conn).decode("utf-8"))
                if not isinstance(request, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, UnicodeDecodeError, OSError) as exc:
                request = exc
            if peer.uid is not None and peer.uid != self._owner:
                _log.warning("control socket %s: refused a request from uid %s (pid %s): not the owner (uid %s)",
                             self.path, peer.uid, peer.pid, self._owner)
                self._answer(conn, {"ok": False, "refused": "not_owner",
                                    "message": f"refused: uid {peer.uid} is not the owner of this run "
                                               f"(uid {self._owner})"})
                return
            if isinstance(request, Exception):
                self._answer(conn, {"ok": False, "refused": "usage", "message": f"bad request: {request}"})
                return
            try:
                reply = self._handler(request, peer)
            except Exception:  # a bug in the handler: answered and logged, never raised into a thread's end
                _log.exception("control request %r failed", request)
                reply = {"ok": False, "refused": "internal", "message": "internal error; see tradeday.log"}
            self._answer(conn, reply)
        finally:
            conn.close()
            self._clients.release()

    @staticmethod
    def _answer(conn: socket.socket, reply: dict[str, Any]) -> None:
        try:
            conn.sendall(encode(reply))
        except OSError:
            pass  # the client went away: nothing to tell it
