"""IBKR: the probe through ib_async against a real local TCP peer, threads, and the paper/live guard."""
from __future__ import annotations

import asyncio
import logging
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from session.brokers.ibkr import (
    LIVE_DEFAULT_PORTS,
    PAPER_DEFAULT_PORTS,
    paper_live_problems,
    probe_ibkr,
)
from session.brokers.kite import probe_kite
from tests.conftest import REPO
from tests.fakes.kite_server import FakeKiteServer
from tests.fakes.ports import free_port
from tests.fakes.tws_server import FakeTWS

TIMEOUT = 1.0  # the bound under test, where the peer stalls or is not there
REPLY_TIMEOUT = 15.0  # where the peer answers: generous, so a busy machine is not a timeout
PROBE_ID = 901


@pytest.fixture
def tws() -> FakeTWS:
    with FakeTWS(accounts=["DU123456"]) as server:
        yield server


# --------------------------------------------------------------------------- statuses


def test_probe_ok_paper_account_and_server_time() -> None:
    with FakeTWS(accounts=["DU123456"], time_offset_s=-90) as tws:
        result = probe_ibkr("127.0.0.1", tws.port, PROBE_ID, timeout=REPLY_TIMEOUT)
        assert result.status == "ok", result.message
        assert result.accounts == ["DU123456"]
        assert result.message == f"connected to 127.0.0.1:{tws.port} (API version 176); accounts: DU123456"
        assert 0 < result.latency_ms < REPLY_TIMEOUT * 1000
        assert result.server_time is not None and result.server_time.tzinfo == UTC
        skew = (result.server_time - datetime.now(UTC)).total_seconds()
        assert -90 - 3 < skew < -90 + 3
        [conn] = tws.connections
        assert conn.client_id == PROBE_ID
        # Read-only probe: handshake, the positions ib_async always syncs, the clock. No
        # orders, executions or account subscriptions.
        assert conn.message_ids == [71, 61, 49]


def test_probe_ok_live_accounts() -> None:
    with FakeTWS(accounts=["U7654321", "U7654322"]) as tws:
        result = probe_ibkr("127.0.0.1", tws.port, PROBE_ID, timeout=REPLY_TIMEOUT)
    assert result.status == "ok"
    assert result.accounts == ["U7654321", "U7654322"]
    assert result.message.endswith("accounts: U7654321, U7654322")


def test_probe_refused_when_nothing_listens() -> None:
    port = free_port()
    started = time.monotonic()
    result = probe_ibkr("127.0.0.1", port, PROBE_ID, timeout=TIMEOUT)
    assert time.monotonic() - started < TIMEOUT
    assert result.status == "refused"
    assert result.message == f"TWS/IB Gateway not running on 127.0.0.1:{port}"
    assert result.accounts == [] and result.server_time is None


