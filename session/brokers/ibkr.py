"""Interactive Brokers (TWS / IB Gateway) through ib_async: reachability probe and what the accounts say.

What the accounts and port say against the configured mode is :func:`paper_live_findings`;
which of those findings refuse a run whatever the config says is the guard's decision
(``session/guard.py``).

The probe opens a read-only API connection with its own client id (never the
engine's: TWS allows one connection per client id, and taking the engine's would
lock it out or be refused), reads the managed accounts and TWS's clock, and leaves.

Threading: the precheck runs probes in a ThreadPoolExecutor. ib_async and eventkit
look up "the current event loop" in several places, so :func:`probe_ibkr` runs each
probe on a fresh event loop in a thread of its own. It never touches the caller's
loop, works from any thread, any number of times, concurrently.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from session.brokers import run_with_deadline

PAPER_DEFAULT_PORTS: dict[int, str] = {7497: "TWS paper", 4002: "IB Gateway paper"}
LIVE_DEFAULT_PORTS: dict[int, str] = {7496: "TWS live", 4001: "IB Gateway live"}
# Each live default port and its paper counterpart on the same product.
_PAPER_PORT_FOR_LIVE = {7496: 7497, 4001: 4002}
_LIVE_PORT_FOR_PAPER = {paper: live for live, paper in _PAPER_PORT_FOR_LIVE.items()}
# IBKR paper-trading account ids start with DU; live ones do not (U..., F..., I...).
PAPER_ACCOUNT_PREFIX = "DU"
# TWS error code: "Unable to connect as the client id is already in use".
CLIENT_ID_IN_USE = 326

# Extra wait beyond the caller's timeout before a probe is abandoned (see run_with_deadline).
_DEADLINE_GRACE_S = 0.5
_MIN_CONNECT_BUDGET_S = 0.25

IbkrStatus = Literal["ok", "refused", "timeout", "client_id_in_use", "error"]

_LOG = logging.getLogger(__name__)
# ib_async logs a failed connect at ERROR ("API connection failed: TimeoutError()"); the
# probe result already says that in words a user can act on. Its records are re-emitted
# here at DEBUG so that --verbose still shows them and normal output stays clean.
_LIBRARY_LOG = logging.getLogger(__name__ + ".library")
_LIBRARY_LOGGERS = ("ib_async", "eventkit")
_quiet_lock = threading.Lock()
_quieted = False


@dataclass
class IbkrProbeResult:
    status: IbkrStatus
    message: str  # one line
    accounts: list[str] = field(default_factory=list)
    server_time: datetime | None = None  # TWS's clock (UTC), from reqCurrentTime, for clock skew
    latency_ms: float = 0.0
    # This machine's clock at the moment TWS read its own: the midpoint of the request, so that
    # a busy machine or a slow disconnect after the reply never reads as clock skew.
    observed_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def probe_ibkr(host: str, port: int, client_id: int, *, timeout: float = 5.0) -> IbkrProbeResult:
    """Connect read-only to TWS / IB Gateway, read accounts and server time, disconnect.

    Never raises; returns within about ``timeout`` seconds (plus a half-second
    backstop). Safe to call from worker threads while other probes run.
    """
    _quiet_library_logging()
    where = f"{host}:{port}"
    # The deadline counts from the call, so the whole probe (a cold import of ib_async
    # included) stays within timeout + grace: that is the promise to the precheck.
    called = time.monotonic()

    def elapsed_ms() -> float:
        return (time.monotonic() - called) * 1000.0

    def on_deadline() -> IbkrProbeResult:
        return IbkrProbeResult("timeout", _timeout_message(where, timeout), latency_ms=elapsed_ms())

    def work() -> IbkrProbeResult:
        # asyncio.run: a new loop owned by this (new) thread, closed afterwards.
        return asyncio.run(_probe(host, port, client_id, timeout, called))

    try:
        return run_with_deadline(work, timeout + _DEADLINE_GRACE_S, on_deadline, name="ibkr-probe")
    except Exception as exc:  # a bug here or in ib_async is a failed check, not a crash
        return IbkrProbeResult(
            "error", f"unexpected failure probing {where}: {type(exc).__name__}: {exc}", latency_ms=elapsed_ms()
        )


async def _probe(host: str, port: int, client_id: int, timeout: float, called: float) -> IbkrProbeResult:
    where = f"{host}:{port}"
    try:
        from ib_async import IB, StartupFetchNONE
    except ImportError:
        return IbkrProbeResult("error", "the ib_async package is not installed (pip install ib_async)")
    # Latency is TWS's: measured from after the (possibly cold) import of ib_async.
    started = time.monotonic()
    # What is left of the caller's timeout after the import (floored, so that a slow
    # import never leaves the connection no time at all).
    budget = max(timeout - (started - called), min(timeout, _MIN_CONNECT_BUDGET_S))

    def elapsed_ms() -> float:
        return (time.monotonic() - started) * 1000.0

    ib = IB()
    errors: list[tuple[int, str]] = []
    id_in_use = asyncio.Event()
    peer_closed = asyncio.Event()

    def on_error(req_id: int, code: int, text: str, contract: Any = None) -> None:
        errors.append((code, text))
        if code == CLIENT_ID_IN_USE:
            id_in_use.set()

    def on_socket_closed(*args: Any) -> None:
        # TWS / the gateway dropped the connection before the API was ready (e.g. a host
        # not in its trusted IPs). ib_async would go on waiting for its own timeout.
        peer_closed.set()

    ib.errorEvent += on_error
    ib.client.conn.disconnected += on_socket_closed
    # readonly + no startup fetch: the probe only needs the handshake, so it asks TWS for
    # nothing but what connectAsync always requests (positions).
    connecting = asyncio.ensure_future(
        ib.connectAsync(host, port, clientId=client_id, timeout=budget, readonly=True, fetchFields=StartupFetchNONE)
    )
    id_wait = asyncio.ensure_future(id_in_use.wait())
    closed_wait = asyncio.ensure_future(peer_closed.wait())
    try:
        await asyncio.wait({connecting, id_wait, closed_wait}, timeout=budget, return_when=asyncio.FIRST_COMPLETED)
        if id_in_use.is_set():
            return IbkrProbeResult(
                "client_id_in_use",
                f"client id {client_id} is already in use on {where}; "
                "set broker.ibkr.probe_client_id to an id no other API client uses",
                latency_ms=elapsed_ms(),
            )
        if not connecting.done():
            if peer_closed.is_set():
                return IbkrProbeResult(
                    "error",
                    f"{where} accepted the connection and then closed it during the API handshake: "
                    "is this host in the trusted IPs of TWS/IB Gateway (or 'localhost only' set)?",
                    latency_ms=elapsed_ms(),
                )
            return IbkrProbeResult("timeout", _timeout_message(where, timeout), latency_ms=elapsed_ms())
        failure = connecting.exception()
        if failure is not None:
            return _connect_failure(failure, where, timeout, errors, elapsed_ms())

        return await _connected(ib, where, elapsed_ms(), remaining=max(budget - (time.monotonic() - started), 0.2))
    finally:
        for task in (connecting, id_wait, closed_wait):
            if not task.done():
                task.cancel()
        await asyncio.gather(connecting, id_wait, closed_wait, return_exceptions=True)
        ib.errorEvent -= on_error
        ib.client.conn.disconnected -= on_socket_closed
        ib.disconnect()
        # One loop turn so the transport's connection_lost runs before asyncio.run
        # closes the loop (otherwise: "Event loop is closed" noise at exit).
        await asyncio.sleep(0)


async def _connected(ib: Any, where: str, connected_ms: float, *, remaining: float) -> IbkrProbeResult:
    """The handshake is done: read the accounts and (within ``remaining`` seconds) TWS's clock."""
    accounts = [str(a) for a in ib.managedAccounts()]
    server_time: datetime | None = None
    observed_at: datetime | None = None
    try:
        sent = datetime.now(UTC)
        tws_time = await asyncio.wait_for(ib.reqCurrentTimeAsync(), remaining)
        received = datetime.now(UTC)
        # TWS answers in whole seconds (truncated): its clock read somewhere in [t, t + 1 s).
        server_time = tws_time.astimezone(UTC) + timedelta(seconds=0.5)
        observed_at = sent + (received - sent) / 2
    except (TimeoutError, ValueError, OSError, ConnectionError):
        server_time = None  # connected fine; skew is then unknown, not a failure
    version = ib.client.serverVersion()
    shown = ", ".join(accounts) if accounts else "none"
    message = f"connected to {where} (API version {version}); accounts: {shown}"
    if server_time is None:
        message += "; no current-time reply (clock skew unknown)"
    return IbkrProbeResult("ok", message, accounts=accounts, server_time=server_time, latency_ms=connected_ms,
                           observed_at=observed_at)


