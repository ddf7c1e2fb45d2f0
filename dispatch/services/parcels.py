"""Packing (measured weight against the declared one), dispatch to the courier (the goods
leave the zone once), and delivery on the courier's signed callback."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config import callbacks
from config.tasks import send_on_commit
from customs import services as customs_services
from customs.filings import WaybillStatusFiling
from dispatch import courier as couriers
from dispatch import errors
from dispatch.models import CourierNonce, Mismatch, Shipment
from dispatch.selectors import waybill_allocation
from dispatch.services.picking import open_mismatch
from dispatch.services.waybills import courier_event_record
from marketplace import services as marketplace_services

logger = logging.getLogger(__name__)
S = Shipment.State
GRAM = Decimal("0.001")


def weight_allowed(declared: Decimal) -> Decimal:
    """Our rule: DISPATCH_WEIGHT_TOLERANCE_PERCENT of the declared weight, at least
    DISPATCH_WEIGHT_TOLERANCE_MIN_KG (a scale's and a box's worth on tiny parcels)."""
    percent = Decimal(str(settings.DISPATCH_WEIGHT_TOLERANCE_PERCENT))
    share = declared * percent / Decimal(100)
    return max(share, Decimal(str(settings.DISPATCH_WEIGHT_TOLERANCE_MIN_KG))).quantize(
        GRAM, rounding=ROUND_HALF_UP
    )


def weight_within_tolerance(*, measured: Decimal, declared: Decimal) -> bool:
    return abs(measured - declared) <= weight_allowed(declared)


def _weight(value) -> Decimal:
    try:
        weight = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise errors.BadWeight() from None
    if not weight.is_finite() or weight <= 0 or weight >= Decimal("100000"):
        raise errors.BadWeight()
    return weight.quantize(GRAM, rounding=ROUND_HALF_UP)


def shipment_pack(*, shipment_id: int, weight_kg, actor: str) -> Shipment:
    """Record the parcel's measured gross weight and complete the waybill (courier, waybill
    number, weight). Outside the tolerance the shipment stops until it is repacked."""
    weight = _weight(weight_kg)
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        if shipment.state == S.PACKED and shipment.measured_weight_kg == weight:
            return shipment
        stop = open_mismatch(shipment)
        if stop is not None:
            raise errors.ShipmentStopped(order_no=shipment.order_no, kind=stop.kind)
        if shipment.state not in (S.PICKED, S.PACKED):
            raise errors.NotPicked(order_no=shipment.order_no, state=shipment.get_state_display())
        declared = shipment.declared_weight_kg
        fits = weight_within_tolerance(measured=weight, declared=declared)
        shipment.measured_weight_kg = weight
        if fits:
            shipment.state = S.PACKED
            shipment.packed_at = timezone.now()
            shipment.packed_by = actor
        else:
            shipment.state = S.STOPPED
            Mismatch.objects.create(
                shipment=shipment, kind=Mismatch.Kind.WEIGHT, expected=f"{declared} kg",
                found=f"{weight} kg", created_by=actor,
            )  # fmt: skip
        shipment.save(update_fields=["measured_weight_kg", "state", "packed_at", "packed_by"])
    if not fits:
        raise errors.WeightOutOfTolerance(
            measured=weight, declared=declared, allowed=weight_allowed(declared)
        )
    return shipment


def shipment_dispatch(*, shipment_id: int, actor: str) -> tuple[Shipment, bool]:
    """Hand the packed parcel to the courier: the ledger issues the goods out of the zone,
    the order becomes dispatched and the waybill status "left the zone" (CEB513) is filed,
    all in one transaction. Confirming twice issues once: (shipment, False) the second time."""
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        if shipment.left:
            return shipment, False
        stop = open_mismatch(shipment)
        if stop is not None:
            raise errors.ShipmentStopped(order_no=shipment.order_no, kind=stop.kind)
        if shipment.state != S.PACKED:
            raise errors.NotPacked(order_no=shipment.order_no, state=shipment.get_state_display())
        now = timezone.now()
        marketplace_services.order_dispatch(
            order_no=shipment.order_no,
            actor=actor,
            note=_("handed to %(courier)s, waybill %(no)s")
            % {"courier": settings.COURIER_NAME, "no": shipment.logistics_no},
            at=now,
        )
        _waybill_status_file(shipment, "L", at=now, weight=shipment.measured_weight_kg)
        shipment.state = S.DISPATCHED
        shipment.dispatched_at = now
        shipment.dispatched_by = actor
        shipment.save(update_fields=["state", "dispatched_at", "dispatched_by"])
        send_on_commit("dispatch.tasks.shipment_collect", kwargs={"shipment_id": shipment.pk})
    return shipment, True


def shipment_collect(*, shipment_id: int) -> bool:
    """Tell the courier to take the parcel (outside any lock: it may be an HTTP call), then
    record it. Repeats are harmless: the courier is idempotent by waybill number."""
    shipment = Shipment.objects.get(pk=shipment_id)
    if shipment.courier_collected_at is not None:
        return False
    if not shipment.left:
        return False
    couriers.courier().collect(
        logistics_no=shipment.logistics_no,
        order_no=shipment.order_no,
        consignee=shipment.consignee,
        weight_kg=shipment.measured_weight_kg,
        callback_url=settings.COURIER_CALLBACK_URL,
    )
    Shipment.objects.filter(pk=shipment.pk, courier_collected_at__isnull=True).update(
        courier_collected_at=timezone.now()
    )
    return True


CourierCallback = couriers.DeliveryEvent  # one status the courier reported


def courier_callback_verify(*, body: bytes, headers: Mapping[str, str]) -> list[CourierCallback]:
    """Refuse badly signed, stale, replayed or malformed callbacks (logged, never the body).
    The configured courier adapter checks and reads them (COURIER_PROVIDER): its scheme, not
    ours. The events it carries, each new one once (a repeated push carries none)."""
    adapter = couriers.courier()
    try:
        adapter.verify_callback(body=body, headers=headers)
        events = adapter.parse_callback(body=body, headers=headers)
    except callbacks.CallbackRefused as refused:
        if refused.reason == "malformed":
            logger.warning("courier callback refused: malformed body")
        raise callbacks.CallbackRejected.because(refused.reason) from None
    return [event for event in events if courier_event_record(event=event)]


def courier_nonces_prune(*, now=None) -> int:
    """Forget accepted nonces older than twice the callbacks' max age: a replay that old is
    refused as stale anyway, so the table stays the size of one window."""
    keep_after = (now or timezone.now()) - timedelta(
        seconds=2 * settings.COURIER_CALLBACK_MAX_AGE_SECONDS
    )
    deleted, _rows = CourierNonce.objects.filter(received_at__lt=keep_after).delete()
    return deleted


def shipment_delivered(*, callback: CourierCallback, actor: str = "courier") -> bool:
    """The consignee signed for the parcel: the order is delivered and the waybill status
    "signed for" (CEB513) filed. A repeated callback changes nothing (False)."""
    if callback.status != "delivered":
        return False
    with transaction.atomic():
        shipment = (
            Shipment.objects.select_for_update().filter(logistics_no=callback.logistics_no).first()
        )
        if shipment is None:
            raise errors.ShipmentNotFound()
        if shipment.state == S.DELIVERED:
            return False
        if shipment.state != S.DISPATCHED:
            raise errors.NotDispatched(logistics_no=shipment.logistics_no)
        at = min(callback.delivered_at, timezone.now())
        at = max(at, shipment.dispatched_at)
        marketplace_services.order_mark_delivered(
            order_no=shipment.order_no, actor=actor, at=at, note=_("delivered by the courier")
        )
        _waybill_status_file(shipment, "S", at=at)
        shipment.state = S.DELIVERED
        shipment.delivered_at = at
        shipment.save(update_fields=["state", "delivered_at"])
    return True


def _waybill_status_file(shipment: Shipment, status: str, *, at: datetime, weight=None) -> None:
    """CEB513 for the parcel: "L" left the zone, "S" signed for; filed by the courier that
    allocated the waybill, under its own code."""
    allocation = waybill_allocation(shipment.logistics_no)
    customs_services.waybill_status_file(
        filing=WaybillStatusFiling(
            order_no=shipment.order_no,
            logistics_code=shipment.logistics_code,
            logistics_no=shipment.logistics_no,
            status=status,
            at=at,
            logistics_name=(allocation.logistics_name if allocation else settings.COURIER_NAME)[
                :100
            ],
            weight=weight,
            sender_code=allocation.logistics_code if allocation else "",
            sender_name=allocation.logistics_name if allocation else "",
        )
    )
