"""HTTP sessions that never follow a redirect and never read more of a reply than they
should: for notifications (channels, health-check pings) and the Kite client.

Both call URLs that a config names and that carry secrets (a webhook token in the path,
an API key header, an HMAC signature, Kite's Authorization). A misbehaving or hostile
endpoint must not be able to:

- **bounce the request elsewhere.** requests follows redirects and strips only
  ``Authorization`` on the way, so custom headers, the body and any signature would go to
  whatever host a 30x names. Worse, even with ``allow_redirects=False`` requests reads
  the whole body of a 30x (``Session.send`` consumes it to prepare ``response.next``).
  ``BoundedAdapter`` therefore refuses a 30x at the transport, before the session sees
  it: ``RedirectRefused`` names only the host it pointed to (a Location may carry a
  token of its own).
- **hold tradeday's memory or time.** ``response.content`` reads a whole body before a
  caller can look at its first bytes (a 1 GB error page took tradeday to 2.2 GB). The
  adapter streams every reply and keeps at most its limit, reading for at most the
  request's read timeout in total (a server trickling one byte at a time stays within
  every per-read timeout); then it closes the connection instead of draining it.

This module imports requests: callers import it inside the code that sends, so that the
CLI's start-up does not pay for requests.
"""
from __future__ import annotations

import http.client
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error

# What notifications keep of any reply: enough for an error message or a Retry-After in a
# JSON body, nothing a flood can use.
REPLY_BODY_MAX = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
# When a caller gives no read timeout, the longest a body may take to arrive.
_DEFAULT_READ_SECONDS = 30.0

Cut = Literal["", "size", "time", "broken"]


class RedirectRefused(requests.exceptions.RequestException):
    """A 30x answer: not followed, and nothing was sent to the host it names."""

    def __init__(self, status: int, target_host: str, *, request: requests.PreparedRequest) -> None:
        super().__init__(f"HTTP {status} redirect to {target_host} not followed", request=request)
        self.status = status
        self.target_host = target_host


class ReplyTooLarge(requests.exceptions.RequestException):
    """A reply body longer than the adapter's limit (raised only with ``oversize="raise"``)."""

    def __init__(self, status: int, limit: int, *, request: requests.PreparedRequest) -> None:
        super().__init__(f"HTTP {status} reply larger than {format_size(limit)}; not read further", request=request)
        self.status = status
        self.limit = limit


@dataclass(frozen=True)
class CappedBody:
    data: bytes  # at most the limit
    cut: Cut  # "" the whole body; else why reading stopped: the limit, the time bound, a broken connection


def format_size(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


def read_capped(response: requests.Response, limit: int, seconds: float) -> CappedBody:
    """Read at most ``limit`` bytes of a streamed ``response`` within ``seconds``.

    Each read returns what one receive brings (``read1``), so a trickling server cannot
    stretch one read past the read timeout, and the time bound is checked between reads.
    Content-Encoding is decoded with its output bounded too (a gzip bomb stays small).
    Never raises for a broken body: what arrived is returned.
    """
    raw = response.raw
    buffer = bytearray()
    end = time.monotonic() + max(seconds, 0.0)
    try:
        # One byte past the limit tells a body of exactly ``limit`` bytes from a longer one.
        while len(buffer) <= limit:
            if time.monotonic() >= end:
                return CappedBody(bytes(buffer[:limit]), "time")
            chunk = raw.read1(min(_CHUNK, limit + 1 - len(buffer)), decode_content=True)
            if not chunk:
                return CappedBody(bytes(buffer), "")
            buffer += chunk
    except (OSError, ValueError, Urllib3Error, http.client.HTTPException):
        return CappedBody(bytes(buffer[:limit]), "broken")
    return CappedBody(bytes(buffer[:limit]), "size")


def _read_seconds(timeout: float | tuple[float, float] | tuple[float, None] | None) -> float:
    read = timeout[1] if isinstance(timeout, tuple) else timeout
    return float(read) if read is not None else _DEFAULT_READ_SECONDS


class BoundedAdapter(HTTPAdapter):
    """An HTTPAdapter that refuses redirects and reads at most ``limit`` bytes of a reply
    (``error_limit`` for a 4xx/5xx). ``oversize="cut"`` keeps the first bytes of a longer
    body; ``"raise"`` raises ReplyTooLarge (and a time-bound cut raises ReadTimeout, a
    broken body ChunkedEncodingError), for callers that must parse the whole reply."""

    def __init__(self, *, limit: int, error_limit: int | None = None,
                 oversize: Literal["cut", "raise"] = "cut") -> None:
        super().__init__()
        self.limit = limit
        self.error_limit = limit if error_limit is None else error_limit
        self.oversize = oversize

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        response = super().send(request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        status = response.status_code
        try:
            if status in REDIRECT_STATUSES:
                raise RedirectRefused(status, redirect_host(request.url or "", response.headers.get("Location")),
                                      request=request)
            limit = self.error_limit if status >= 400 else self.limit
            body = read_capped(response, limit, _read_seconds(timeout))
        finally:
            # The body is never drained: whatever was not read goes with the connection.
            response.raw.close()
            response.raw.release_conn()
        if body.cut and self.oversize == "raise":
            if body.cut == "size":
                raise ReplyTooLarge(status, limit, request=request)
            if body.cut == "time":
                raise requests.exceptions.ReadTimeout(f"HTTP {status} reply not read within its timeout", request=request)
            raise requests.exceptions.ChunkedEncodingError(f"HTTP {status} reply broke off", request=request)
        response._content = body.data  # what ``response.content`` returns from now on
        return response


def bounded_session(*, limit: int, error_limit: int | None = None,
                    oversize: Literal["cut", "raise"] = "cut", session: requests.Session | None = None) -> requests.Session:
    """``session`` (or a new one) with a BoundedAdapter for http and https, and no redirects."""
    session = session if session is not None else requests.Session()
    session.max_redirects = 0  # belt and braces: the adapter already refuses them
    adapter = BoundedAdapter(limit=limit, error_limit=error_limit, oversize=oversize)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def host_of(url: str) -> str:
    """``host`` or ``host:port`` of ``url`` (no user, path or query: those may be secrets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "an invalid address"
    if not host:
        return "an unnamed host"
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def redirect_host(request_url: str, location: str | None) -> str:
    """The host a redirect points to; a relative Location points to the request's own."""
    if not location:
        return "nowhere (no Location header)"
    try:
        target = urljoin(request_url, location.strip())
    except ValueError:
        return "an invalid address"
    return host_of(target)
