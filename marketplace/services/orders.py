"""The order's state machine: every change goes through `order_transition`, which guards the
move, records an OrderEvent (from, to, at, actor, note) and stamps the step's time."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bonded import services as bonded_services
from customs import selectors as customs_selectors
from customs import services as customs_services
from marketplace.errors import IllegalTransition, NotReadyForHandover, OrderNotFound
from marketplace.models import Order, OrderEvent

logger = logging.getLogger(__name__)
S = Order.State

ALLOWED: dict[str, set[str]] = {
    S.PLACED: {S.PAID, S.CANCELLED, S.EXPIRED, S.REJECTED},
    S.PAID: {S.HELD, S.RELEASED, S.CANCELLED, S.REJECTED},
    S.HELD: {S.RELEASED, S.CANCELLED, S.REJECTED},
    S.RELEASED: {S.DISPATCHED, S.DELIVERED, S.RETURNED},
    S.DISPATCHED: {S.DELIVERED, S.RETURNED},
    S.DELIVERED: {S.RETURNED},
    S.CANCELLED: set(),
    S.EXPIRED: set(),
    S.REJECTED: set(),
    S.RETURNED: set(),
}
# The time each state stamps on the order (the timeline reads them).
STAMPS = {
    S.PAID: "paid_at",
    S.RELEASED: "released_at",
    S.DISPATCHED: "dispatched_at",
    S.DELIVERED: "delivered_at",
    S.CANCELLED: "closed_at",
    S.EXPIRED: "closed_at",
    S.REJECTED: "closed_at",
    S.RETURNED: "closed_at",
}
# Shoppers may cancel until customs releases the goods.
CANCELLABLE = (S.PLACED, S.PAID, S.HELD)


def order_locked(order_or_no) -> Order:
    """The order row, locked for this transaction."""
    number = order_or_no if isinstance(order_or_no, str) else order_or_no.number
    order = Order.objects.select_for_update().filter(number=number).first()
    if order is None:
        raise OrderNotFound()
    return order


def order_transition(
    *, order: Order, to: str, actor: str, note: str = "", at=None, fields: tuple = ()
) -> Order:
    """Move a locked order; raises IllegalTransition. Call inside the caller's transaction."""
    if to not in ALLOWED.get(order.state, set()):
        raise IllegalTransition(
            number=order.number, state=order.get_state_display(), to=S(to).label
        )
    at = at or timezone.now()
    OrderEvent.objects.create(
        order=order, from_state=order.state, to_state=to, at=at, actor=actor, note=note[:500]
    )
    order.state = to
    update = ["state", *fields]
    stamp = STAMPS.get(to)
    if stamp:
        setattr(order, stamp, at)
        update.append(stamp)
    if note and to in (S.CANCELLED, S.EXPIRED, S.REJECTED, S.HELD, S.RETURNED):
        order.state_reason = note[:500]
        update.append("state_reason")
    order.save(update_fields=sorted(set(update)))
    return order


def _refund_if_paid(order: Order, reason: str) -> None:
    from marketplace.services.payments import payment_refund

    if order.paid_at is not None:
        payment_refund(order=order, reason=reason)


def order_cancel(*, order, actor: str, reason: str) -> Order:
    """The shopper (or staff) cancels before release: stock back, filings withdrawn, refund."""
    with transaction.atomic():
        order = order_locked(order)
        if order.state == S.CANCELLED:
            return order
        if order.state not in CANCELLABLE:
            raise IllegalTransition(
                number=order.number,
                state=order.get_state_display(),
                to=S.CANCELLED.label,
                message=_(
                    "Order %(number)s is %(state)s and can no longer be cancelled. Once "
                    "released, ask for a return instead."
                )
                % {"number": order.number, "state": order.get_state_display()},
            )
        reason = reason.strip() or _("cancelled by the shopper")
        order_transition(order=order, to=S.CANCELLED, actor=actor, note=reason)
        bonded_services.reservation_release(reference=order.number, reason="cancelled", actor=actor)
        customs_services.declarations_cancel_for_order(order_no=order.number, reason=reason)
        _refund_if_paid(order, reason)
    return order


