"""A recording HTTP server on 127.0.0.1 for tests of anything that calls out over HTTP.

    with HttpRecorder() as server:
        server.enqueue(Reply.error(500), Reply.ok())   # first request 500, then 200
        post(server.url + "/hook", ...)
        server.wait_for(2)
        server.requests[0].json()

Replies are taken in order from the queue, then ``default`` (200 "ok"). Besides plain
replies it can hang (answer only after ``seconds``, longer than the client's timeout),
or close the connection without answering. Tests get one as the ``server`` fixture
(tests/conftest.py).
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to wait before answering
    close: bool = False  # drop the connection without answering

    @classmethod
    def ok(cls, body: bytes | str = b"ok", status: int = 200) -> Reply:
        return cls(status=status, body=body.encode() if isinstance(body, str) else body)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        return cls(status=status, body=json.dumps(obj).encode(), headers=hdrs)

    @classmethod
    def error(cls, status: int = 500, body: bytes | str = b"error") -> Reply:
        return cls(status=status, body=body.encode() if isinstance(body, str) else body)

    @classmethod
    def too_many(cls, retry_after: float | str | None = 1, body: bytes | str = b"rate limited") -> Reply:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return cls(status=429, body=body.encode() if isinstance(body, str) else body, headers=headers)

    @classmethod
    def hanging(cls, seconds: float = 30.0) -> Reply:
        return cls(hang=seconds)

    @classmethod
    def closed(cls) -> Reply:
        return cls(close=True)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # keys lower-cased
    body: bytes
    at: float  # time.monotonic() when it arrived

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


class HttpRecorder:
    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply.ok()
        self.requests: list[RecordedRequest] = []
        self._script: deque[Reply] = deque()
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ scripting
    def enqueue(self, *replies: Reply) -> HttpRecorder:
        with self._cond:
            self._script.extend(replies)
        return self

    def _next_reply(self) -> Reply:
        with self._cond:
            return self._script.popleft() if self._script else self.default

    def _record(self, request: RecordedRequest) -> None:
        with self._cond:
            self.requests.append(request)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived; AssertionError on timeout."""
        end = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} request(s) within {timeout}s, got {len(self.requests)}")
                self._cond.wait(remaining)
            return list(self.requests)

    # ------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpRecorder:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder._record(
                    RecordedRequest(
                        method=self.command,
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                        at=time.monotonic(),
                    )
                )
                reply = recorder._next_reply()
                if reply.hang:
                    recorder._stopping.wait(reply.hang)
                if reply.close or recorder._stopping.is_set():
                    self.close_connection = True
                    try:
                        self.connection.shutdown(2)
                    except OSError:
                        pass
                    return
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (timeout) first

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # release hanging handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(2)

    def __enter__(self) -> HttpRecorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

