"""A fake TWS / IB Gateway API peer on 127.0.0.1 for tests, good enough for ib_async to connect.

Usage::

    with FakeTWS(accounts=["DU123456"]) as tws:
        result = probe_ibkr("127.0.0.1", tws.port, client_id=99, timeout=1)

    port = free_port()   # tests.fakes.ports: nothing listens there, "connection refused"

Protocol (ib_async/client.py, decoder.py): every message after the client's ``API\\0``
greeting is a 4-byte big-endian length followed by NUL-terminated fields.

1. client: ``API\\0`` + prefixed ``v<min>..<max>``; server: prefixed
   ``<serverVersion>\\0<connection time>\\0``.
2. client: startApi (71, version 2, clientId, optional capabilities); server:
   managedAccounts (15) and nextValidId (9). ib_async is "ready" once it has both.
3. ib_async then requests positions (61) and waits for positionEnd (62); depending on
   its options also account updates (6 -> 54), per-account updates (76 -> 74), open
   orders (5/16 -> 53), completed orders (99 -> 102) and executions (7 -> 55). All are
   answered with "nothing there" ends.
4. reqCurrentTime (49) is answered with currentTime (49) = now + ``time_offset_s``.

Modes (settable; apply to connections accepted afterwards):

- ``"ok"``: the sequence above.
- ``"stall"``: accept the TCP connection and never answer (API disabled, login screen).
- ``"client_id_in_use"``: answer the handshake, then send error 326 for the startApi
  and close, as TWS does. A client id that is already connected to this fake gets the
  same treatment in ``"ok"`` mode.
- ``"close"``: read the client's greeting and close the connection without a word, as
  TWS / IB Gateway do for a host that is not allowed to connect.

Several connections are served at once and one after another; ``connections`` records
each one's client id and the message ids it sent.
"""
from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field

TWS_MODES = ("ok", "stall", "client_id_in_use", "close")
CLIENT_ID_IN_USE_TEXT = "Unable to connect as the client id is already in use. Retry with a unique client id."
# Within ib_async's accepted range (Client.MinClientVersion 157 .. MaxClientVersion 178).
DEFAULT_SERVER_VERSION = 176


@dataclass
class TwsConnection:
    peer: str
    client_id: int | None = None
    message_ids: list[int] = field(default_factory=list)
    rejected: bool = False  # got error 326


class FakeTWS:
    def __init__(
        self,
        *,
        accounts: Iterable[str] = ("DU123456",),
        mode: str = "ok",
        time_offset_s: float = 0.0,
        server_version: int = DEFAULT_SERVER_VERSION,
        next_valid_id: int = 1,
        port: int = 0,  # 0: any free port; a fixed one (7496...) for the default-port rules
    ) -> None:
        self.accounts = list(accounts)
        self.mode = mode
        self.time_offset_s = time_offset_s
        self.server_version = server_version
        self.next_valid_id = next_valid_id
        self.connections: list[TwsConnection] = []
        self.host = "127.0.0.1"
        self.port = port
        self._lock = threading.Lock()
        self._active_client_ids: set[int] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._stopping: asyncio.Event | None = None

    # -- lifecycle

    def start(self) -> FakeTWS:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fake-tws", daemon=True)
        self._thread.start()
        self._run(self._start()).result(timeout=5)
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._run(self._stop()).result(timeout=5)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> FakeTWS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, coro: object) -> Future:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]

    async def _start(self) -> None:
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._stopping is not None and self._server is not None
        self._stopping.set()
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        # Let the connection handlers see the close and finish.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=2)

    # -- one API connection

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        record = TwsConnection(peer=f"{peer[0]}:{peer[1]}" if peer else "?")
        with self._lock:
            self.connections.append(record)
        self._writers.add(writer)
        mode = self.mode
        holds_client_id = False
        try:
            if mode == "stall":
                # Read and ignore everything until the client or the server gives up.
                while await reader.read(4096):
                    pass
                return
            if await reader.readexactly(4) != b"API\0":
                return
            await _read_message(reader)  # "v157..178": any version we speak is fine
            if mode == "close":
                return
            now = time.gmtime(time.time() + self.time_offset_s)
            connection_time = time.strftime("%Y%m%d %H:%M:%S UTC", now)
            writer.write(_frame(f"{self.server_version}\0{connection_time}\0"))
            await writer.drain()
            while True:
                fields = (await _read_message(reader)).split("\0")[:-1]
                if not fields:
                    continue
                msg_id = int(fields[0])
                record.message_ids.append(msg_id)
                if msg_id == 71:  # startApi: version, clientId, optionalCapabilities
                    client_id = int(fields[2])
                    record.client_id = client_id
                    with self._lock:
                        taken = mode == "client_id_in_use" or client_id in self._active_client_ids
                        if not taken:
                            self._active_client_ids.add(client_id)
                            holds_client_id = True
                    if taken:
                        # TWS's answer: error 326 (reqId -1; the last field is the
                        # advancedOrderRejectJson that server versions >= 166 send), then close.
                        record.rejected = True
                        self._send(writer, 4, 2, -1, 326, CLIENT_ID_IN_USE_TEXT, "")
                        await writer.drain()
                        return
                    self._send(writer, 15, 1, ",".join(self.accounts))
                    self._send(writer, 9, 1, self.next_valid_id)
                else:
                    self._answer(writer, msg_id, fields)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
            pass  # client went away or spoke nonsense: end this connection
        finally:
            self._writers.discard(writer)
            if holds_client_id:
                with self._lock:
                    self._active_client_ids.discard(record.client_id)
            writer.close()

    def _answer(self, writer: asyncio.StreamWriter, msg_id: int, fields: list[str]) -> None:
        if msg_id == 61:  # reqPositions
            self._send(writer, 62, 1)  # positionEnd
        elif msg_id == 49:  # reqCurrentTime
            self._send(writer, 49, 1, int(time.time() + self.time_offset_s))
        elif msg_id == 6:  # reqAccountUpdates: version, subscribe, account
            account = fields[3] if len(fields) > 3 else ""
            if fields[2] == "1":
                self._send(writer, 54, 1, account)  # accountDownloadEnd
        elif msg_id == 76:  # reqAccountUpdatesMulti: version, reqId, ...
            self._send(writer, 74, 1, int(fields[2]))  # accountUpdateMultiEnd
        elif msg_id == 7:  # reqExecutions: version, reqId, filter...
            self._send(writer, 55, 1, int(fields[2]))  # execDetailsEnd
        elif msg_id in (5, 16):  # reqOpenOrders, reqAllOpenOrders
            self._send(writer, 53, 1)  # openOrderEnd
        elif msg_id == 99:  # reqCompletedOrders
            self._send(writer, 102)  # completedOrdersEnd
        elif msg_id == 17:  # reqManagedAccts
            self._send(writer, 15, 1, ",".join(self.accounts))
        elif msg_id == 8:  # reqIds
            self._send(writer, 9, 1, self.next_valid_id)
        # Anything else (cancel requests, reqAutoOpenOrders...) needs no answer here.

    @staticmethod
    def _send(writer: asyncio.StreamWriter, *fields: object) -> None:
        writer.write(_frame("".join(f"{f}\0" for f in fields)))


def _frame(text: str) -> bytes:
    payload = text.encode()
    return struct.pack(">I", len(payload)) + payload


async def _read_message(reader: asyncio.StreamReader) -> str:
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    return (await reader.readexactly(length)).decode(errors="replace")