def test_probe_stalled_peer_times_out_within_the_timeout(tws: FakeTWS) -> None:
    tws.mode = "stall"
    started = time.monotonic()
    result = probe_ibkr("127.0.0.1", tws.port, PROBE_ID, timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    assert result.status == "timeout"
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 5.0  # the peer stalls forever: bounded, on a busy machine too
    assert result.message.startswith(f"no API handshake from 127.0.0.1:{tws.port} within 1s")
    for cause in ("API enabled", "trusted IPs", "waiting for login"):
        assert cause in result.message


def test_fake_tws_stops_promptly_with_a_stalled_connection_open() -> None:
    server = FakeTWS(mode="stall").start()
    client = socket.create_connection(("127.0.0.1", server.port), timeout=2)
    client.sendall(b"API\0")
    while not server.connections:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    assert client.recv(1) == b""  # the server closed its end
    client.close()


def test_probe_client_id_in_use_is_reported_without_waiting_for_the_timeout(tws: FakeTWS) -> None:
    tws.mode = "client_id_in_use"
    started = time.monotonic()
    result = probe_ibkr("127.0.0.1", tws.port, PROBE_ID, timeout=REPLY_TIMEOUT)
    assert time.monotonic() - started < REPLY_TIMEOUT / 2
    assert result.status == "client_id_in_use"
    assert f"client id {PROBE_ID} is already in use" in result.message
    assert "broker.ibkr.probe_client_id" in result.message
    assert tws.connections[0].rejected


def test_probe_connection_closed_during_handshake_is_reported_at_once(tws: FakeTWS) -> None:
    tws.mode = "close"
    started = time.monotonic()
    result = probe_ibkr("127.0.0.1", tws.port, PROBE_ID, timeout=REPLY_TIMEOUT)
    assert time.monotonic() - started < REPLY_TIMEOUT / 2
    assert result.status == "error"
    assert result.message.startswith(f"127.0.0.1:{tws.port} accepted the connection and then closed it")
    assert "trusted IPs" in result.message


def test_probe_other_connect_failures_are_errors_not_exceptions() -> None:
    result = probe_ibkr("127.0.0.1", 70000, PROBE_ID, timeout=TIMEOUT)  # no such TCP port
    assert result.status == "error"
    assert result.message.startswith("cannot connect to 127.0.0.1:70000: ")


def hold_client_id(port: int, client_id: int) -> socket.socket:
    """A plain-socket API client that logs in with ``client_id`` and stays connected."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)

    def send(payload: bytes) -> None:
        sock.sendall(struct.pack(">I", len(payload)) + payload)

    def receive() -> list[str]:
        (length,) = struct.unpack(">I", sock.recv(4, socket.MSG_WAITALL))
        return sock.recv(length, socket.MSG_WAITALL).decode().split("\0")[:-1]

    sock.sendall(b"API\0")
    send(b"v157..178")
    assert receive()[0] == "176"
    send(f"71\0002\000{client_id}\000\000".encode())
    assert receive()[0] == "15"  # managedAccounts
    assert receive()[0] == "9"  # nextValidId
    return sock


def test_probe_with_the_id_of_a_connected_client_gets_326(tws: FakeTWS) -> None:
    engine = hold_client_id(tws.port, 7)
    try:
        taken = probe_ibkr("127.0.0.1", tws.port, 7, timeout=REPLY_TIMEOUT)
        free = probe_ibkr("127.0.0.1", tws.port, 8, timeout=REPLY_TIMEOUT)
    finally:
        engine.close()
    assert taken.status == "client_id_in_use"
    assert free.status == "ok"


# --------------------------------------------------------------------------- threads and loops


def test_repeated_and_concurrent_probes_in_one_process(tws: FakeTWS) -> None:
    for _ in range(3):
        assert probe_ibkr("127.0.0.1", tws.port, PROBE_ID, timeout=REPLY_TIMEOUT).status == "ok"
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda cid: probe_ibkr("127.0.0.1", tws.port, cid, timeout=REPLY_TIMEOUT), range(50, 54)))
    assert [r.status for r in results] == ["ok"] * 4, [r.message for r in results]
    assert sorted(c.client_id for c in tws.connections[3:]) == [50, 51, 52, 53]


def test_probe_leaves_the_callers_event_loop_alone(tws: FakeTWS) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        assert probe_ibkr("127.0.0.1", tws.port, PROBE_ID, timeout=REPLY_TIMEOUT).status == "ok"
        assert asyncio.get_event_loop_policy().get_event_loop() is loop
        assert not loop.is_closed() and not loop.is_running()
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_probe_works_when_called_from_inside_a_running_loop(tws: FakeTWS) -> None:
    async def main() -> str:
        return probe_ibkr("127.0.0.1", tws.port, PROBE_ID, timeout=REPLY_TIMEOUT).status

    assert asyncio.run(main()) == "ok"


def test_kite_and_ibkr_probes_hang_side_by_side_not_one_after_the_other() -> None:
    import ib_async  # noqa: F401  (import cost is not what this test measures)
    import kiteconnect  # noqa: F401

    timeout = 3.0  # long enough that a busy machine still tells side by side from one after the other
    with FakeKiteServer(mode="hang") as kite, FakeTWS(mode="stall") as tws:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=2) as pool:
            kite_result = pool.submit(probe_kite, "somekey1", "sometoken1", root=kite.root, timeout=timeout)
            ibkr_result = pool.submit(probe_ibkr, "127.0.0.1", tws.port, PROBE_ID, timeout=timeout)
            statuses = (kite_result.result().status, ibkr_result.result().status)
        elapsed = time.monotonic() - started
    assert statuses == ("network", "timeout")
    assert elapsed < 2 * timeout - 0.5  # one timeout, not the sum of two


def test_cold_process_runs_both_probes_concurrently_within_one_timeout() -> None:
    # In a fresh interpreter both client libraries are imported for the first time by
    # two threads at once, as on the precheck's first run. The imports count against
    # the timeout: a hung broker still costs about one timeout, not timeout + imports.
    # A 3 s timeout, so that a busy machine's slow imports and thread start-up still tell
    # "side by side" (< 2 timeouts) from "one after the other".
    timeout = 3.0
    code = textwrap.dedent(
        f"""
        import time
        from concurrent.futures import ThreadPoolExecutor
        from session.brokers.ibkr import probe_ibkr
        from session.brokers.kite import probe_kite
        from tests.fakes.kite_server import FakeKiteServer
        from tests.fakes.tws_server import FakeTWS

        with FakeKiteServer(api_key="key12345", access_token="tok12345") as kite, FakeTWS(accounts=["DU1"]) as tws:
            kite.mode, tws.mode = "hang", "stall"
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=2) as pool:
                k = pool.submit(probe_kite, "key12345", "tok12345", root=kite.root, timeout={timeout})
                i = pool.submit(probe_ibkr, "127.0.0.1", tws.port, 5, timeout={timeout})
                print(k.result().status, i.result().status, round(time.monotonic() - started, 3))
            kite.mode, tws.mode = "ok", "ok"
            with ThreadPoolExecutor(max_workers=2) as pool:
                k = pool.submit(probe_kite, "key12345", "tok12345", root=kite.root, timeout={REPLY_TIMEOUT})
                i = pool.submit(probe_ibkr, "127.0.0.1", tws.port, 5, timeout={REPLY_TIMEOUT})
                print(k.result().status, i.result().status, i.result().accounts)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    hung, working = out.stdout.strip().splitlines()
    kite_status, ibkr_status, elapsed = hung.split()
    assert (kite_status, ibkr_status) == ("network", "timeout")
    assert float(elapsed) < 2 * timeout - 0.5
    assert working == "ok ok ['DU1']"
    assert out.stderr == ""


