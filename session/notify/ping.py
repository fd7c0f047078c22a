"""The dead-man's switch: a healthchecks.io-style ping (``start``, ``success``, ``fail``).

A ping waits at most ``PING_TIMEOUT_MAX`` seconds and never raises: a health-check
service that is down must not hold up or break the trading day. It follows no redirect
and reads at most 64 KiB of the reply (see ``session.bounded_http``).
"""
from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.redact import GLOBAL_REDACTOR, mask_url
from session.notify.config import NotificationsConfig

log = logging.getLogger("tradeday.notify")

PING_TIMEOUT_MAX = 5.0
PING_BODY_MAX = 10_000
PING_KINDS = ("start", "success", "fail")


def ping_healthcheck(config: NotificationsConfig, kind: str = "success", body: str | None = None) -> bool:
    """Signal the dead-man's switch (healthchecks.io style): ``start`` -> URL/start,
    ``success`` -> URL, ``fail`` -> URL/fail. Waits at most the ping timeout, never
    raises; True if the service answered 2xx in time."""
    url = config.healthcheck_url
    if not config.enabled or not url:
        return False
    if kind not in PING_KINDS:
        log.error("unknown health-check ping %r (use start, success or fail)", kind)
        return False
    try:
        target = _ping_url(url, kind)
    except ValueError:
        log.warning("healthcheck_url is not a valid URL; ping skipped")
        return False
    timeout = min(config.timeout, PING_TIMEOUT_MAX)
    outcome: dict[str, Any] = {}

    def run() -> None:
        from session.bounded_http import RedirectRefused
        from session.notify.channels import _describe_request_error, _guard_urllib3_logs, new_session, redirect_error

        try:
            _guard_urllib3_logs()
            data = GLOBAL_REDACTOR(body)[:PING_BODY_MAX].encode("utf-8") if body else b""
            # The session follows no redirect (the ping URL is a secret, and so is the
            # body's reason) and reads at most REPLY_BODY_MAX of the reply.
            with new_session() as session:
                response = session.post(target, data=data, timeout=(timeout, timeout),
                                        headers={"User-Agent": "tradeday-notify/1"})
                outcome["status"] = response.status_code
        except RedirectRefused as exc:
            outcome["status"] = exc.status
            outcome["error"] = redirect_error(exc.status, GLOBAL_REDACTOR(exc.target_host))
        except Exception as exc:
            outcome["error"] = _describe_request_error(exc, timeout)

    thread = threading.Thread(target=run, name="tradeday-healthcheck", daemon=True)
    thread.start()
    thread.join(timeout)
    status = outcome.get("status")
    if isinstance(status, int) and 200 <= status < 300:
        log.debug("health-check ping %s sent", kind)
        return True
    reason = outcome.get("error") or (f"HTTP {status}" if status else f"no answer within {timeout:g}s")
    log.warning("health-check ping %s to %s failed: %s", kind, mask_url(url), reason)
    return False


def _ping_url(url: str, kind: str) -> str:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise ValueError("not a URL")
    if kind == "success":
        return urlunsplit(parts)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + kind))
