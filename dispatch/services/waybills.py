"""The courier's waybills: allocated at checkout for delivery orders (the courier's number,
never ours), given back when the order never left, and the courier's status events applied
once each."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import DomainError
from dispatch import courier as couriers
from dispatch.models import CourierEvent, WaybillAllocation
from marketplace.selectors.orders import order_states

logger = logging.getLogger(__name__)


class CourierUnavailable(DomainError):
    code = "courier_unavailable"
    http_status = 503


def waybill_allocate(*, parcel: couriers.ParcelRequest) -> WaybillAllocation:
    """The courier's waybill for an order: asked once (outside any lock: it may be an HTTP
    call), recorded with its label data. The same order again answers the same waybill."""
    live = WaybillAllocation.objects.filter(order_no=parcel.order_no, cancelled_at__isnull=True)
    known = live.first()
    if known is not None:
        return known
    adapter = couriers.courier()
    try:
        answer = adapter.allocate(parcel=parcel)
    except couriers.CourierError as exc:
        logger.warning("courier allocation for %s failed: %s", parcel.order_no, exc.message)
        raise CourierUnavailable(
            _("The courier could not take the parcel just now; try again in a moment."),
            extra={"courier": adapter.name},
        ) from None
    if not answer.logistics_no or answer.logistics_no == parcel.order_no:
        raise CourierUnavailable(_("The courier answered no waybill number; try again."))
    try:
        with transaction.atomic():
            return WaybillAllocation.objects.create(
                order_no=parcel.order_no,
                provider=settings.COURIER_PROVIDER[:200],
                logistics_code=adapter.code,
                logistics_name=adapter.name[:100],
                logistics_no=answer.logistics_no,
                sort_code=answer.sort_code[:60],
                destination_code=answer.destination_code[:60],
                route=answer.route[:120],
                barcode=(answer.barcode or answer.logistics_no)[:80],
                answer=answer.answer,
            )
    except IntegrityError:  # a concurrent call recorded it first (same order, same answer)
        known = live.first()
        if known is None:
            raise
        return known


def waybills_release(*, now=None, limit: int = 200) -> int:
    """Give back waybills allocated for orders that never left: the checkout refused after
    allocating (no order) or the order was cancelled, expired or rejected before dispatch.
    After COURIER_WAYBILL_RELEASE_SECONDS, so a checkout still running is left alone."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.COURIER_WAYBILL_RELEASE_SECONDS)
    due = list(
        WaybillAllocation.objects.filter(
            cancelled_at__isnull=True, cancel_error="", allocated_at__lt=cutoff
        ).order_by("id")[:limit]
    )
    states = order_states(a.order_no for a in due)
    released = 0
    adapter = couriers.courier() if due else None
    for allocation in due:
        state = states.get(allocation.order_no)
        if state is not None and state not in ("cancelled", "expired", "rejected"):
            continue
        try:
            adapter.cancel(logistics_no=allocation.logistics_no, order_no=allocation.order_no)
        except couriers.CourierError as exc:
            if not exc.transient:
                WaybillAllocation.objects.filter(pk=allocation.pk).update(
                    cancel_error=exc.message[:300]
                )
            logger.warning("courier refused to cancel %s: %s", allocation.logistics_no, exc)
            continue
        WaybillAllocation.objects.filter(pk=allocation.pk).update(cancelled_at=timezone.now())
        released += 1
    return released


def courier_event_record(*, event: couriers.DeliveryEvent) -> bool:
    """Keep the event; False when the courier told us this one before (same event id)."""
    event_id = event.event_id or f"{event.status}:{event.at.isoformat()}"
    try:
        with transaction.atomic():
            CourierEvent.objects.create(
                logistics_no=event.logistics_no[:40], event_id=event_id[:64],
                status=event.status[:20], at=event.at, note=event.note[:200],
            )  # fmt: skip
    except IntegrityError:
        return False
    return True


def shipments_track(*, now=None, limit: int = 50) -> int:
    """Ask the courier (its status query) about parcels dispatched more than
    COURIER_STATUS_QUERY_SECONDS ago and still not delivered: a lost callback is caught up.
    Events are kept once each, as from a callback; the number of parcels delivered this way."""
    from dispatch.models import Shipment
    from dispatch.services.parcels import shipment_delivered

    cutoff = (now or timezone.now()) - timedelta(seconds=settings.COURIER_STATUS_QUERY_SECONDS)
    waiting = list(
        Shipment.objects.filter(state=Shipment.State.DISPATCHED, dispatched_at__lt=cutoff)
        .order_by("dispatched_at", "id")
        .values_list("logistics_no", flat=True)[:limit]
    )
    if not waiting:
        return 0
    adapter = couriers.courier()
    delivered = 0
    for logistics_no in waiting:
        try:
            events = adapter.status(logistics_no=logistics_no)
        except couriers.CourierError as exc:
            logger.warning("courier status query for %s failed: %s", logistics_no, exc.message)
            continue
        for event in events:
            if event.logistics_no != logistics_no:
                continue
            with transaction.atomic():
                if courier_event_record(event=event) and event.status == "delivered":
                    delivered += shipment_delivered(callback=event, actor="courier status query")
    return delivered