def order_expire(*, order_no: str, actor: str = "system") -> Order | None:
    """An unpaid order whose hold ran out: expired, stock freed, filings withdrawn."""
    with transaction.atomic():
        order = order_locked(order_no)
        if order.state != S.PLACED:
            return None
        order_transition(order=order, to=S.EXPIRED, actor=actor, note="unpaid in time")
        bonded_services.reservation_release(reference=order.number, reason="expired", actor=actor)
        customs_services.declarations_cancel_for_order(
            order_no=order.number, reason="expired unpaid"
        )
    return order


def orders_expire(*, now=None, limit: int = 200) -> int:
    """Beat task body: unpaid orders older than the reservation time-to-live."""
    from datetime import timedelta

    from django.conf import settings

    cutoff = (now or timezone.now()) - timedelta(minutes=settings.BONDED_RESERVATION_TTL_MINUTES)
    numbers = list(
        Order.objects.filter(state=S.PLACED, created_at__lte=cutoff).values_list(
            "number", flat=True
        )[:limit]
    )
    done = 0
    for number in numbers:
        try:
            done += order_expire(order_no=number) is not None
        except Exception:  # one bad order must not stop the others; logged for staff
            logger.exception("could not expire order %s", number)
    return done


def _guard_released(order: Order) -> None:
    """Paid, released by customs (and CIQ where needed), goods moved out of bond."""
    view = customs_selectors.clearance_status(order.number)
    if (
        order.state != S.RELEASED
        or order.paid_at is None
        or view is None
        or view.state != "released"
        or not view.goods_released
    ):
        raise NotReadyForHandover(number=order.number, state=order.get_state_display())


def order_deliver(*, order_no: str, actor: str, locked: Order | None = None) -> Order:
    """Handover at the counter: paid and released by customs (and CIQ where needed), goods at
    the counter; issues the stock. A second call changes nothing.

    `locked`: the order row as the caller locked it (select_for_update) in its open transaction,
    so it is not read again; then the caller's transaction is the unit (no savepoint of its
    own): a refusal raised here fails the caller's whole transaction."""
    with transaction.atomic(savepoint=locked is None):
        if locked is not None and locked.number != order_no:
            raise ValueError("locked is another order")
        order = locked if locked is not None else order_locked(order_no)
        if order.state == S.DELIVERED:
            return order
        _guard_released(order)
        bonded_services.stock_issue(reference=order.number, actor=actor, savepoint=locked is None)
        order_transition(order=order, to=S.DELIVERED, actor=actor, note="handed over")
    return order


def order_dispatch(*, order_no: str, actor: str, note: str = "", at=None) -> bool:
    """A delivery order's parcel leaves with the courier: the ledger issues the goods out of the
    zone (from the dock) and the order becomes dispatched. Exactly once: False when it had
    already left (dispatched or delivered), True when this call issued the goods. Called by the
    warehouse app, which the marketplace does not know about."""
    with transaction.atomic():
        order = order_locked(order_no)
        if order.state in (S.DISPATCHED, S.DELIVERED) and order.dispatched_at is not None:
            return False
        if order.delivery_mode != Order.Delivery.DELIVERY:
            raise NotReadyForHandover(number=order.number, state=order.get_state_display())
        _guard_released(order)
        bonded_services.stock_issue(reference=order.number, actor=actor)
        order_transition(
            order=order, to=S.DISPATCHED, actor=actor, note=note or "handed to the courier", at=at
        )
    return True


def order_mark_delivered(*, order_no: str, actor: str, note: str = "", at=None) -> bool:
    """The courier confirmed delivery to the consignee. False when already delivered."""
    with transaction.atomic():
        order = order_locked(order_no)
        if order.state == S.DELIVERED:
            return False
        if order.state != S.DISPATCHED:
            raise IllegalTransition(
                number=order.number, state=order.get_state_display(), to=S.DELIVERED.label
            )
        order_transition(
            order=order, to=S.DELIVERED, actor=actor, note=note or "delivered by courier", at=at
        )
    return True
