"""Stock promised to orders: reserve (all lines or none), confirm on payment, release, expire,
and the customs release that carries reserved goods out of bond to a counter or the dock."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
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
RESERVABLE = {K.STORAGE, K.COUNTER, K.DOCK}
ACTIVE = Reservation.State.ACTIVE


def stock_reserve(
    *,
    reference: str,
    location_code: str,
    lines: Sequence[StockLine],
    actor: str = "system",
    ttl: timedelta | None = None,
    savepoint: bool = True,
) -> list[Reservation]:
    """Hold stock for every line of an order, or for none (InsufficientStock names the item,
    the quantity asked and what is available). Holds expire after `ttl` unless confirmed.

    The hot path of checkout: claim the reference, lock the balance rows (joined with their
    item and location, in key order), update them, insert the holds: four statements, two of
    them hand-written SQL because the ORM's per-statement cost was most of the time spent
    (bench/README.md). `savepoint=False` is for a caller whose whole transaction is given up
    on any refusal (checkout): inside its transaction a refusal then leaves that transaction
    unusable, and the two statements of a savepoint are saved.
    """
    with transaction.atomic(savepoint=savepoint):
        return _reserve(reference, location_code, lines, actor, ttl)


def _reserve(reference, location_code, lines, actor, ttl) -> list[Reservation]:
    lines = check_lines(lines, numbered=True)
    payload = {"at": location_code, "lines": lines_payload(lines)}
    if not begin_operation(kind="reserve", reference=reference, payload=payload, actor=actor):
        return list(Reservation.objects.filter(reference=reference).order_by("line_no"))

    asked: dict[str, int] = defaultdict(int)
    for line in lines:
        asked[line.item_no] += line.quantity
    rows = _lock_for_reserve(location_code, list(asked))
    if not rows or rows[0].location_kind not in RESERVABLE or not rows[0].location_active:
        location(location_code, kinds=RESERVABLE)  # raises the precise location error
    found = {row.item_no: row for row in rows}
    if len(found) < len(asked):
        items_for(lines)  # raises UnknownItem for an item that does not exist at all
    for item_no in sorted(asked, key=lambda no: found[no].balance_id if no in found else 0):
        free = found[item_no].available if item_no in found else 0
        if asked[item_no] > free:
            raise InsufficientStock(
                item_no=item_no, asked=asked[item_no], available=max(free, 0),
                location_code=location_code,
            )  # fmt: skip
    _add_reserved({found[item_no].balance_id: qty for item_no, qty in asked.items()})
    ttl = ttl if ttl is not None else timedelta(minutes=settings.BONDED_RESERVATION_TTL_MINUTES)
    now = timezone.now()
    holds = [
        Reservation(
            reference=reference,
            line_no=line.line_no,
            item_id=found[line.item_no].item_id,
            location_id=rows[0].location_id,
            quantity=line.quantity,
            state=ACTIVE,
            expires_at=now + ttl,
            created_at=now,
        )
        for line in sorted(lines, key=lambda line: line.line_no)
    ]
    _insert_holds(holds)
    return holds


class _LockedRow(NamedTuple):
    balance_id: int
    item_id: int
    item_no: str
    available: int
    location_id: int
    location_kind: str
    location_active: bool


def _lock_for_reserve(location_code: str, item_nos: list[str]) -> list[_LockedRow]:
    """Lock the balance rows of these items at this location, in primary-key order."""
    marks = ", ".join(["%s"] * len(item_nos))
    lock = " FOR UPDATE OF b" if connection.features.has_select_for_update_of else ""
    # Only placeholders and a fixed clause are interpolated: no value reaches the SQL text.
    sql = (
        "SELECT b.id, b.item_id, i.item_no, b.on_hand - b.reserved, l.id, l.kind, l.is_active "  # noqa: S608
        "FROM bonded_balance b JOIN bonded_goodsitem i ON i.id = b.item_id "
        "JOIN bonded_location l ON l.id = b.location_id "
        f"WHERE l.code = %s AND i.item_no IN ({marks}) ORDER BY b.id{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [location_code, *item_nos])
        return [_LockedRow(*row) for row in cursor.fetchall()]


def _add_reserved(quantities: dict[int, int]) -> None:
    """One UPDATE for all lines; the rows are already locked, so order does not matter here."""
    cases = " ".join("WHEN %s THEN %s" for _ in quantities)
    ids = ", ".join(["%s"] * len(quantities))
    params = [v for pair in sorted(quantities.items()) for v in pair] + sorted(quantities)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE bonded_balance SET reserved = reserved + CASE id {cases} END "  # noqa: S608
            f"WHERE id IN ({ids})",
            params,
        )


def _insert_holds(holds: list[Reservation]) -> None:
    """One INSERT .. RETURNING id for all lines: the ORM's bulk_create spent more time building
    this statement than PostgreSQL spent running it (bench/README.md)."""
    columns = "reference, line_no, item_id, location_id, quantity, state, expires_at, created_at"
    row = "(%s, %s, %s, %s, %s, %s, %s, %s, '')"
    params = [
        value
        for h in holds
        for value in (
            h.reference, h.line_no, h.item_id, h.location_id, h.quantity, h.state,
            h.expires_at, h.created_at,
        )
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO bonded_reservation ({columns}, close_reason) "  # noqa: S608
            f"VALUES {', '.join([row] * len(holds))} RETURNING id, line_no",
            params,
        )
        ids = {line_no: pk for pk, line_no in cursor.fetchall()}  # RETURNING order is not promised
    for hold in holds:
        hold.pk = hold.id = ids[hold.line_no]
        hold._state.adding = False


def active_reservations(reference: str) -> list[Reservation]:
    """The order's active holds, locked, in key order."""
    return list(
        Reservation.objects.select_for_update(of=("self",))
        .filter(reference=reference, state=ACTIVE)
        .select_related("item", "location")
        .order_by("pk")
    )


def close_reservations(reservations: Sequence[Reservation], *, state: str, reason: str) -> None:
    """Mark reservations closed; the caller has already moved or freed their stock."""
    Reservation.objects.filter(pk__in=[r.pk for r in reservations]).update(
        state=state, closed_at=timezone.now(), close_reason=reason[:200], expires_at=None
    )


def reservation_confirm(*, reference: str) -> int:
    """The order is paid: its stock is held until release and handover, no longer expiring.

    No savepoint of its own: a refusal is decided before the only write and raised after the
    block, so a caller may catch it and go on in its transaction."""
    with transaction.atomic(savepoint=False):
        reservations = active_reservations(reference)
        if reservations:
            pks = [r.pk for r in reservations]
            return Reservation.objects.filter(pk__in=pks).update(expires_at=None)
        expired = Reservation.objects.filter(reference=reference).exists()
    if expired:
        raise ReservationExpired(reference=reference)
    raise ReservationNotFound(reference=reference)


@transaction.atomic
def reservation_release(
    *, reference: str, reason: str, actor: str = "system", state: str = Reservation.State.RELEASED
) -> int:
    """Give the order's held stock back (cancel, rejection, expiry). Releasing twice frees once."""
    reservations = active_reservations(reference)
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
            active = active_reservations(reference)
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
    reservations = active_reservations(reference)
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