def _connect_failure(
    failure: BaseException, where: str, timeout: float, errors: list[tuple[int, str]], latency_ms: float
) -> IbkrProbeResult:
    if isinstance(failure, ConnectionRefusedError):
        return IbkrProbeResult("refused", f"TWS/IB Gateway not running on {where}", latency_ms=latency_ms)
    if isinstance(failure, (asyncio.TimeoutError, TimeoutError)):
        return IbkrProbeResult("timeout", _timeout_message(where, timeout), latency_ms=latency_ms)
    if isinstance(failure, OSError) and failure.strerror:
        detail = failure.strerror  # "Name or service not known", "No route to host"...
    else:
        detail = str(failure) or type(failure).__name__
    if errors:
        code, text = errors[-1]
        detail += f" (TWS error {code}: {text})"
    return IbkrProbeResult("error", " ".join(f"cannot connect to {where}: {detail}".split()), latency_ms=latency_ms)


def _timeout_message(where: str, timeout: float) -> str:
    return (
        f"no API handshake from {where} within {timeout:g}s: is the API enabled in TWS "
        "(Configure > API > Settings > Enable ActiveX and Socket Clients), is this host in "
        "the trusted IPs, or is the gateway still starting or waiting for login?"
    )


# What a probe's accounts and port say against the configured mode (see paper_live_findings).
# "live_account" / "paper_account": the accounts prove the other kind. "no_accounts": the kind
# cannot be read. "port_mismatch": the port is the other kind's default, but accounts were
# reported and they decide. "port_only_evidence": the port is the other kind's default and no
# account says otherwise.
PaperLiveKind = Literal["live_account", "paper_account", "no_accounts", "port_mismatch", "port_only_evidence"]


