"""From released delivery orders to picked goods: shipments, waves, scans and stops.

A stop (wrong item, short pick) is recorded in its own transaction and then raised, so the
record survives the refusal and the shipment takes nothing else until someone fixes it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from bonded import selectors as bonded_selectors
from customs import selectors as customs_selectors
from dispatch import errors
from dispatch.models import Mismatch, PickLine, Shipment, Wave
from marketplace.selectors.orders import released_delivery_orders

S = Shipment.State
K = Mismatch.Kind
R = Mismatch.Resolution


def local_day(at=None):
    return timezone.localtime(at or timezone.now()).date()


def shipments_sync(*, limit: int = 500) -> int:
    """Open a shipment for every released delivery order whose goods are at the dock and
    that has none yet. Idempotent (one shipment per order); returns how many were opened."""
    known = Shipment.objects.values_list("order_no", flat=True)
    orders = list(
        released_delivery_orders().select_related("merchant").exclude(number__in=known)[:limit]
    )
    numbers = [order.number for order in orders]
    waybills = customs_selectors.waybills_for(numbers)
    releases: dict[str, list] = defaultdict(list)
    for move in bonded_selectors.release_moves_for(numbers):
        releases[move.reference].append(move)
    return sum(
        _shipment_open(order, waybills.get(order.number), releases[order.number])
        for order in orders
    )


def _shipment_open(order, waybill, releases: list) -> bool:
    if waybill is None or not releases:
        return False  # goods not yet out of bond: the next sweep tries again
    # Where each item was taken from on release (its storage location), in walk order.
    sources: dict[str, list[list]] = defaultdict(list)
    for move in sorted(releases, key=lambda m: (m.from_location.pick_sequence, m.id)):
        sources[move.item.item_no].append([move.from_location, move.quantity, move.item.barcode])
    released_at = order.released_at or timezone.now()
    try:
        with transaction.atomic():
            shipment = Shipment.objects.create(
                order_no=order.number,
                warehouse_code=releases[0].to_location.warehouse.code,
                ebc_code=order.merchant.code if order.merchant_id else "",
                consignee=order.consignee,
                consignee_district=order.consignee_district,
                logistics_code=waybill.logistics_code,
                logistics_no=waybill.logistics_no,
                declared_weight_kg=waybill.declared_weight,
                released_at=released_at,
                due_at=released_at + timedelta(hours=settings.DISPATCH_TARGET_HOURS),
            )
            lines = []
            for line in order.lines.all():
                need = line.quantity
                for source in sources.get(line.item_no, []):
                    location, available, barcode = source
                    take = min(need, available)
                    if take <= 0:
                        continue
                    source[1] -= take
                    need -= take
                    lines.append(
                        PickLine(
                            shipment=shipment, gnum=line.gnum, item_no=line.item_no,
                            barcode=line.barcode or barcode, name_zh=line.name_zh,
                            name_en=line.name_en, location_code=location.code,
                            walk_order=location.pick_sequence, quantity=take,
                        )
                    )  # fmt: skip
            PickLine.objects.bulk_create(lines)
    except IntegrityError:
        return False  # another sweep opened it first
    return True


def wave_build(*, actor: str, size: int | None = None) -> Wave | None:
    """Put the shipments waiting for a wave (oldest deadline first) into a new wave for
    today; None when nothing waits."""
    shipments_sync()
    size = size or settings.DISPATCH_WAVE_SIZE
    with transaction.atomic():
        waiting = list(
            Shipment.objects.select_for_update()
            .filter(wave__isnull=True, state=S.PICKING)
            .order_by("due_at", "id")[:size]
        )
        if not waiting:
            return None
        day = local_day()
        count = Wave.objects.filter(day=day).count()
        wave = Wave.objects.create(
            number=f"W{day:%Y%m%d}-{count + 1:03d}",
            warehouse_code=waiting[0].warehouse_code,
            day=day,
            created_by=actor,
        )
        Shipment.objects.filter(pk__in=[s.pk for s in waiting]).update(wave=wave)
    return wave


def open_mismatch(shipment: Shipment) -> Mismatch | None:
    return shipment.mismatches.filter(resolved_at__isnull=True).first()


def next_line(wave: Wave) -> PickLine | None:
    """What to pick next: the first open line of the wave in walk order."""
    return (
        PickLine.objects.select_related("shipment")
        .filter(shipment__wave=wave, shipment__state=S.PICKING, state=PickLine.State.OPEN)
        .order_by("walk_order", "location_code", "item_no", "shipment__due_at", "shipment_id")
        .first()
    )


def _stopped_in(wave: Wave) -> Mismatch | None:
    """A picking stop (wrong item, short pick) halts the wave's walk until fixed; a weight stop
    belongs to the packing bench and does not."""
    return (
        Mismatch.objects.select_related("shipment", "line")
        .filter(shipment__wave=wave, resolved_at__isnull=True)
        .exclude(kind=K.WEIGHT)
        .order_by("created_at", "id")
        .first()
    )


@dataclass(frozen=True)
class ScanResult:
    line: PickLine
    line_done: bool
    shipment_done: bool


def pick_scan(*, wave_id: int, barcode: str, actor: str) -> ScanResult:
    """One scan at the current line of the wave: the right barcode counts one unit; any other
    barcode stops that line's shipment (wrong item) until it is put back."""
    barcode = "".join(str(barcode).split())
    wrong: Mismatch | None = None
    with transaction.atomic():
        wave = Wave.objects.select_for_update().get(pk=wave_id)
        stop = _stopped_in(wave)
        if stop is not None:
            raise errors.ShipmentStopped(order_no=stop.shipment.order_no, kind=stop.kind)
        line = next_line(wave)
        if line is None:
            raise errors.NothingToPick()
        line = PickLine.objects.select_for_update().get(pk=line.pk)
        if barcode != line.barcode:
            wrong = _stop(
                line.shipment, line=line, kind=K.WRONG_ITEM, expected=line.barcode,
                found=barcode[:60], actor=actor,
            )  # fmt: skip
        else:
            line.picked += 1
            if line.picked >= line.quantity:
                line.state = PickLine.State.PICKED
            line.save(update_fields=["picked", "state"])
            shipment_done = _maybe_picked(line.shipment)
            return ScanResult(line, line.state == PickLine.State.PICKED, shipment_done)
    raise errors.WrongItemScanned(
        expected=wrong.expected, scanned=wrong.found, order_no=line.shipment.order_no
    )


