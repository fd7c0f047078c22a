"""Kite Connect (Zerodha): credentials, token freshness, a profile probe, the day's trades.

Only ``status == "ok"`` from :func:`probe_kite` means the token works. A network error,
a timeout or a 502 is *not* a pass: the token was never checked (the system this
replaces counted exactly that as a pass).

``kiteconnect`` is imported inside the functions that call Kite: importing it pulls in
Twisted and autobahn and installs a reactor (~0.2 s), which the CLI must not pay to
print ``--help``.
"""
from __future__ import annotations

import email.utils
import os
import re
import shlex
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from core.errors import EodError
from core.redact import GLOBAL_REDACTOR, Redactor
from session.brokers import run_with_deadline
from session.brokers.envfile import read_env_file

DEFAULT_ROOT = "https://api.kite.trade"
IST = ZoneInfo("Asia/Kolkata")
# Kite Connect access tokens expire at 06:00 IST the next morning (Kite Connect docs, "User").
TOKEN_EXPIRY_HOUR_IST = 6

# Names accepted inside the files, preferred first.
API_KEY_FILE_NAMES = ("KITE_API_KEY", "API_KEY")
ACCESS_TOKEN_FILE_NAMES = ("ACCESS_TOKEN", "KITE_ACCESS_TOKEN")
# Names read from the environment. Only the KITE_-prefixed ones: a generic API_KEY or
# ACCESS_TOKEN in a container's environment usually belongs to some other service, and
# sending it to Kite would hand that secret to a third party.
API_KEY_ENV = "KITE_API_KEY"
ACCESS_TOKEN_ENV = "KITE_ACCESS_TOKEN"

# Extra wait beyond the caller's timeout before a probe is abandoned (see run_with_deadline).
_DEADLINE_GRACE_S = 0.5
_MIN_REQUEST_TIMEOUT_S = 0.25
# The largest Kite reply read (a day's /trades: about 450 bytes a trade, and Kite caps a
# user at a few thousand orders a day); error replies are read up to 64 KiB.
KITE_REPLY_MAX = 16 * 1024 * 1024
_MAX_MESSAGE_CHARS = 300

KiteStatus = Literal["ok", "token", "network", "server", "error"]


# --------------------------------------------------------------------------- credentials


@dataclass(repr=False)
class KiteCredentials:
    api_key: str | None
    access_token: str | None
    api_key_source: str | None  # "env:KITE_API_KEY" / "file:secrets/kite.env"
    access_token_source: str | None
    secrets_file: Path
    tokens_file: Path

    def __repr__(self) -> str:
        # Says where each value came from and whether it is set; never the value.
        def shown(value: str | None, source: str | None) -> str:
            return f"<set from {source}>" if value else "<missing>"

        return (
            f"KiteCredentials(api_key={shown(self.api_key, self.api_key_source)}, "
            f"access_token={shown(self.access_token, self.access_token_source)}, "
            f"secrets_file={str(self.secrets_file)!r}, tokens_file={str(self.tokens_file)!r})"
        )

    __str__ = __repr__


def load_kite_credentials(secrets_file: Path, tokens_file: Path, environ: Mapping[str, str]) -> KiteCredentials:
    """Read the API key from ``secrets_file`` and the access token from ``tokens_file``.

    ``KITE_API_KEY`` / ``KITE_ACCESS_TOKEN`` in ``environ`` override the files (for
    containers). A missing file is not an error here: the field is None and the
    precheck reports it. A malformed or unreadable file raises ConfigError (file:line,
    never the value). Values found are registered with the global redactor so that no
    log line or message can print them.
    """
    secrets_file, tokens_file = Path(secrets_file), Path(tokens_file)
    api_key, api_key_source = _pick(environ, API_KEY_ENV, secrets_file, API_KEY_FILE_NAMES)
    access_token, access_token_source = _pick(environ, ACCESS_TOKEN_ENV, tokens_file, ACCESS_TOKEN_FILE_NAMES)
    GLOBAL_REDACTOR.add(api_key)
    GLOBAL_REDACTOR.add(access_token)
    return KiteCredentials(
        api_key=api_key,
        access_token=access_token,
        api_key_source=api_key_source,
        access_token_source=access_token_source,
        secrets_file=secrets_file,
        tokens_file=tokens_file,
    )