# --------------------------------------------------------------------------- logging


class RecordingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_ib_async_errors_reach_the_application_only_as_debug() -> None:
    # What the CLI's console and log file see: handlers on the root logger. (pytest's
    # caplog is not used here: pytest 9 also hooks non-propagating loggers directly.)
    root = logging.getLogger()
    handler = RecordingHandler()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        result = probe_ibkr("127.0.0.1", free_port(), PROBE_ID, timeout=TIMEOUT)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert result.status == "refused"
    assert not [r for r in handler.records if r.name.startswith(("ib_async", "eventkit"))]
    library = [r for r in handler.records if r.name == "session.brokers.ibkr.library"]
    assert any("ConnectionRefusedError" in r.getMessage() for r in library)
    assert all(r.levelno == logging.DEBUG for r in library)


# --------------------------------------------------------------------------- paper / live


def test_default_port_tables() -> None:
    assert PAPER_DEFAULT_PORTS == {7497: "TWS paper", 4002: "IB Gateway paper"}
    assert LIVE_DEFAULT_PORTS == {7496: "TWS live", 4001: "IB Gateway live"}


@pytest.mark.parametrize(
    "mode, port, accounts, expected",
    [
        ("paper", 7497, ["DU123456"], []),
        ("paper", 4002, ["DU123456", "DU654321"], []),
        ("paper", 7000, ["DU123456"], []),  # custom port: the accounts decide
        ("live", 7496, ["U7654321"], []),
        ("live", 4001, ["U1", "U2"], []),
        ("live", 9000, ["U7654321"], []),
        ("paper", 7497, ["U7654321"], ["mode is paper but U7654321 is a live account"]),
        ("paper", 7000, ["DU1", "U2"], ["mode is paper but U2 is a live account"]),
        ("paper", 7496, ["DU123456"], ["mode is paper but port 7496 is the TWS live default port; the TWS paper default is 7497"]),
        ("paper", 4001, ["DU123456"], ["mode is paper but port 4001 is the IB Gateway live default port"]),
        ("paper", 4001, ["U7654321"], ["mode is paper but U7654321 is a live account", "mode is paper but port 4001"]),
        ("live", 7496, ["DU123456"], ["mode is live but DU123456 is a paper account"]),
        ("live", 7497, ["U7654321"], ["mode is live but port 7497 is the TWS paper default port; the TWS live default is 7496"]),
        ("live", 4002, ["U7654321"], ["mode is live but port 4002 is the IB Gateway paper default port"]),
        ("live", 4002, ["DU1", "DU2"], ["mode is live but DU1, DU2 are paper accounts", "mode is live but port 4002"]),
        ("paper", 7497, [], ["no managed accounts reported on port 7497: cannot verify that this is a paper account"]),
    ],
)
def test_paper_live_problems(mode: str, port: int, accounts: list[str], expected: list[str]) -> None:
    problems = paper_live_problems(mode, port, accounts)
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start)
        assert "\n" not in problem


