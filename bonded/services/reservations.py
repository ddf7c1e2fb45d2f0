"""Stock promised to orders: reserve (all lines or none), confirm on payment, release, expire,
and the customs release that carries reserved goods out of bond to a counter or the dock."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bonded.errors import (
    InsufficientStock,
    ReservationExpired,
    ReservationNotFound,
    WrongLocationKind,
)
from bonded.models import Balance, Location, Move, Reservation
from bonded.services._ledger import (
    StockLine,
    begin_operation,
    check_lines,
    items_for,
    lines_payload,
    location,
    lock_balances,
    post_move,
)
from bonded.services.account_book import book_write_off

K = Location.Kind
ACTIVE = Reservation.State.ACTIVE


@transaction.atomic
def stock_reserve(
    *,
    reference: str,
    location_code: str,
    lines: Sequence[StockLine],
    actor: str = "system",
    ttl: timedelta | None = None,
) -> list[Reservation]:
    """Hold stock for every line of an order, or for none (InsufficientStock names the item,
    the quantity asked and what is available). Holds expire after `ttl` unless confirmed."""
    lines = check_lines(lines, numbered=True)
    source = location(location_code, kinds={K.STORAGE, K.COUNTER, K.DOCK})
    items = items_for(lines)
    payload = {"at": location_code, "lines": lines_payload(lines)}
    if not begin_operation(kind="reserve", reference=reference, payload=payload, actor=actor):
        return list(Reservation.objects.filter(reference=reference).order_by("line_no"))

    asked: dict[int, int] = defaultdict(int)
    for line in lines:
        asked[items[line.item_no].pk] += line.quantity
    balances = lock_balances((item_id, source.pk) for item_id in asked)
    by_id = {item.pk: item for item in items.values()}
    for item_id in sorted(asked):
        row = balances[(item_id, source.pk)]
        if asked[item_id] > row.available:
            raise InsufficientStock(
                item_no=by_id[item_id].item_no,
                asked=asked[item_id],
                available=max(row.available, 0),
                location_code=source.code,
            )
    for item_id in sorted(asked):
        Balance.objects.filter(pk=balances[(item_id, source.pk)].pk).update(
            reserved=F("reserved") + asked[item_id]
        )
    ttl = ttl if ttl is not None else timedelta(minutes=settings.BONDED_RESERVATION_TTL_MINUTES)
    expires_at = timezone.now() + ttl
    return Reservation.objects.bulk_create(
        [
            Reservation(
                reference=reference,
                line_no=line.line_no,
                item=items[line.item_no],
                location=source,
                quantity=line.quantity,
                expires_at=expires_at,
            )
            for line in sorted(lines, key=lambda line: line.line_no)
        ]
    )


def _active(reference: str) -> list[Reservation]:
    return list(
        Reservation.objects.select_for_update()
        .filter(reference=reference, state=ACTIVE)
        .select_related("item", "location")
        .order_by("pk")
    )


def close_reservations(reservations: Sequence[Reservation], *, state: str, reason: str) -> None:
    """Mark reservations closed; the caller has already moved or freed their stock."""
    Reservation.objects.filter(pk__in=[r.pk for r in reservations]).update(
        state=state, closed_at=timezone.now(), close_reason=reason[:200], expires_at=None
    )


@transaction.atomic
def reservation_confirm(*, reference: str) -> int:
    """The order is paid: its stock is held until release and handover, no longer expiring."""
    reservations = _active(reference)
    if not reservations:
        if Reservation.objects.filter(reference=reference).exists():
            raise ReservationExpired(reference=reference)
        raise ReservationNotFound(reference=reference)
    return Reservation.objects.filter(pk__in=[r.pk for r in reservations]).update(expires_at=None)


@transaction.atomic
def reservation_release(
    *, reference: str, reason: str, actor: str = "system", state: str = Reservation.State.RELEASED
) -> int:
    """Give the order's held stock back (cancel, rejection, expiry). Releasing twice frees once."""
    reservations = _active(reference)
    if not reservations:
        return 0
    balances = lock_balances((r.item_id, r.location_id) for r in reservations)
    freed: dict[int, int] = defaultdict(int)
    for r in reservations:
        freed[balances[(r.item_id, r.location_id)].pk] += r.quantity
    for balance_pk in sorted(freed):
        Balance.objects.filter(pk=balance_pk).update(reserved=F("reserved") - freed[balance_pk])
    close_reservations(reservations, state=state, reason=reason)
    return len(reservations)


def reservations_expire(*, now: datetime | None = None, limit: int = 500) -> int:
    """Free the stock of unpaid orders whose hold ran out; one short transaction per order."""
    now = now or timezone.now()
    references = list(
        Reservation.objects.filter(state=ACTIVE, expires_at__lte=now)
        .values_list("reference", flat=True)
        .distinct()[:limit]
    )
    expired = 0
    for reference in references:
        with transaction.atomic():
            # Re-check under the lock: payment may have confirmed it since the query above.
            active = _active(reference)
            if active and all(r.expires_at and r.expires_at <= now for r in active):
                expired += reservation_release(
                    reference=reference, reason="expired unpaid", state=Reservation.State.EXPIRED
                )
    return expired


@transaction.atomic
def reservation_release_from_bond(
    *, reference: str, inventory_list_no: str, destination_code: str, actor: str = "customs"
) -> None:
    """Customs released the order's inventory list: write its goods off the account book and move
    them, still reserved for the order, from bonded storage to the pickup counter or the dock.
    Exactly once per inventory list: a repeated receipt changes nothing."""
    destination = location(destination_code, kinds={K.COUNTER, K.DOCK}, field="destination_code")
    if destination.kind == K.COUNTER and not destination.inside_supervision_zone:
        raise WrongLocationKind(
            code=destination_code,
            expected="a counter inside the special supervision zone",
            field="destination_code",
        )
    payload = {"reference": reference, "to": destination_code}
    if not begin_operation(
        kind="release", reference=inventory_list_no, payload=payload, actor=actor
    ):
        return
    reservations = _active(reference)
    if not reservations:
        raise ReservationNotFound(reference=reference)
    under_bond = [r for r in reservations if r.location.kind in Location.BONDED_KINDS]

    written_off: dict[tuple[int, int], int] = defaultdict(int)
    for r in under_bond:
        written_off[(r.location.warehouse_id, r.item_id)] += r.quantity
    items = {r.item_id: r.item for r in under_bond}
    warehouses = {r.location.warehouse_id: r.location.warehouse for r in under_bond}
    for warehouse_id, item_id in sorted(written_off):
        book_write_off(
            warehouse=warehouses[warehouse_id],
            item=items[item_id],
            quantity=written_off[(warehouse_id, item_id)],
            inventory_list_no=inventory_list_no,
        )

    balances = lock_balances(
        pair
        for r in under_bond
        for pair in ((r.item_id, r.location_id), (r.item_id, destination.pk))
    )
    for r in under_bond:
        post_move(
            balances=balances,
            item=r.item,
            quantity=r.quantity,
            source=r.location,
            target=destination,
            kind=Move.Kind.RELEASE,
            reference=reference,
            actor=actor,
            reserved=True,
            note=inventory_list_no,
        )
    Reservation.objects.filter(pk__in=[r.pk for r in under_bond]).update(location=destination)
