"""The order follows its customs clearance (the listener and its sweep call this).

Re-reads customs state through its selectors and applies it; running it twice changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bonded import services as bonded_services
from customs import selectors as customs_selectors
from marketplace.models import ClearanceSyncFailure, Order, SweepMark
from marketplace.services.orders import S, order_transition

logger = logging.getLogger(__name__)
FILED = {"accepted", "review", "concluded", "inspection", "detained", "suspended", "released",
         "closed"}  # fmt: skip


def order_sync_clearance(*, order_no: str) -> Order | None:
    status = customs_selectors.clearance_change(order_no, filed_states=FILED)
    if status is None:
        return None
    with transaction.atomic():
        orders = Order.objects.select_for_update(of=("self",)).filter(number=order_no)
        if status.state == "released":
            orders = orders.select_related("shopper__user")  # whom notify_released tells
        order = orders.first()
        if order is None:
            return None
        notify = _apply(order, status)
    if notify:
        from marketplace.services.notifications import notify_released

        notify_released(order)
    return order


def _apply(order: Order, status) -> bool:
    """The clearance's state on the locked order; True when the shopper is to be told."""
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
        return True
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
    return False


def _orders_sync_together(order_nos: list[str]) -> int:
    """Many orders in one transaction: their clearances in one statement, the orders locked
    in one (by id, the order every batch takes them in), one commit."""
    statuses = customs_selectors.clearance_changes(order_nos, filed_states=FILED)
    told = []
    with transaction.atomic():
        orders = (
            Order.objects.select_for_update(of=("self",))
            .filter(number__in=list(statuses))
            .select_related("shopper__user")
            .order_by("pk")
        )
        for order in orders:
            if _apply(order, statuses[order.number]):
                told.append(order)
    if told:
        from marketplace.services.notifications import notify_released

        for order in told:
            notify_released(order)
    return len(statuses)


def orders_sync_clearance(*, order_nos: list[str]) -> int:
    """The inline listener (CUSTOMS_CLEARANCE_INLINE_LISTENERS): called once the transaction
    that changed these orders' clearances committed, in the process that changed them.
    Several orders are synced in one transaction; if that fails, one by one, and one order's
    failure holds back no other (the sweep retries it). Returns how many were synced."""
    if len(order_nos) > 1:
        try:
            return _orders_sync_together(order_nos)
        except Exception:
            logger.warning("clearance sync of %s orders together failed", len(order_nos))
    synced = 0
    for order_no in order_nos:
        try:
            order_sync_clearance(order_no=order_no)
        except Exception:
            logger.exception("inline clearance sync of %s failed; the sweep retries", order_no)
        else:
            synced += 1
    return synced


def _reject(order: Order, reason: str) -> None:
    """Customs refused it: cancelled as rejected, stock freed, money back, the reason kept."""
    from marketplace.services.orders import _refund_if_paid

    order_transition(order=order, to=S.REJECTED, actor="customs", note=reason)
    bonded_services.reservation_release(reference=order.number, reason="rejected by customs")
    _refund_if_paid(order, reason)


CLEARANCE_SWEEP = "clearances"
# A first sweep (no mark yet) starts from the beginning: it catches up in batches, never skips.
SWEEP_START = datetime(2000, 1, 1, tzinfo=UTC)
# Changes committed slightly out of order of their stamps are still seen by the next run.
SWEEP_OVERLAP = timedelta(seconds=5)


def clearances_sweep(*, limit: int = 500) -> int:
    """The sweep: apply every clearance changed since the mark kept in the database, then move
    the mark as far as every change up to it was applied (or handed to staff). Returns how many
    orders were synced."""
    row, _created = SweepMark.objects.get_or_create(
        name=CLEARANCE_SWEEP, defaults={"mark": SWEEP_START}
    )
    count, mark = orders_sync_since(since=row.mark - SWEEP_OVERLAP, limit=limit)
    # Never backwards (a concurrent run may have gone further).
    SweepMark.objects.filter(name=CLEARANCE_SWEEP, mark__lt=mark).update(
        mark=mark, updated_at=timezone.now()
    )
    return count


def orders_sync_since(*, since: datetime, limit: int = 500) -> tuple[int, datetime]:
    """Every clearance changed after `since`, oldest first; returns (count synced, new mark).

    The mark stops before the first change whose sync raised: the next sweep starts there and
    tries it again (the ones after it are applied meanwhile; applying twice changes nothing).
    After ORDERS_CLEARANCE_SYNC_MAX_ATTEMPTS failures the order is flagged for staff and no
    longer holds the mark back."""
    mark = since
    count = 0
    held_back = False
    for clearance in customs_selectors.clearances_changed_since(since)[:limit]:
        try:
            order_sync_clearance(order_no=clearance.order_no)
        except Exception as exc:
            logger.exception("clearance sync of %s failed", clearance.order_no)
            if not clearance_sync_failed(order_no=clearance.order_no, error=exc):
                held_back = True
        else:
            count += 1
            ClearanceSyncFailure.objects.filter(order_no=clearance.order_no).delete()
        if not held_back:
            mark = max(mark, clearance.state_changed_at)
    return count, mark


def clearance_sync_failed(*, order_no: str, error: Exception) -> bool:
    """Count a failed sync (its own transaction: the sync's was rolled back). Returns True when
    the order is handed to staff: flagged with the error, no longer retried by the sweep."""
    text = f"{type(error).__name__}: {error}"[:500]
    now = timezone.now()
    limit = settings.ORDERS_CLEARANCE_SYNC_MAX_ATTEMPTS
    with transaction.atomic():
        failure, _created = ClearanceSyncFailure.objects.select_for_update().get_or_create(
            order_no=order_no, defaults={"first_failed_at": now}
        )
        if failure.gave_up_at is not None:
            return True
        failure.attempts += 1
        failure.error = text
        failure.last_failed_at = now
        if failure.attempts >= limit:
            failure.gave_up_at = now
            reason = f"clearance sync failed {failure.attempts} times: {text}"[:300]
            Order.objects.filter(number=order_no).update(flagged=True, flag_reason=reason)
            logger.error("clearance sync of %s handed to staff after %s attempts", order_no,
                         failure.attempts)  # fmt: skip
        failure.save()
    return failure.gave_up_at is not None


def clearance_sync_retry(*, order_no: str) -> Order | None:
    """Staff retry a sync the sweep gave up on: applied now, the failure cleared on success
    (the order's flag is staff's to clear once they have looked at it)."""
    order = order_sync_clearance(order_no=order_no)
    ClearanceSyncFailure.objects.filter(order_no=order_no).delete()
    return order


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