def pick_short(*, line_id: int, on_shelf: int, actor: str) -> Mismatch:
    """The operator finds fewer units than the line still needs: the shipment stops."""
    with transaction.atomic():
        line = PickLine.objects.select_for_update().select_related("shipment").get(pk=line_id)
        shipment = Shipment.objects.select_for_update().get(pk=line.shipment_id)
        if open_mismatch(shipment) is not None or shipment.state != S.PICKING:
            raise errors.ShipmentStopped(order_no=shipment.order_no, kind="state")
        if line.state != PickLine.State.OPEN or not 0 <= on_shelf < line.remaining:
            raise errors.BadShortCount(remaining=line.remaining)
        mismatch = _stop(
            shipment, line=line, kind=K.SHORT_PICK, expected=str(line.remaining),
            found=str(on_shelf), actor=actor,
        )  # fmt: skip
    return mismatch


def _stop(shipment: Shipment, *, line, kind: str, expected: str, found: str, actor: str):
    Shipment.objects.filter(pk=shipment.pk).update(state=S.STOPPED)
    shipment.state = S.STOPPED
    return Mismatch.objects.create(
        shipment=shipment, line=line, kind=kind, expected=expected, found=found, created_by=actor
    )


ALLOWED_FIXES = {
    K.WRONG_ITEM: {R.PUT_BACK},
    K.SHORT_PICK: {R.FOUND, R.HOLD},
    K.WEIGHT: {R.REWEIGH, R.HOLD},
}


def mismatch_resolve(*, mismatch_id: int, resolution: str, actor: str, note: str = "") -> Mismatch:
    """Fix a stop. Put back / found: picking goes on where it stopped. Re-weigh: pack again.
    Hold: the shipment leaves its wave and waits (STOPPED) for a supervisor's requeue."""
    with transaction.atomic():
        mismatch = Mismatch.objects.select_for_update().get(pk=mismatch_id)
        shipment = Shipment.objects.select_for_update().get(pk=mismatch.shipment_id)
        if mismatch.resolved_at is not None:
            raise errors.MismatchAlreadyFixed()
        if resolution not in ALLOWED_FIXES[mismatch.kind]:
            raise errors.BadResolution(kind=mismatch.kind)
        mismatch.resolved_at = timezone.now()
        mismatch.resolved_by = actor
        mismatch.resolution = resolution
        mismatch.note = note[:300]
        mismatch.save(update_fields=["resolved_at", "resolved_by", "resolution", "note"])
        wave_id = shipment.wave_id
        if resolution == R.HOLD:
            shipment.wave = None
            shipment.state = S.STOPPED
        elif mismatch.kind == K.WEIGHT:
            shipment.state = S.PICKED
        else:
            shipment.state = S.PICKING
        shipment.save(update_fields=["wave", "state"])
        if shipment.state == S.PICKING:
            _maybe_picked(shipment)
        _close_wave_if_done(wave_id)
    return mismatch


def shipment_requeue(*, shipment_id: int, actor: str) -> Shipment:
    """A held shipment (stock checked) goes back to the queue for the next wave; its picked
    units stay picked."""
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        if shipment.state != S.STOPPED or open_mismatch(shipment) is not None:
            raise errors.ShipmentStopped(order_no=shipment.order_no, kind="state")
        shipment.state = S.PICKING
        shipment.wave = None
        shipment.save(update_fields=["state", "wave"])
        _maybe_picked(shipment)
    return shipment


def _maybe_picked(shipment: Shipment) -> bool:
    """Every line picked: the shipment goes to packing; the wave closes with its last one."""
    if shipment.lines.exclude(state=PickLine.State.PICKED).exists():
        return False
    Shipment.objects.filter(pk=shipment.pk, state=S.PICKING).update(
        state=S.PICKED, picked_at=timezone.now()
    )
    _close_wave_if_done(shipment.wave_id)
    return True


def _close_wave_if_done(wave_id: int | None) -> None:
    if (
        wave_id
        and not Shipment.objects.filter(wave_id=wave_id, state__in=[S.PICKING, S.STOPPED]).exists()
    ):
        Wave.objects.filter(pk=wave_id, state=Wave.State.OPEN).update(
            state=Wave.State.DONE, closed_at=timezone.now()
        )
