"""copilot_quant's order and risk adapters: callbacks an engine registers with its order
handler and risk manager, turning their events into notifications.

The order record is read by attribute (duck typing), so copilot_quant's ``OrderRecord``
works as is, and so does any object with ``symbol``, ``action`` (or ``side``),
``filled_quantity``, ``avg_fill_price`` and ``status``.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from session.notify.channels import scrub
from session.notify.levels import CIRCUIT_BREAKER, FILL, ORDER_ERROR, RISK, AlertLevel
from session.notify.message import NotificationMessage

log = logging.getLogger("tradeday.notify")


class SupportsNotify(Protocol):
    def notify(self, message: NotificationMessage) -> Any: ...


def _get(record: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(record, dict) and name in record:
            return record[name]
        value = getattr(record, name, None)
        if value is not None:
            return value() if callable(value) else value
    return default


def _status(record: Any) -> str:
    status = _get(record, "status", default="")
    return str(getattr(status, "value", status)).lower()


def _action(record: Any) -> str:
    value = _get(record, "action", "side", default="")
    return str(getattr(value, "value", value)).upper()


def _money(value: Any) -> str:
    try:
        return f"{float(value):,.2f}"
    except (TypeError, ValueError):
        return str(value)


def _send(notifiers: Iterable[SupportsNotify], message: NotificationMessage) -> None:
    for notifier in notifiers:
        try:
            notifier.notify(message)
        except Exception as exc:  # one broken channel must not stop the others
            log.error("%s failed: %s: %s", type(notifier).__name__, type(exc).__name__, scrub(str(exc)))


class OrderNotificationAdapter:
    def __init__(
        self,
        notifiers: list[SupportsNotify],
        notify_on_fills: bool = True,
        notify_on_partial_fills: bool = False,
        notify_on_errors: bool = True,
    ) -> None:
        self.notifiers = notifiers
        self.notify_on_fills = notify_on_fills
        self.notify_on_partial_fills = notify_on_partial_fills
        self.notify_on_errors = notify_on_errors

    def on_order_filled(self, order_record: Any) -> None:
        status = _status(order_record)
        partial = status in ("partially_filled", "partial", "partiallyfilled", "partially filled")
        if partial and not self.notify_on_partial_fills:
            return
        if not partial and not self.notify_on_fills:
            return
        action = _action(order_record)
        symbol = _get(order_record, "symbol", default="?")
        qty = _get(order_record, "filled_quantity", "quantity", default="?")
        price = _get(order_record, "avg_fill_price", "average_fill_price", "price")
        text = f"{action} {qty} {symbol}" + (f" at {_money(price)}" if price is not None else "")
        remaining = _get(order_record, "remaining_quantity")
        if partial and remaining is not None:
            text += f" ({remaining} remaining)"
        fields: dict[str, Any] = {"symbol": symbol, "action": action, "filled_quantity": qty}
        if price is not None:
            fields["avg_price"] = _money(price)
        order_id = _get(order_record, "order_id")
        if order_id is not None:
            fields["order_id"] = order_id
        fills = _get(order_record, "fills", default=()) or ()
        commission = sum(float(getattr(f, "commission", 0) or 0) for f in fills) if not isinstance(fills, (str, bytes)) else 0
        if commission:
            fields["commission"] = _money(commission)
        fields["status"] = status or "filled"
        title = "Order partially filled" if partial else "Order filled"
        _send(self.notifiers, NotificationMessage(title=title, message=text, level=AlertLevel.INFO, metadata=fields, event=FILL))

    def on_order_error(self, order_record: Any, error_message: str) -> None:
        if not self.notify_on_errors:
            return
        action = _action(order_record)
        symbol = _get(order_record, "symbol", default="?")
        qty = _get(order_record, "total_quantity", "quantity", default="?")
        fields: dict[str, Any] = {"symbol": symbol, "action": action, "quantity": qty, "error": error_message}
        order_id = _get(order_record, "order_id")
        if order_id is not None:
            fields["order_id"] = order_id
        retries = _get(order_record, "retry_count")
        if retries is not None:
            fields["retry_count"] = retries
        text = f"Error placing {action} order for {qty} {symbol}: {error_message}"
        _send(self.notifiers, NotificationMessage(title="Order error", message=text, level=AlertLevel.WARNING, metadata=fields, event=ORDER_ERROR))


class RiskNotificationAdapter:
    def __init__(self, notifiers: list[SupportsNotify]) -> None:
        self.notifiers = notifiers

    def on_circuit_breaker_triggered(self, reason: str, drawdown: float | None = None, threshold: float | None = None) -> None:
        fields: dict[str, Any] = {"reason": reason}
        if drawdown is not None:
            fields["drawdown"] = f"{drawdown * 100:.2f}%"
        if threshold is not None:
            fields["threshold"] = f"{threshold * 100:.2f}%"
        message = NotificationMessage(
            title="Circuit breaker activated",
            message=f"Circuit breaker triggered: {reason}",
            level=AlertLevel.CRITICAL,
            metadata=fields,
            event=CIRCUIT_BREAKER,
        )
        _send(self.notifiers, message)

    def on_risk_limit_breach(self, limit_type: str, current_value: float, limit_value: float, symbol: str | None = None) -> None:
        fields: dict[str, Any] = {"limit_type": limit_type, "current_value": current_value, "limit_value": limit_value}
        if symbol:
            fields["symbol"] = symbol
        text = f"Risk limit breach for {symbol}: {limit_type}" if symbol else f"Risk limit breach: {limit_type}"
        _send(self.notifiers, NotificationMessage(title="Risk limit breach", message=text, level=AlertLevel.WARNING, metadata=fields, event=RISK))
