"""Deliver one message to one channel with retries: the one retry policy, shared by the
hub's sender threads, ``send_test`` and the copilot_quant-style notifier classes.

Policy: connection errors, timeouts, 408, 429 and 5xx are retried with exponential
backoff (``backoff``, doubled per attempt) or, when the service says so, after its
``Retry-After``; every wait is capped at ``max_retry_wait``; at most ``max_attempts``
tries. Any other 4xx is permanent: retrying a revoked webhook cannot help.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from session.notify.channels import Transport
from session.notify.message import NotificationMessage

log = logging.getLogger("tradeday.notify")

MIN_REQUEST_TIMEOUT = 0.05


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    attempts: int
    error: str = ""
    permanent: bool = False
    status: int | None = None
    latency_ms: int = 0


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def deliver(
    transport: Transport,
    message: NotificationMessage,
    *,
    timeout: float,
    max_attempts: int,
    backoff: float,
    max_retry_wait: float,
    deadline: Callable[[], float | None] = lambda: None,
    wait: Callable[[float], bool] = _sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> DeliveryResult:
    """Try until sent, permanently refused, out of attempts, or out of time.

    ``deadline()`` returns a ``monotonic()`` time after which no attempt or wait may end
    (the hub sets one when closing), or None. ``wait(seconds)`` sleeps and returns True
    if it was woken early (then the deadline is looked at again).
    """
    start = monotonic()
    last_error = ""
    status: int | None = None
    attempts = 0
    while attempts < max_attempts:
        request_timeout = timeout
        limit = deadline()
        if limit is not None:
            remaining = limit - monotonic()
            if remaining <= MIN_REQUEST_TIMEOUT:
                last_error = (last_error + "; " if last_error else "") + "no time left before exit"
                break
            request_timeout = min(timeout, remaining)
        attempts += 1
        outcome = transport.attempt(message, request_timeout)
        status = outcome.status
        if outcome.ok:
            return DeliveryResult(True, attempts, outcome.error, status=status, latency_ms=int((monotonic() - start) * 1000))
        last_error = outcome.error
        if not outcome.retryable:
            return DeliveryResult(False, attempts, last_error, permanent=True, status=status, latency_ms=int((monotonic() - start) * 1000))
        if attempts >= max_attempts:
            break
        delay = outcome.retry_after if outcome.retry_after is not None else backoff * (2 ** (attempts - 1))
        delay = min(max(delay, 0.0), max_retry_wait)
        log.warning("%s: attempt %d of %d failed (%s); retrying in %.3gs", transport.name, attempts, max_attempts, last_error, delay)
        if not _wait_until(monotonic() + delay, deadline, wait, monotonic):
            last_error += "; no time left before exit"
            break
    return DeliveryResult(False, attempts, last_error, status=status, latency_ms=int((monotonic() - start) * 1000))


def _wait_until(
    end: float,
    deadline: Callable[[], float | None],
    wait: Callable[[float], bool],
    monotonic: Callable[[], float],
) -> bool:
    """Wait until ``end``; False if the deadline (possibly set while waiting) comes first."""
    while True:
        limit = deadline()
        if limit is not None and end > limit:
            return False
        remaining = end - monotonic()
        if remaining <= 0:
            return True
        wait(remaining)