@dataclass(frozen=True)
class PaperLiveFinding:
    kind: PaperLiveKind
    message: str  # one line


def is_paper_account(account: str) -> bool:
    return account.strip().upper().startswith(PAPER_ACCOUNT_PREFIX)


def paper_live_findings(mode: str, port: int, accounts: list[str]) -> list[PaperLiveFinding]:
    """What contradicts the configured trading mode, one finding each (empty: consistent).

    paper: every account must be a paper account (DU...) and the port must not be a
    live default (7496, 4001). live: no paper accounts and no paper default port
    (7497, 4002). No accounts at all is a finding too: the mode could not be verified.
    Which findings may be silenced is the guard's decision (session/guard.py).
    """
    if mode not in ("paper", "live"):
        raise ValueError(f"mode must be 'paper' or 'live', not {mode!r}")
    findings: list[PaperLiveFinding] = []
    paper = [a for a in accounts if is_paper_account(a)]
    live = [a for a in accounts if a not in paper]
    if not accounts:
        findings.append(PaperLiveFinding(
            "no_accounts", f"no managed accounts reported on port {port}: cannot verify that this is a {mode} account"))
    if mode == "paper" and live:
        findings.append(PaperLiveFinding("live_account", (
            f"mode is paper but {', '.join(live)} {'is a live account' if len(live) == 1 else 'are live accounts'} "
            f"(paper account ids start with {PAPER_ACCOUNT_PREFIX}); point broker.ibkr.port at the paper TWS/IB Gateway")))
    if mode == "live" and paper:
        findings.append(PaperLiveFinding("paper_account", (
            f"mode is live but {', '.join(paper)} {'is a paper account' if len(paper) == 1 else 'are paper accounts'}; "
            "point broker.ibkr.port at the live TWS/IB Gateway or set the mode to paper")))
    port_line = _port_contradiction(mode, port)
    if port_line:
        if accounts:
            findings.append(PaperLiveFinding("port_mismatch", port_line))
        else:
            findings.append(PaperLiveFinding(
                "port_only_evidence", port_line + "; with no accounts reported, the port is the only evidence"))
    return findings


def _port_contradiction(mode: str, port: int) -> str | None:
    if mode == "paper" and port in LIVE_DEFAULT_PORTS:
        return (f"mode is paper but port {port} is the {LIVE_DEFAULT_PORTS[port]} default port; "
                f"the {PAPER_DEFAULT_PORTS[_PAPER_PORT_FOR_LIVE[port]]} default is {_PAPER_PORT_FOR_LIVE[port]}")
    if mode == "live" and port in PAPER_DEFAULT_PORTS:
        return (f"mode is live but port {port} is the {PAPER_DEFAULT_PORTS[port]} default port; "
                f"the {LIVE_DEFAULT_PORTS[_LIVE_PORT_FOR_PAPER[port]]} default is {_LIVE_PORT_FOR_PAPER[port]}")
    return None


def paper_live_problems(mode: str, port: int, accounts: list[str]) -> list[str]:
    """The messages of :func:`paper_live_findings`, one line each (empty: consistent)."""
    return [finding.message for finding in paper_live_findings(mode, port, accounts)]


class _ToDebug(logging.Handler):
    """Re-emits a library's records through our logger at DEBUG, without tracebacks."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed library log call must not break a probe
            text = str(record.msg)
        _LIBRARY_LOG.debug("%s: %s", record.name, text)


def _quiet_library_logging() -> None:
    global _quieted
    with _quiet_lock:
        if _quieted:
            return
        for name in _LIBRARY_LOGGERS:
            library_logger = logging.getLogger(name)
            library_logger.addHandler(_ToDebug())
            library_logger.propagate = False
        _quieted = True
