"""Transports: one attempt to deliver one message to one channel, and what came of it.

Retrying, queueing and the outbox live in ``delivery`` and ``hub``; this module only
talks to the service and classifies the answer (sent / worth retrying / permanent). Error
texts it returns are scrubbed: requests' exceptions name the URL, and webhook URLs are
secrets.
"""
from __future__ import annotations

import json
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from core.redact import GLOBAL_REDACTOR, mask_url
from session.notify import format as fmt
from session.notify.config import (
    ChannelConfig,
    DiscordChannel,
    EmailChannel,
    SlackChannel,
    TelegramChannel,
    WebhookChannel,
    channel_secret_values,
)
from session.notify.message import NotificationMessage

if TYPE_CHECKING:  # pragma: no cover
    import requests

USER_AGENT = "tradeday-notify/1"

_URL_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)]+")
_REQUEST_PATH_RE = re.compile(r"(url: )\S+")


def scrub(text: str) -> str:
    """Remove secrets from an error text: registered values, any URL (masked to scheme
    and host) and the request path requests puts after ``url:``."""
    text = GLOBAL_REDACTOR(text)
    text = _URL_RE.sub(lambda m: mask_url(m.group(0)), text)
    return _REQUEST_PATH_RE.sub(r"\1…", text)


@dataclass(frozen=True)
class Attempt:
    """The outcome of one try. ``error`` is already scrubbed."""

    ok: bool
    retryable: bool = False
    retry_after: float | None = None
    error: str = ""
    status: int | None = None


def _parse_retry_after(headers: Mapping[str, str], body: bytes) -> float | None:
    header = headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                when = parsedate_to_datetime(header)
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                pass
    try:
        parsed = json.loads(body.decode("utf-8")) if body else None
    except ValueError:  # UnicodeDecodeError is one
        return None
    if isinstance(parsed, dict):
        # Discord: {"retry_after": 0.5}; Telegram: {"parameters": {"retry_after": 3}}.
        for value in (parsed.get("retry_after"), (parsed.get("parameters") or {}).get("retry_after")):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return max(0.0, float(value))
    return None


def redirect_error(status: int, target_host: str) -> str:
    """A 30x as a delivery failure: the status and the host it names, never its URL."""
    return (f"HTTP {status} redirect to {target_host} not followed "
            "(notifications go only to the configured URL; set it to the final address)")


def new_session() -> requests.Session:
    """An HTTP session for notifications: it follows no redirect and keeps at most
    REPLY_BODY_MAX of any reply (``session.bounded_http``)."""
    from session.bounded_http import REPLY_BODY_MAX, bounded_session

    return bounded_session(limit=REPLY_BODY_MAX)


def _describe_request_error(exc: BaseException, timeout: float) -> str:
    import requests

    detail = str(exc)
    if isinstance(exc, requests.Timeout):
        return f"timed out after {timeout:g}s"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error: " + scrub(detail)[:300]
    if isinstance(exc, requests.ConnectionError):
        lowered = detail.lower()
        if "refused" in lowered:
            return "connection refused"
        if "remotedisconnected" in lowered or "aborted" in lowered or "reset" in lowered:
            return "connection closed by the server without a response"
        if "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo" in lowered:
            return "host name not found"
        return "connection failed: " + scrub(detail)[:300]
    return f"{type(exc).__name__}: " + scrub(detail)[:300]


class Transport(ABC):
    """Sends to one configured channel. Not thread-safe: one per sending thread."""

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config
        for secret in channel_secret_values(config):
            GLOBAL_REDACTOR.add(secret)

    @property
    def name(self) -> str:
        return self.config.label

    @property
    def kind(self) -> str:
        return self.config.type

    @property
    def target(self) -> str:
        """Where it sends, safe to print."""
        return ""

    def describe(self) -> str:
        target = self.target
        return f"{self.name} ({self.kind} {target})" if target else f"{self.name} ({self.kind})"

    @abstractmethod
    def attempt(self, message: NotificationMessage, timeout: float) -> Attempt:
        """Try once; never raises for delivery problems."""

    def close(self) -> None:  # noqa: B027  (a no-op by design: only transports that hold a connection override it)
        """Release what the transport holds (an HTTP session, an SMTP connection)."""


