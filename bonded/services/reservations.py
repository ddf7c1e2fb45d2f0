"""Stock promised to orders: reserve (all lines or none), confirm on payment, release, expire,
and the customs release that carries reserved goods out of bond to a counter or the dock."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.utils import timezone

from bonded.errors import (
    BookBalanceExceeded,
    InsufficientStock,
    ReferenceConflict,
    ReservationExpired,
    ReservationNotFound,
    WrongLocationKind,
)
from bonded.models import (
    AccountBookEntry,
    AccountBookRecord,
    Balance,
    LedgerOperation,
    Location,
    Move,
    Reservation,
)
from bonded.services._ledger import (
    StockLine,
    begin_operation,
    check_lines,
    fingerprint,
    items_for,
    lines_payload,
    location,
    lock_balances,
)
from config import refcache

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


def reservation_release_from_bond(
    *,
    reference: str,
    inventory_list_no: str,
    destination_code: str,
    actor: str = "customs",
    savepoint: bool = True,
) -> None:
    """Customs released the order's inventory list: write its goods off the account book and move
    them, still reserved for the order, from bonded storage to the pickup counter or the dock.
    Exactly once per inventory list: a repeated receipt changes nothing."""
    reservations_release_from_bond(
        releases=[Release(reference, inventory_list_no, destination_code)],
        actor=actor,
        savepoint=savepoint,
    )


class Release(NamedTuple):
    """One order's inventory list released by customs, and where its goods go."""

    reference: str
    inventory_list_no: str
    destination_code: str


def reservations_release_from_bond(
    *, releases: Sequence[Release], actor: str = "customs", savepoint: bool = True
) -> list[str]:
    """Release many orders' inventory lists at once (a batch of receipts): the same as one
    `reservation_release_from_bond` each, in a constant number of statements for the batch
    (issue #19). All or nothing: any refusal raises and writes nothing. Returns the inventory
    lists released now (a repeated one changes nothing and is left out).

    Locks in the order every writer takes them: reservations, then account-book records by
    (warehouse, item) as book_record takes them one by one, then balances by key.
    `savepoint=False` is for a caller inside a savepoint of its own (customs' release): a
    refusal then undoes that savepoint, and the two statements of a second one are saved."""
    with transaction.atomic(savepoint=savepoint):
        return _release_from_bond(releases, actor)


def _release_from_bond(releases: Sequence[Release], actor: str) -> list[str]:
    if not releases:
        return []
    destinations = _destinations({r.destination_code for r in releases})
    claimed = _claim_releases(releases, actor=actor)
    if not claimed:
        return []
    reservations = list(
        Reservation.objects.select_for_update(of=("self",))
        .filter(reference__in={r.reference for r in claimed}, state=ACTIVE)
        .select_related("item", "location")
        .order_by("pk")
    )
    by_reference: dict[str, list[Reservation]] = defaultdict(list)
    for r in reservations:
        by_reference[r.reference].append(r)
    # (release, its reservations still under bond); an order named twice moves with the first.
    plan: list[tuple[Release, list[Reservation]]] = []
    moved: set[str] = set()
    for release in claimed:
        if release.reference not in by_reference:
            raise ReservationNotFound(reference=release.reference)
        under_bond = []
        if release.reference not in moved:
            moved.add(release.reference)
            under_bond = [
                r for r in by_reference[release.reference]
                if r.location.kind in Location.BONDED_KINDS
            ]  # fmt: skip
        plan.append((release, under_bond))

    _book_write_offs(plan)
    _move_reserved(plan, destinations, actor=actor)
    return [release.inventory_list_no for release in claimed]


def _destinations(codes: set[str]) -> dict[str, Location]:
    """Every destination must be an active counter inside the supervision zone, or a dock.
    Read in one query through the reference cache (a batch's destinations are mostly the same
    few counters), as placement reads locations: a counter closed in admin is refused here too
    within REFERENCE_CACHE_SECONDS."""
    rows = refcache.cached(
        ("bonded.Location",),
        ("release destinations", frozenset(codes)),
        lambda: list(Location.objects.filter(code__in=codes)),
    )
    found = {loc.code: loc for loc in rows if loc.is_active}
    for code in sorted(codes):
        if code not in found or found[code].kind not in (K.COUNTER, K.DOCK):
            # Raises the precise error (unknown, inactive or wrong kind) as the single call did.
            found[code] = location(code, kinds={K.COUNTER, K.DOCK}, field="destination_code")
        if found[code].kind == K.COUNTER and not found[code].inside_supervision_zone:
            raise WrongLocationKind(
                code=code,
                expected="a counter inside the special supervision zone",
                field="destination_code",
            )
    return found


