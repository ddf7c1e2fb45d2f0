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


def filed_at(view) -> datetime | None:
    """When customs accepted the order message (CEB311): step 3 of the timeline."""
    if view is None:
        return None
    for decl in view.declarations:
        if decl.message_type == "CEB311" and decl.authority == "customs" and decl.state in FILED:
            return decl.sent_at or view.changed_at
    return None


def order_sync_clearance(*, order_no: str) -> Order | None:
    view = customs_selectors.order_clearance(order_no)
    if view is None:
        return None
    notify = False
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(number=order_no).first()
        if order is None:
            return None
        fields = []
        if order.clearance_state != view.state:
            order.clearance_state = view.state
            fields.append("clearance_state")
        stamp = filed_at(view)
        if stamp and order.filed_at is None:
            order.filed_at = stamp
            fields.append("filed_at")
        if fields:
            order.save(update_fields=fields)
        actor = "customs"
        if view.state == "held" and order.state == S.PAID:
            order_transition(order=order, to=S.HELD, actor=actor, note=view.reason)
        elif view.state == "released" and order.state in (S.PAID, S.HELD):
            order_transition(order=order, to=S.RELEASED, actor=actor, note=view.reason)
            notify = True
        elif view.state == "rejected" and order.state in (S.PLACED, S.PAID, S.HELD):
            _reject(order, view.reason)
        elif view.state == "returned" and order.state in (S.RELEASED, S.DISPATCHED, S.DELIVERED):
            from marketplace.services.returns import order_returned

            order_returned(order=order, note=view.reason)
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
        # The same stamp as filed_at(view), read in one query instead of the whole clearance.
        found = customs_selectors.declaration_first_in(
            order.number, kind="order", authority="customs", states=FILED
        )
        stamp = (found[0] or found[1]) if found else None
        if stamp:
            Order.objects.filter(pk=order.pk, filed_at__isnull=True).update(filed_at=stamp)
            order.filed_at = stamp
    return order
