"""The order follows its customs clearance (the listener and its sweep call this).

Re-reads customs state through its selectors and applies it; running it twice changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from bonded import services as bonded_services
from customs import selectors as customs_selectors
from marketplace.models import Order
from marketplace.services.orders import S, order_transition

logger = logging.getLogger(__name__)
FILED = {"accepted", "review", "concluded", "inspection", "detained", "suspended", "released",
         "closed"}  # fmt: skip


def order_sync_clearance(*, order_no: str) -> Order | None:
    status = customs_selectors.clearance_change(order_no, filed_states=FILED)
    if status is None:
        return None
    notify = False
    with transaction.atomic():
        orders = Order.objects.select_for_update(of=("self",)).filter(number=order_no)
        if status.state == "released":
            orders = orders.select_related("shopper__user")  # whom notify_released tells
        order = orders.first()
        if order is None:
            return None
        fields = []
        if order.clearance_state != status.state:
            order.clearance_state = status.state
            fields.append("clearance_state")
        if status.filed_at and order.filed_at is None:
            order.filed_at = status.filed_at
            fields.append("filed_at")
        actor = "customs"
        # A transition saves these fields in its own UPDATE.
        if status.state == "held" and order.state == S.PAID:
            order_transition(
                order=order, to=S.HELD, actor=actor, note=status.reason, fields=tuple(fields)
            )
        elif status.state == "released" and order.state in (S.PAID, S.HELD):
            order_transition(
                order=order, to=S.RELEASED, actor=actor, note=status.reason, fields=tuple(fields)
            )
            notify = True
        else:
            if fields:
                order.save(update_fields=fields)
            if status.state == "rejected" and order.state in (S.PLACED, S.PAID, S.HELD):
                _reject(order, status.reason)
            elif status.state == "returned" and order.state in (
                S.RELEASED,
                S.DISPATCHED,
                S.DELIVERED,
            ):
                from marketplace.services.returns import order_returned

                order_returned(order=order, note=status.reason)
    if notify:
        from marketplace.services.notifications import notify_released

        notify_released(order)
    return order


def _reject(order: Order, reason: str) -> None:
    """Customs refused it: cancelled as rejected, stock freed, money back, the reason kept."""
    from marketplace.services.orders import _refund_if_paid

    order_transition(order=order, to=S.REJECTED, actor="customs", note=reason)
    bonded_services.reservation_release(reference=order.number, reason="rejected by customs")
    _refund_if_paid(order, reason)


def orders_sync_since(*, since: datetime) -> tuple[int, datetime]:
    """The sweep: every clearance changed after `since`; returns (count, new high-water mark)."""
    mark = since
    count = 0
    for clearance in customs_selectors.clearances_changed_since(since)[:500]:
        try:
            order_sync_clearance(order_no=clearance.order_no)
            count += 1
        except Exception:
            logger.exception("clearance sync of %s failed", clearance.order_no)
        mark = max(mark, clearance.state_changed_at)
    return count, mark


def order_refresh(order) -> Order:
    """Pages call this lightly: pick up a filing stamp without waiting for the sweep."""
    if order.filed_at is None and order.state not in (S.EXPIRED, S.CANCELLED):
        # The listener's stamp, read in one query instead of the whole clearance.
        change = customs_selectors.clearance_change(order.number, filed_states=FILED)
        stamp = change.filed_at if change else None
        if stamp:
            Order.objects.filter(pk=order.pk, filed_at__isnull=True).update(filed_at=stamp)
            order.filed_at = stamp
    return order