def _pick(
    environ: Mapping[str, str], env_name: str, path: Path, file_names: tuple[str, ...]
) -> tuple[str | None, str | None]:
    # The contract: environment variables of the same names as in the files
    # override them. The KITE_-prefixed name wins; a bare API_KEY / ACCESS_TOKEN is
    # honoured too, but its source is reported as such so the precheck can warn that a
    # generic name may belong to another service.
    for name in (env_name, *(n for n in file_names if n != env_name)):
        from_env = (environ.get(name) or "").strip()
        if from_env:
            return from_env, f"env:{name}"
    try:
        values = read_env_file(path)
    except FileNotFoundError:
        return None, None
    for name in file_names:
        value = values.get(name, "").strip()
        if value:
            return value, f"file:{path}"
    return None, None


def token_file_written_at(tokens_file: Path) -> datetime | None:
    """When the tokens file was last written (its mtime, UTC), or None if it is missing.

    The login flow rewrites the file with each new token, so its mtime is when the
    token was issued; feed it to :func:`token_is_stale`.
    """
    try:
        mtime = Path(tokens_file).stat().st_mtime
    except OSError:
        return None
    return datetime.fromtimestamp(mtime, tz=UTC)


def file_permission_problem(path: Path, shown: str | None = None) -> str | None:
    """A one-line problem if a secrets file is open to group/others, else None.

    None also for a missing file (reported elsewhere) and on non-POSIX systems, where
    mode bits do not describe who can read a file. ``shown`` is the path as the message
    names it (relative to the config's root), default ``path``.
    """
    if os.name != "posix":
        return None
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot check the permissions of {path}: {exc.strerror or type(exc).__name__}"
    if not mode & 0o077:
        return None
    if mode & 0o044:
        what = "readable"
    elif mode & 0o022:
        what = "writable"
    else:
        what = "accessible"
    return f"{what} by group/others (mode {mode:04o}); run chmod 600 {shlex.quote(shown or str(path))}"


# --------------------------------------------------------------------------- token expiry