def _claim_releases(releases: Sequence[Release], *, actor: str) -> list[Release]:
    """Claim every inventory list in one INSERT .. ON CONFLICT DO NOTHING RETURNING, as
    begin_operation claims one: the lists claimed now, in the order given. A list claimed
    before with the same content is skipped; with other content it is a ReferenceConflict."""
    wanted: dict[str, tuple[Release, str]] = {}
    for release in releases:
        no = release.inventory_list_no
        if not no or len(no) > 64:
            raise ReferenceConflict(kind="release", reference=no or "(empty)")
        digest = fingerprint({"reference": release.reference, "to": release.destination_code})
        if no in wanted and wanted[no][1] != digest:
            raise ReferenceConflict(kind="release", reference=no)
        wanted.setdefault(no, (release, digest))
    now = timezone.now()
    table = LedgerOperation._meta.db_table
    params = [
        value
        for no, (_, digest) in wanted.items()
        for value in ("release", no, digest, actor[:150], now)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (kind, reference, fingerprint, actor, created_at) "  # noqa: S608
            f"VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(wanted))} "
            "ON CONFLICT (kind, reference) DO NOTHING RETURNING reference",
            params,
        )
        fresh = {row[0] for row in cursor.fetchall()}
    if len(fresh) < len(wanted):
        done = LedgerOperation.objects.filter(
            kind="release", reference__in=[no for no in wanted if no not in fresh]
        ).values_list("reference", "fingerprint")
        for no, digest in sorted(done):
            if digest != wanted[no][1]:
                raise ReferenceConflict(kind="release", reference=no)
    return [release for no, (release, _) in wanted.items() if no in fresh]


def _book_write_offs(plan: list[tuple[Release, list[Reservation]]]) -> None:
    """book_write_off for every (inventory list, warehouse, item): one lock of the records, one
    UPDATE, one INSERT of the entries. A missing record has a balance of 0, so any write-off
    from it is refused: nothing to create (book_record's new record would be rolled back)."""
    per_list: dict[tuple[str, int, int], int] = defaultdict(int)
    for release, under_bond in plan:
        for r in under_bond:
            per_list[(release.inventory_list_no, r.location.warehouse_id, r.item_id)] += r.quantity
    if not per_list:
        return
    total: dict[tuple[int, int], int] = defaultdict(int)
    for (_, warehouse_id, item_id), quantity in per_list.items():
        total[(warehouse_id, item_id)] += quantity
    condition = Q()
    for warehouse_id, item_id in sorted(total):
        condition |= Q(warehouse_id=warehouse_id, item_id=item_id)
    records = {
        (rec.warehouse_id, rec.item_id): rec
        for rec in AccountBookRecord.objects.select_for_update()
        .filter(condition)
        .order_by("warehouse_id", "item_id")
    }
    items = {r.item_id: r.item for _, under_bond in plan for r in under_bond}
    for key in sorted(total):
        balance = records[key].balance if key in records else 0
        if total[key] > balance:
            raise BookBalanceExceeded(
                item_no=items[key[1]].item_no, asked=total[key], balance=balance
            )
    AccountBookRecord.objects.filter(pk__in=[records[key].pk for key in total]).update(
        written_off=F("written_off")
        + Case(
            *(When(pk=records[key].pk, then=Value(qty)) for key, qty in sorted(total.items())),
            output_field=BigIntegerField(),
        )
    )
    now = timezone.now()
    AccountBookEntry.objects.bulk_create(
        AccountBookEntry(
            record=records[(warehouse_id, item_id)],
            kind=AccountBookEntry.Kind.WRITE_OFF,
            quantity=quantity,
            document_no=no,
            created_at=now,
        )
        for (no, warehouse_id, item_id), quantity in sorted(per_list.items())
    )


def _move_reserved(
    plan: list[tuple[Release, list[Reservation]]],
    destinations: dict[str, Location],
    *,
    actor: str,
) -> None:
    """post_move(reserved=True) for every reservation under bond: one lock of the balances (key
    order), one UPDATE of them, one INSERT of the moves, one UPDATE of the reservations."""
    moves = [
        (release, r, destinations[release.destination_code])
        for release, under_bond in plan
        for r in under_bond
    ]
    if not moves:
        return
    balances = lock_balances(
        pair for _, r, to in moves for pair in ((r.item_id, r.location_id), (r.item_id, to.pk))
    )
    delta: dict[int, int] = defaultdict(int)
    for _, r, to in moves:
        delta[balances[(r.item_id, r.location_id)].pk] -= r.quantity
        delta[balances[(r.item_id, to.pk)].pk] += r.quantity
    for _, r, _to in moves:
        row = balances[(r.item_id, r.location_id)]
        if -delta[row.pk] > row.reserved:
            raise InsufficientStock(
                item_no=r.item.item_no, asked=-delta[row.pk], available=row.reserved,
                location_code=r.location.code,
            )  # fmt: skip
    change = Case(
        *(When(pk=pk, then=Value(d)) for pk, d in sorted(delta.items())),
        output_field=BigIntegerField(),
    )
    Balance.objects.filter(pk__in=sorted(delta)).update(
        on_hand=F("on_hand") + change, reserved=F("reserved") + change
    )
    now = timezone.now()
    Move.objects.bulk_create(
        Move(
            item_id=r.item_id,
            quantity=r.quantity,
            from_location_id=r.location_id,
            to_location_id=to.pk,
            kind=Move.Kind.RELEASE,
            reference=release.reference,
            actor=actor[:150],
            note=release.inventory_list_no[:300],
            created_at=now,
        )
        for release, r, to in moves
    )
    by_destination: dict[int, list[int]] = defaultdict(list)
    for _, r, to in moves:
        by_destination[to.pk].append(r.pk)
    Reservation.objects.filter(pk__in=[r.pk for _, r, _to in moves]).update(
        location=Case(
            *(When(pk__in=pks, then=Value(to)) for to, pks in sorted(by_destination.items())),
            output_field=BigIntegerField(),
        )
    )
