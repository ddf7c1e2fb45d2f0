"""The ledger's mechanics shared by every service: validation, idempotency, locking, posting.

Rules every service follows:
- validate all input before writing anything (a bad line writes nothing);
- record the operation (kind, reference, fingerprint of the content) first: the same call twice
  is a no-op, the same reference with other content is a ReferenceConflict;
- lock the Balance rows it touches in primary-key order (SELECT ... FOR UPDATE ORDER BY id), so
  two multi-line operations can never wait on each other in a cycle;
- post an append-only Move and change the balances in the same transaction; the CHECK
  constraints on Balance are the last line of defence.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from bonded.errors import (
    DuplicateLine,
    EmptyLines,
    InsufficientStock,
    InvalidQuantity,
    ReferenceConflict,
    UnknownItem,
    UnknownLocation,
    WrongLocationKind,
)
from bonded.models import Balance, GoodsItem, LedgerOperation, Location, Move
from config import refcache

MAX_QUANTITY = 1_000_000


@dataclass(frozen=True)
class StockLine:
    """One line of a stock operation. `line_no` is the order line (gnum) for reservations."""

    item_no: str
    quantity: int
    line_no: int = 1


def check_quantity(value: object, *, field: str = "quantity") -> int:
    # bool is an int subclass, and a float or Decimal of 2.0 still says someone typed a fraction.
    if type(value) is not int or not 0 < value <= MAX_QUANTITY:
        raise InvalidQuantity(field=field, value=value)
    return value


def check_lines(lines: Sequence[StockLine], *, numbered: bool = False) -> list[StockLine]:
    if not lines:
        raise EmptyLines()
    seen: set[int] = set()
    for line in lines:
        check_quantity(line.quantity)
        if numbered:
            check_quantity(line.line_no, field="line_no")
            if line.line_no in seen:
                raise DuplicateLine(line_no=line.line_no)
            seen.add(line.line_no)
    return list(lines)


def items_for(lines: Iterable[StockLine]) -> dict[str, GoodsItem]:
    wanted = {line.item_no for line in lines}
    items = {item.item_no: item for item in GoodsItem.objects.filter(item_no__in=wanted)}
    for item_no in sorted(wanted - items.keys()):
        raise UnknownItem(item_no=item_no)
    return items


def location(code: str, *, kinds: set[str] | None = None, field: str = "location_code") -> Location:
    found = Location.objects.select_related("warehouse").filter(code=code, is_active=True).first()
    if found is None:
        raise UnknownLocation(code=code, field=field)
    if kinds is not None and found.kind not in kinds:
        raise WrongLocationKind(code=code, expected=" / ".join(sorted(kinds)), field=field)
    return found


def virtual(kind: str) -> Location:
    """The virtual end of a move (supplier, shopper, loss); made on first use if missing.
    Its row never changes once made: read through the per-process reference cache (every
    handover issues to the shopper)."""
    code, name_zh, name_en = VIRTUAL_LOCATIONS[kind]

    def load() -> Location:
        found, _ = Location.objects.get_or_create(
            code=code, defaults={"kind": kind, "name_zh": name_zh, "name_en": name_en}
        )
        return found

    return refcache.cached(("bonded.Location",), ("virtual", kind), load)


VIRTUAL_LOCATIONS = {
    Location.Kind.SUPPLIER: ("SUPPLIER", "境外供应商", "Overseas supplier"),
    Location.Kind.SHOPPER: ("SHOPPER", "消费者", "Shopper"),
    Location.Kind.LOSS: ("LOSS", "损耗", "Loss"),
}


def fingerprint(payload: dict) -> str:
    canonical = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def lines_payload(lines: Sequence[StockLine]) -> list[dict]:
    return sorted((asdict(line) for line in lines), key=lambda d: (d["line_no"], d["item_no"]))


def begin_operation(*, kind: str, reference: str, payload: dict, actor: str) -> bool:
    """Claim (kind, reference). True: first time, go ahead. False: already done, do nothing.

    One round trip on the hot path: INSERT ... ON CONFLICT DO NOTHING (PostgreSQL, and SQLite
    3.35+). A concurrent claim of the same reference waits on the unique index until the first
    transaction ends, then sees its row.
    """
    if not reference or len(reference) > 64:
        raise ReferenceConflict(kind=kind, reference=reference or "(empty)")
    digest = fingerprint(payload)
    table = LedgerOperation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (kind, reference, fingerprint, actor, created_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (kind, reference) DO NOTHING RETURNING id",
            [kind, reference, digest, actor[:150], timezone.now()],
        )
        if cursor.fetchone() is not None:
            return True
    existing = LedgerOperation.objects.get(kind=kind, reference=reference)
    if existing.fingerprint != digest:
        raise ReferenceConflict(kind=kind, reference=reference)
    return False


def lock_balances(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Balance]:
    """Lock the (item_id, location_id) balance rows in primary-key order, creating missing ones."""
    pairs = sorted(set(pairs))
    if not pairs:
        return {}
    condition = Q()
    for item_id, location_id in pairs:
        condition |= Q(item_id=item_id, location_id=location_id)
    locked = Balance.objects.select_for_update().filter(condition).order_by("pk")
    rows = {(b.item_id, b.location_id): b for b in locked}
    missing = set(pairs) - rows.keys()
    if missing:
        Balance.objects.bulk_create(
            [Balance(item_id=i, location_id=loc) for i, loc in sorted(missing)],
            ignore_conflicts=True,  # a concurrent writer may create the same row first
        )
        rows = {(b.item_id, b.location_id): b for b in locked.all()}
    return rows


def post_move(
    *,
    balances: dict[tuple[int, int], Balance],
    item: GoodsItem,
    quantity: int,
    source: Location,
    target: Location,
    kind: str,
    reference: str,
    actor: str,
    reserved: bool = False,
    note: str = "",
) -> Move:
    """Move `quantity` from source to target. With reserved=True the units leave the source's
    reserved stock and arrive reserved at the target (a reservation travelling with its goods)."""
    if not source.is_virtual:
        row = balances[(item.pk, source.pk)]
        limit = row.reserved if reserved else row.on_hand - row.reserved
        if quantity > limit:
            raise InsufficientStock(
                item_no=item.item_no, asked=quantity, available=limit, location_code=source.code
            )
        row.on_hand -= quantity
        updates = {"on_hand": F("on_hand") - quantity}
        if reserved:
            row.reserved -= quantity
            updates["reserved"] = F("reserved") - quantity
        Balance.objects.filter(pk=row.pk).update(**updates)
    if not target.is_virtual:
        row = balances[(item.pk, target.pk)]
        row.on_hand += quantity
        updates = {"on_hand": F("on_hand") + quantity}
        if reserved:
            row.reserved += quantity
            updates["reserved"] = F("reserved") + quantity
        Balance.objects.filter(pk=row.pk).update(**updates)
    return Move.objects.create(
        item=item,
        quantity=quantity,
        from_location=source,
        to_location=target,
        kind=kind,
        reference=reference,
        actor=actor,
        note=note[:300],
    )