def kite_token_expiry_before(now: datetime) -> datetime:
    """The most recent 06:00 Asia/Kolkata at or before ``now`` (returned in IST).

    ``now`` must be timezone-aware: a naive time could be read in the wrong zone and
    call a dead token fresh.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(IST)
    expiry = local.replace(hour=TOKEN_EXPIRY_HOUR_IST, minute=0, second=0, microsecond=0)
    if expiry > local:
        expiry -= timedelta(days=1)  # IST has no DST: a day is always 24 h
    return expiry


def token_is_stale(written_at: datetime, now: datetime) -> bool:
    """True if a token written at ``written_at`` has expired by ``now``.

    A token dies at the first 06:00 IST after it was issued, so it is stale exactly
    when it was written before the most recent 06:00 IST. Both times must be aware.
    """
    if written_at.tzinfo is None or written_at.utcoffset() is None:
        raise ValueError("written_at must be timezone-aware")
    return written_at < kite_token_expiry_before(now)


# --------------------------------------------------------------------------- probe


@dataclass
class KiteProbeResult:
    status: KiteStatus
    message: str  # one line, no secrets
    user_id: str | None = None
    user_name: str | None = None
    broker: str | None = None
    server_time: datetime | None = None  # HTTP Date header of Kite's reply (UTC), for clock skew
    latency_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def probe_kite(api_key: str, access_token: str, *, root: str = DEFAULT_ROOT, timeout: float = 5.0) -> KiteProbeResult:
    """Check the token with ``GET /user/profile`` through the official client. Never raises.

    Returns within about ``timeout`` seconds (plus a half-second backstop), whatever the
    network does. Status: ``ok`` (token valid), ``token`` (rejected by Kite, or empty),
    ``network`` (no connection / no answer: the token was NOT checked), ``server``
    (Kite answered 5xx or an HTML error page), ``error`` (anything else).
    """
    redact = Redactor([api_key or "", access_token or ""])
    host = _host_of(root)
    if not api_key or not access_token:
        missing = "API key" if not api_key else "access token"
        return KiteProbeResult("token", f"no {missing} to check", latency_ms=0.0)
    # The deadline counts from the call, so the whole probe (a cold import of the client
    # library included) stays within timeout + grace: that is the promise to the precheck.
    called = time.monotonic()

    def elapsed_ms() -> float:
        return (time.monotonic() - called) * 1000.0

    def on_deadline() -> KiteProbeResult:
        return KiteProbeResult("network", f"no answer from Kite at {host} within {timeout:g}s", latency_ms=elapsed_ms())

    try:
        result = run_with_deadline(
            lambda: _probe_kite_now(api_key, access_token, root, timeout, called),
            timeout + _DEADLINE_GRACE_S,
            on_deadline,
            name="kite-probe",
        )
    except Exception as exc:  # a bug here or in the client library is a failed check, not a crash
        result = KiteProbeResult("error", f"unexpected failure: {type(exc).__name__}: {exc}", latency_ms=elapsed_ms())
    result.message = _one_line(redact(GLOBAL_REDACTOR(result.message)))
    return result


def _probe_kite_now(api_key: str, access_token: str, root: str, timeout: float, called: float) -> KiteProbeResult:
    try:
        kite, seen = _client(api_key, access_token, root, timeout, called)
    except ImportError:
        return KiteProbeResult("error", "the kiteconnect package is not installed (pip install kiteconnect)")
    # Latency is Kite's: measured from after the (possibly cold) import of the client.
    started = time.monotonic()
    try:
        try:
            profile = kite.profile()
        except Exception as exc:
            status, message = _classify_failure(exc, seen.get("status"), _host_of(root), timeout)
            return KiteProbeResult(
                status,
                message,
                server_time=_parse_http_date(seen.get("date")),
                latency_ms=(time.monotonic() - started) * 1000.0,
            )
    finally:
        kite.reqsession.close()
    latency_ms = (time.monotonic() - started) * 1000.0
    server_time = _parse_http_date(seen.get("date"))
    if not isinstance(profile, dict) or not profile.get("user_id"):
        return KiteProbeResult(
            "error", "Kite's profile reply has no user_id", server_time=server_time, latency_ms=latency_ms
        )
    user_id = str(profile["user_id"])
    user_name = str(profile["user_name"]) if profile.get("user_name") else None
    broker = str(profile["broker"]) if profile.get("broker") else None
    who = ", ".join(part for part in (user_name, broker) if part)
    return KiteProbeResult(
        "ok",
        f"token valid for {user_id}" + (f" ({who})" if who else ""),
        user_id=user_id,
        user_name=user_name,
        broker=broker,
        server_time=server_time,
        latency_ms=latency_ms,
    )


# --------------------------------------------------------------------------- trades


_EOD_HINTS: dict[str, str] = {
    "token": "log in to Kite again to get a fresh access token (tokens expire at 06:00 IST)",
    "network": "check the network path to Kite and run the end of day again",
    "server": "Kite is failing on its side; run the end of day again later",
    "error": "run the end of day again; if it keeps failing, report it with the log",
}


def fetch_kite_trades(
    api_key: str, access_token: str, *, root: str = DEFAULT_ROOT, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Today's executed trades (``GET /trades``) in Kite's shape.

    The client turns 19-character timestamps (``fill_timestamp``, ``order_timestamp``,
    ``exchange_timestamp``) into naive datetimes in exchange time (IST). Any failure
    raises EodError with a one-line message that names neither the key nor the token.
    """
    redact = Redactor([api_key or "", access_token or ""])
    host = _host_of(root)

    def fail(status: str, message: str) -> EodError:
        text = _one_line(redact(GLOBAL_REDACTOR(message)))
        return EodError(f"could not fetch today's trades from Kite: {text}", hint=_EOD_HINTS[status])

    if not api_key or not access_token:
        raise fail("token", "no API key or access token")

    called = time.monotonic()

    def work() -> tuple[str, Any]:
        try:
            kite, seen = _client(api_key, access_token, root, timeout, called)
        except ImportError:
            return "error", "the kiteconnect package is not installed (pip install kiteconnect)"
        try:
            return "ok", kite.trades()
        except Exception as exc:
            return _classify_failure(exc, seen.get("status"), host, timeout)
        finally:
            kite.reqsession.close()

    def on_deadline() -> tuple[str, Any]:
        return "network", f"no answer from Kite at {host} within {timeout:g}s"

    try:
        status, payload = run_with_deadline(work, timeout + _DEADLINE_GRACE_S, on_deadline, name="kite-trades")
    except Exception as exc:  # a bug in the client library
        raise fail("error", f"unexpected failure: {type(exc).__name__}: {exc}") from None
    if status != "ok":
        raise fail(status, str(payload))
    if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
        raise fail("error", "Kite's trades reply is not a list of trades")
    return payload


# --------------------------------------------------------------------------- helpers


