"""Returns: within 30 days of release the shopper asks; customs files CEB625; on its receipt
(clearance "returned") the money is refunded, the quota given back (the returned state no
longer counts) and customs has put the goods back into bond."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from customs import services as customs_services
from customs.filings import ReturnFiling, ReturnLineFiling
from marketplace.errors import ReturnNotAllowed
from marketplace.models import Order, OrderEvent
from marketplace.services.orders import S, order_locked, order_transition

RETURN_WINDOW = timedelta(days=30)


def order_return_request(*, order, actor: str, reason: str) -> Order:
    with transaction.atomic():
        order = order_locked(order)
        if order.return_no:
            return order
        if (
            order.state not in (S.RELEASED, S.DELIVERED)
            or order.released_at is None
            or timezone.now() - order.released_at > RETURN_WINDOW
        ):
            raise ReturnNotAllowed()
        order.return_no = f"RT{order.number[2:]}"
        order.return_requested_at = timezone.now()
        order.save(update_fields=["return_no", "return_requested_at"])
        OrderEvent.objects.create(
            order=order, from_state=order.state, to_state=order.state, actor=actor,
            note=f"return requested: {reason.strip()[:400]}",
        )  # fmt: skip
        customs_services.declaration_create_return(
            filing=ReturnFiling(
                order_no=order.number,
                return_no=order.return_no,
                reason=reason.strip()[:200] or "return",
                location_code=order.storage_code,
                lines=tuple(
                    ReturnLineFiling(gnum=line.gnum, item_no=line.item_no, qty=line.quantity)
                    for line in order.lines.all()
                ),
            )
        )
    return order


def order_returned(*, order: Order, note: str) -> Order:
    """Called under the order lock when customs confirms the return."""
    from marketplace.services.payments import payment_refund

    order_transition(order=order, to=S.RETURNED, actor="customs", note=note or "returned")
    payment_refund(order=order, reason="returned")
    return order