def test_paper_live_problems_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError):
        paper_live_problems("demo", 7497, ["DU1"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "mode, port, accounts, expected",
    [
        ("paper", 7497, ["DU1"], []),
        ("paper", 7000, ["U1"], ["ibkr.E004"]),  # paper config, live account: the guard
        ("paper", 7000, ["DU1", "U2"], ["ibkr.E004"]),
        ("live", 7000, ["DU1"], ["ibkr.E006"]),  # live config, paper account: the guard
        ("paper", 7497, [], ["ibkr.E007"]),  # no accounts: cannot tell (silenceable)
        ("live", 7496, [], ["ibkr.E007"]),
        ("paper", 7496, ["DU1"], ["ibkr.E008"]),  # the accounts prove paper; the port is odd (silenceable)
        ("live", 4002, ["U1"], ["ibkr.E008"]),
        ("paper", 4001, ["U1"], ["ibkr.E004", "ibkr.E008"]),
        ("paper", 7496, [], ["ibkr.E007", "ibkr.E009"]),  # no accounts, and the port says live: the guard
        ("live", 4002, [], ["ibkr.E007", "ibkr.E009"]),
    ],
)
def test_account_kind_findings_have_distinct_ids(mode: str, port: int, accounts: list[str],
                                                 expected: list[str]) -> None:
    from session.guard import GUARD_IDS, SILENCEABLE_IDS, ibkr_findings

    results = ibkr_findings(mode, port, accounts)
    assert [r.id for r in results] == expected
    assert [r.message for r in results] == paper_live_problems(mode, port, accounts)
    for r in results:
        assert r.level.name == "ERROR" and r.hint
        assert (r.id in GUARD_IDS) != (r.id in SILENCEABLE_IDS)
        if r.id in GUARD_IDS:
            assert "cannot be silenced" in r.hint
        else:
            assert f"silence {r.id}" in r.hint


def test_guard_and_silenceable_ids_are_the_documented_ones() -> None:
    from session.guard import GUARD_IDS, SILENCEABLE_IDS

    assert sorted(GUARD_IDS) == ["ibkr.E004", "ibkr.E006", "ibkr.E009"]
    assert sorted(SILENCEABLE_IDS) == ["guard.E001", "guard.W001", "ibkr.E007", "ibkr.E008"]
    docs = (REPO / "docs" / "BROKERS.md").read_text()
    readme = (REPO / "README.md").read_text()
    for id_ in [*GUARD_IDS, *SILENCEABLE_IDS]:
        assert f"`{id_}`" in docs, f"{id_} is not in docs/BROKERS.md"
    for id_ in GUARD_IDS:
        assert f"`{id_}`" in readme, f"{id_} is not in the README's Security section"


def test_fake_tws_serves_a_full_ib_async_session(tws: FakeTWS) -> None:
    # The default (non-read-only) connect of ib_async, as an engine would make it: the
    # fake must answer every startup request, in a thread with its own loop.
    from ib_async import IB

    outcome: dict[str, object] = {}

    def connect() -> None:
        async def main() -> None:
            ib = IB()
            await ib.connectAsync("127.0.0.1", tws.port, clientId=3, timeout=REPLY_TIMEOUT)
            outcome["accounts"] = ib.managedAccounts()
            outcome["positions"] = ib.positions()
            ib.disconnect()

        asyncio.run(main())

    worker = threading.Thread(target=connect)
    started = time.monotonic()
    worker.start()
    worker.join(5)
    assert time.monotonic() - started < TIMEOUT  # no startup request left waiting for its timeout
    assert outcome == {"accounts": ["DU123456"], "positions": []}
    assert {5, 6, 7, 61, 71, 76, 99} <= set(tws.connections[0].message_ids)
