"""A fake Kite Connect REST API on 127.0.0.1 for tests.

Usage::

    with FakeKiteServer(api_key="key1234", access_token="tok5678") as kite:
        result = probe_kite("key1234", "tok5678", root=kite.root, timeout=1)
        kite.mode = "token_error"        # every later request gets a 403 TokenException
        kite.trades = [make_trade(...)]  # what GET /trades returns

Modes (apply to every route, settable at any time):

- ``"ok"``: answers like Kite, after checking the ``X-Kite-Version: 3`` and
  ``Authorization: token <api_key>:<access_token>`` headers against the configured
  credentials (wrong or missing ones get the same 403 TokenException Kite sends).
- ``"token_error"``: 403 ``{"status":"error","error_type":"TokenException",...}``.
- ``"bad_gateway"``: 502 with an HTML body, as a load balancer in front of Kite sends.
- ``"server_error"``: 500 ``{"status":"error","error_type":"GeneralException",...}``.
- ``"hang"``: reads the request and never answers (released when the server stops, so
  shutdown is never blocked).

Every reply carries a ``Date`` header shifted by ``date_offset_s`` (for clock-skew
tests). Every request is recorded in ``requests`` (method, path, headers).
"""
from __future__ import annotations

import email.utils
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

KITE_MODES = ("ok", "token_error", "bad_gateway", "server_error", "hang")
TOKEN_ERROR_MESSAGE = "Incorrect `api_key` or `access_token`."
# How long a "hang" handler waits at most if nobody stops the server (a safety net for
# a test that forgets to; stop() releases it at once).
_HANG_LIMIT_S = 60.0

BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


def default_profile(user_id: str = "AB1234") -> dict[str, Any]:
    """A ``/user/profile`` data object in the shape Kite documents."""
    return {
        "user_id": user_id,
        "user_type": "individual",
        "email": "trader@example.com",
        "user_name": "Test Trader",
        "user_shortname": "Trader",
        "broker": "ZERODHA",
        "exchanges": ["NSE", "BSE", "NFO", "CDS", "BFO", "MCX", "BCD", "MF"],
        "products": ["CNC", "NRML", "MIS", "BO", "CO"],
        "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
        "avatar_url": None,
        "meta": {"demat_consent": "physical"},
    }


def make_trade(
    *,
    trade_id: str = "10000001",
    order_id: str = "151220000000000",
    tradingsymbol: str = "INFY",
    exchange: str = "NSE",
    transaction_type: str = "BUY",
    quantity: int = 1,
    average_price: float = 1500.0,
    product: str = "MIS",
    instrument_token: int = 408065,
    fill_timestamp: str = "2026-11-10 09:16:02",
    order_timestamp: str | None = None,
    exchange_timestamp: str | None = None,
    exchange_order_id: str = "1100000000000001",
) -> dict[str, Any]:
    """One ``/trades`` entry in the shape Kite documents (timestamps are IST, 19 chars)."""
    return {
        "trade_id": trade_id,
        "order_id": order_id,
        "exchange_order_id": exchange_order_id,
        "tradingsymbol": tradingsymbol,
        "exchange": exchange,
        "instrument_token": instrument_token,
        "transaction_type": transaction_type,
        "product": product,
        "average_price": average_price,
        "quantity": quantity,
        "fill_timestamp": fill_timestamp,
        "order_timestamp": order_timestamp or fill_timestamp,
        "exchange_timestamp": exchange_timestamp or fill_timestamp,
    }


@dataclass
class RecordedRequest:
    method: str
    path: str  # path and query, as sent
    headers: dict[str, str] = field(default_factory=dict)


class FakeKiteServer:
    def __init__(
        self,
        *,
        api_key: str = "testapikey01",
        access_token: str = "testaccesstoken01",
        mode: str = "ok",
        profile: dict[str, Any] | None = None,
        trades: list[dict[str, Any]] | None = None,
        date_offset_s: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.access_token = access_token
        self.mode = mode
        self.profile = profile if profile is not None else default_profile()
        self.trades: list[dict[str, Any]] = list(trades) if trades is not None else []
        self.date_offset_s = date_offset_s
        # What a 403 says; settable, e.g. to check that a client never repeats a secret
        # that a server echoes back.
        self.token_error_message = TOKEN_ERROR_MESSAGE
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeKiteServer is not started")
        return self._server.server_address[1]

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeKiteServer:
        self._release.clear()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        # Handler threads are daemons and server_close() does not join them: a "hang"
        # handler can never hold up the end of a test.
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeKiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inspection

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _make_handler(fake: FakeKiteServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "openresty"  # what api.kite.trade answers with
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def date_time_string(self, timestamp: float | None = None) -> str:
            now = time.time() if timestamp is None else timestamp
            return email.utils.formatdate(now + fake.date_offset_s, usegmt=True)

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            fake._record(RecordedRequest(self.command, self.path, {k: v for k, v in self.headers.items()}))
            mode = fake.mode
            if mode == "hang":
                fake._release.wait(_HANG_LIMIT_S)
                self.close_connection = True
                return
            if mode == "bad_gateway":
                self._send(502, BAD_GATEWAY_HTML.encode(), "text/html")
                return
            if mode == "server_error":
                self._error(500, "Something went wrong. Please try again.", "GeneralException")
                return
            if mode == "token_error" or not self._authorized():
                self._error(403, fake.token_error_message, "TokenException")
                return
            if mode != "ok":
                self._error(500, f"fake Kite server has no mode {mode!r}", "GeneralException")
                return
            if self.headers.get("X-Kite-Version") != "3":
                self._error(400, "Invalid or missing X-Kite-Version header", "InputException")
                return
            route = urlsplit(self.path).path.rstrip("/")
            if self.command == "GET" and route == "/user/profile":
                self._success(fake.profile)
            elif self.command == "GET" and route == "/trades":
                self._success(list(fake.trades))
            else:
                self._error(404, "Route not found", "GeneralException")

        def _authorized(self) -> bool:
            expected = f"token {fake.api_key}:{fake.access_token}"
            return self.headers.get("Authorization") == expected

        def _success(self, data: Any) -> None:
            self._send(200, json.dumps({"status": "success", "data": data}).encode(), "application/json")

        def _error(self, code: int, message: str, error_type: str) -> None:
            # Kite always sends error_type; kiteconnect raises TypeError without it.
            body = {"status": "error", "message": message, "data": None, "error_type": error_type}
            self._send(code, json.dumps(body).encode(), "application/json")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