def _client(api_key: str, access_token: str, root: str, timeout: float, called: float) -> tuple[Any, dict[str, Any]]:
    """A KiteConnect client plus a dict filled with the status and Date of its last reply.

    kiteconnect sends every call through ``self.reqsession`` (a requests.Session) and
    keeps only the decoded body; a response hook on that session sees the raw reply, so
    the Date header is read from the same request, not from a second one. The request
    gets what is left of ``timeout`` (counted from ``called``) after the import.
    """
    from kiteconnect import KiteConnect

    from session.bounded_http import REPLY_BODY_MAX, bounded_session

    kite = KiteConnect(api_key, root=root, timeout=_remaining(timeout, called))
    kite.set_access_token(access_token)
    # kiteconnect asks requests to follow redirects, which would send the API key (in
    # everything but Authorization) to whatever host a 30x names, and reads every reply
    # whole. Its session gets an adapter that refuses both (docs/BROKERS.md, "Limits").
    bounded_session(limit=KITE_REPLY_MAX, error_limit=REPLY_BODY_MAX, oversize="raise", session=kite.reqsession)
    seen: dict[str, Any] = {}

    def remember(response: Any, *args: Any, **kwargs: Any) -> None:
        seen["status"] = response.status_code
        seen["date"] = response.headers.get("Date")

    kite.reqsession.hooks["response"].append(remember)
    return kite, seen


def _remaining(timeout: float, called: float) -> float:
    """The part of ``timeout`` left for the request after the client library was imported.

    A cold ``import kiteconnect`` takes a few tenths of a second; giving the request
    only what is left keeps the whole call near ``timeout``. The floor keeps a slow
    import from leaving the request no time at all.
    """
    return max(timeout - (time.monotonic() - called), min(timeout, _MIN_REQUEST_TIMEOUT_S))


def _classify_failure(exc: Exception, http_status: int | None, host: str, timeout: float) -> tuple[KiteStatus, str]:
    import requests
    from kiteconnect import exceptions as kite_errors

    from session.bounded_http import RedirectRefused, ReplyTooLarge, format_size

    if isinstance(exc, RedirectRefused):
        return "error", (f"Kite at {host} answered HTTP {exc.status}, a redirect to {exc.target_host}; tradeday does "
                         "not follow redirects (check broker.kite.api_root)")
    if isinstance(exc, ReplyTooLarge):
        status: KiteStatus = "server" if exc.status >= 500 else "error"
        return status, f"Kite at {host} answered HTTP {exc.status} with a reply larger than {format_size(exc.limit)}; not read further"
    if isinstance(exc, kite_errors.TokenException):
        return "token", f"token rejected by Kite: {exc}"
    if isinstance(exc, kite_errors.DataException):
        # Raised for replies that are not JSON (e.g. a load balancer's HTML 502 page);
        # its text embeds the whole body, so only the status is reported.
        code = http_status or getattr(exc, "code", None)
        return "server", f"Kite answered with an error page instead of JSON (HTTP {code})"
    if isinstance(exc, kite_errors.KiteException):
        code = http_status or getattr(exc, "code", 0) or 0
        if code >= 500 or isinstance(exc, kite_errors.NetworkException):
            return "server", f"Kite server error (HTTP {code}): {exc}"
        return "error", f"Kite refused the request (HTTP {code}, {type(exc).__name__}): {exc}"
    if isinstance(exc, requests.exceptions.Timeout):
        return "network", f"no answer from Kite at {host} within {timeout:g}s"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "network", f"cannot connect to Kite at {host}: {_connection_reason(exc)}"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "network", f"Kite's reply from {host} broke off before its end"
    if isinstance(exc, requests.exceptions.RequestException):
        return "error", f"request to Kite at {host} failed: {type(exc).__name__}"
    return "error", f"unexpected reply from Kite: {type(exc).__name__}: {exc}"


_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def _connection_reason(exc: Exception) -> str:
    """'Connection refused' out of requests' long nested ConnectionError text."""
    match = _ERRNO_TEXT.search(str(exc))
    if match:
        return match.group(1).strip()
    text = str(exc)
    for known in ("Name or service not known", "Connection refused", "Connection reset", "certificate verify failed"):
        if known in text:
            return known
    return type(exc).__name__


def _parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000" means UTC with unknown local zone
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _host_of(root: str) -> str:
    try:
        parts = urlsplit(root)
        host = parts.hostname or root
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "the configured Kite root"


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE_CHARS:
        text = text[: _MAX_MESSAGE_CHARS - 1] + "…"
    return text