class _RedactRecord:
    """Logging filter: urllib3 logs request paths at DEBUG ("POST /bot<token>/sendMessage")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if GLOBAL_REDACTOR:
            text = record.getMessage()
            clean = GLOBAL_REDACTOR(text)
            if clean != text:
                record.msg, record.args = clean, None
        return True


_URLLIB3_FILTER = _RedactRecord()


def _guard_urllib3_logs() -> None:
    # A filter on the very logger that creates the records runs whatever handlers the
    # application installs, so secrets cannot reach them through urllib3's debug lines.
    logger = logging.getLogger("urllib3.connectionpool")
    if _URLLIB3_FILTER not in logger.filters:
        logger.addFilter(_URLLIB3_FILTER)


class HttpTransport(Transport):
    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        self._session: requests.Session | None = None
        _guard_urllib3_logs()

    @abstractmethod
    def url(self) -> str: ...

    @abstractmethod
    def build(self, message: NotificationMessage) -> tuple[bytes, dict[str, str]]:
        """Body bytes and headers."""

    @property
    def target(self) -> str:
        try:
            return mask_url(self.url())
        except Exception:
            return ""

    def attempt(self, message: NotificationMessage, timeout: float) -> Attempt:
        import requests

        from session.bounded_http import RedirectRefused

        try:
            body, headers = self.build(message)
        except Exception as exc:  # a formatting bug must not kill the sender thread
            return Attempt(ok=False, error=f"could not build the message: {type(exc).__name__}: {scrub(str(exc))[:200]}")
        if self._session is None:
            self._session = new_session()
        try:
            # The session never follows a redirect (it would take the secret headers, the
            # body and the signature to another host) and reads at most REPLY_BODY_MAX.
            response = self._session.post(self.url(), data=body, headers=headers, timeout=(timeout, timeout))
        except RedirectRefused as exc:
            # Permanent: the same URL will redirect again.
            return Attempt(ok=False, error=redirect_error(exc.status, GLOBAL_REDACTOR(exc.target_host)), status=exc.status)
        except requests.RequestException as exc:
            return Attempt(ok=False, retryable=True, error=_describe_request_error(exc, timeout))
        except Exception as exc:  # e.g. InvalidURL raised as ValueError subclasses
            return Attempt(ok=False, error=f"{type(exc).__name__}: {scrub(str(exc))[:200]}")
        with response:
            status = response.status_code
            if 200 <= status < 300:
                return Attempt(ok=True, status=status)
            retry_after = _parse_retry_after(response.headers, response.content)
            snippet = scrub(response.content[:1000].decode("utf-8", "replace").strip().replace("\n", " "))[:200]
        error = f"HTTP {status}" + (f": {snippet}" if snippet else "")
        retryable = status in (408, 429) or status >= 500
        return Attempt(ok=False, retryable=retryable, retry_after=retry_after, error=error, status=status)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")


_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}


class SlackTransport(HttpTransport):
    config: SlackChannel

    def url(self) -> str:
        return self.config.webhook_url or ""

    def build(self, message: NotificationMessage) -> tuple[bytes, dict[str, str]]:
        payload = fmt.slack_payload(message, username=self.config.username, channel=self.config.channel)
        return _json_body(payload), dict(_JSON_HEADERS)


class DiscordTransport(HttpTransport):
    config: DiscordChannel

    def url(self) -> str:
        return self.config.webhook_url or ""

    def build(self, message: NotificationMessage) -> tuple[bytes, dict[str, str]]:
        return _json_body(fmt.discord_payload(message, username=self.config.username)), dict(_JSON_HEADERS)


class TelegramTransport(HttpTransport):
    config: TelegramChannel

    def url(self) -> str:
        return f"{self.config.api_base.rstrip('/')}/bot{self.config.bot_token}/sendMessage"

    def build(self, message: NotificationMessage) -> tuple[bytes, dict[str, str]]:
        return _json_body(fmt.telegram_payload(message, chat_id=str(self.config.chat_id))), dict(_JSON_HEADERS)


class WebhookTransport(HttpTransport):
    config: WebhookChannel

    def url(self) -> str:
        return self.config.url or ""

    def build(self, message: NotificationMessage) -> tuple[bytes, dict[str, str]]:
        body = fmt.webhook_body(message)
        headers = dict(_JSON_HEADERS)
        headers.update(self.config.headers)
        if self.config.secret:
            headers[fmt.SIGNATURE_HEADER] = fmt.webhook_signature(self.config.secret, body)
        return body, headers


def ssl_cert_error() -> type[Exception]:
    import ssl

    return ssl.SSLCertVerificationError


class EmailTransport(Transport):
    config: EmailChannel

    @property
    def target(self) -> str:
        return f"{self.config.host}:{self.config.effective_port}"

    def _tls_context(self) -> Any:
        import ssl

        return ssl.create_default_context(cafile=self.config.ca_file)

    def attempt(self, message: NotificationMessage, timeout: float) -> Attempt:
        import smtplib

        cfg = self.config
        try:
            mail = fmt.email_message(message, from_addr=cfg.from_addr or "", to=list(cfg.to))
        except Exception as exc:
            return Attempt(ok=False, error=f"could not build the email: {type(exc).__name__}: {scrub(str(exc))[:200]}")
        host, port = cfg.host or "", cfg.effective_port
        try:
            smtp: smtplib.SMTP
            if cfg.security == "ssl":
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=self._tls_context())
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
            with smtp:
                if cfg.security == "starttls":
                    smtp.starttls(context=self._tls_context())
                if cfg.username:
                    smtp.login(cfg.username, cfg.password or "")
                refused = smtp.send_message(mail, from_addr=cfg.from_addr, to_addrs=list(cfg.to))
        except smtplib.SMTPAuthenticationError as exc:
            return Attempt(ok=False, error=f"SMTP login refused ({exc.smtp_code})")
        except smtplib.SMTPRecipientsRefused:
            return Attempt(ok=False, error="SMTP server refused every recipient")
        except smtplib.SMTPResponseException as exc:
            reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            # 4xx replies are temporary by definition (RFC 5321 4.2.1); 5xx are not.
            return Attempt(ok=False, retryable=400 <= exc.smtp_code < 500, error=f"SMTP {exc.smtp_code}: {scrub(reply)[:200]}")
        except ssl_cert_error() as exc:
            return Attempt(ok=False, error=f"TLS certificate not trusted: {scrub(str(exc))[:200]}")
        except smtplib.SMTPNotSupportedError as exc:
            return Attempt(ok=False, error=f"SMTP server does not support this: {scrub(str(exc))[:200]}")
        except (smtplib.SMTPException, OSError) as exc:
            if isinstance(exc, TimeoutError) or "timed out" in str(exc):
                return Attempt(ok=False, retryable=True, error=f"timed out after {timeout:g}s")
            if isinstance(exc, ConnectionRefusedError):
                return Attempt(ok=False, retryable=True, error="connection refused")
            return Attempt(ok=False, retryable=True, error=f"{type(exc).__name__}: {scrub(str(exc))[:200]}")
        if refused:
            return Attempt(ok=True, error=f"{len(refused)} recipient(s) refused")
        return Attempt(ok=True)


_TRANSPORTS: dict[type, type[Transport]] = {
    SlackChannel: SlackTransport,
    DiscordChannel: DiscordTransport,
    TelegramChannel: TelegramTransport,
    WebhookChannel: WebhookTransport,
    EmailChannel: EmailTransport,
}


def make_transport(config: ChannelConfig) -> Transport:
    return _TRANSPORTS[type(config)](config)


def elapsed_ms(start: float) -> int:
    return int(round((time.monotonic() - start) * 1000))
