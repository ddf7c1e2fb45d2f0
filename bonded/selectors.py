"""Reads of the ledger for the apps above: plain values and querysets, never writes."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, QuerySet, Sum

from bonded.models import AccountBookRecord, Balance, GoodsItem, Location, Move, Reservation
from config import refcache

# Locations change in admin, rarely; placement reads them for every order (config/refcache.py).
_LOCATION_MODELS = ("bonded.Location", "bonded.Warehouse")


def item_by_no(item_no: str) -> GoodsItem | None:
    return GoodsItem.objects.filter(item_no=item_no).first()


def items_by_barcode(barcodes: Iterable[str]) -> dict[str, GoodsItem]:
    """The goods items with these barcodes, by barcode (unknown ones are absent)."""
    return {item.barcode: item for item in GoodsItem.objects.filter(barcode__in=set(barcodes))}


def location_by_code(code: str) -> Location | None:
    """The location with its warehouse (per-process reference cache: a change shows within
    REFERENCE_CACHE_SECONDS)."""
    return refcache.cached(
        _LOCATION_MODELS,
        ("location", code),
        lambda: Location.objects.select_related("warehouse").filter(code=code).first(),
    )


def zone_counters() -> list[Location]:
    """The active pickup counters inside the supervision zone, by code (reference cache)."""
    return refcache.cached(
        _LOCATION_MODELS, "zone_counters", lambda: list(pickup_counters(inside_zone_only=True))
    )


def zone_counter(code: str) -> Location | None:
    """An active pickup counter inside the supervision zone (from zone_counters)."""
    return next((counter for counter in zone_counters() if counter.code == code), None)


def pickup_counters(*, inside_zone_only: bool = True) -> QuerySet[Location]:
    """Counters shoppers may choose; bonded orders only go to counters inside the zone."""
    counters = Location.objects.filter(kind=Location.Kind.COUNTER, is_active=True)
    if inside_zone_only:
        counters = counters.filter(inside_supervision_zone=True)
    return counters.select_related("warehouse").order_by("code")


def storage_location_for(location: Location) -> Location | None:
    """The bonded storage that serves a counter or dock: the first storage zone of its warehouse
    (reference cache, as above)."""
    return refcache.cached(
        _LOCATION_MODELS,
        ("storage_for", location.warehouse_id),
        lambda: (
            Location.objects.filter(
                warehouse_id=location.warehouse_id, kind=Location.Kind.STORAGE, is_active=True
            )
            .order_by("pick_sequence", "code")
            .first()
        ),
    )


def available_by_item(
    *, item_ids: Iterable[int] | None = None, location_codes: Iterable[str] | None = None
) -> dict[int, int]:
    """Units free to sell (on hand - reserved) per item, summed over the given locations
    (default: every bonded storage zone). One query, whatever the number of items."""
    balances = Balance.objects.all()
    if location_codes is None:
        balances = balances.filter(location__kind=Location.Kind.STORAGE)
    else:
        balances = balances.filter(location__code__in=list(location_codes))
    if item_ids is not None:
        balances = balances.filter(item_id__in=list(item_ids))
    rows = balances.values("item_id").annotate(free=Sum(F("on_hand") - F("reserved")))
    return {row["item_id"]: row["free"] or 0 for row in rows}


def available_by_storage(*, item_id: int) -> dict[str, int]:
    """Units of one item free to sell per bonded storage zone, by location code: one query."""
    rows = (
        Balance.objects.filter(item_id=item_id, location__kind=Location.Kind.STORAGE)
        .values("location__code")
        .annotate(free=Sum(F("on_hand") - F("reserved")))
    )
    return {row["location__code"]: row["free"] or 0 for row in rows}


def availability(
    *, item_nos: Iterable[str] | None = None, location_codes: Iterable[str] | None = None
) -> list[dict]:
    """Per item and physical location: on hand, reserved, available (for the API and admin)."""
    balances = Balance.objects.select_related("item", "location")
    if item_nos is not None:
        balances = balances.filter(item__item_no__in=list(item_nos))
    if location_codes is not None:
        balances = balances.filter(location__code__in=list(location_codes))
    return [
        {
            "item_no": b.item.item_no,
            "location_code": b.location.code,
            "location_kind": b.location.kind,
            "on_hand": b.on_hand,
            "reserved": b.reserved,
            "available": b.available,
        }
        for b in balances.order_by("item__item_no", "location__code")
    ]


def reservations_for(reference: str) -> QuerySet[Reservation]:
    return Reservation.objects.filter(reference=reference).select_related("item", "location")


def moves_for(reference: str) -> QuerySet[Move]:
    return Move.objects.filter(reference=reference).select_related(
        "item", "from_location", "to_location"
    )


def release_moves_for(references: Iterable[str]) -> QuerySet[Move]:
    """Customs-release moves of many orders (where each item left its storage location)."""
    return Move.objects.filter(
        reference__in=list(references), kind=Move.Kind.RELEASE
    ).select_related("item", "from_location", "to_location__warehouse")


def book_records(*, warehouse_code: str | None = None) -> QuerySet[AccountBookRecord]:
    records = AccountBookRecord.objects.select_related("warehouse", "item")
    if warehouse_code:
        records = records.filter(warehouse__code=warehouse_code)
    return records


@dataclass(frozen=True)
class BookEntry:
    record_no: int
    net_weight_kg: object  # Decimal
    gross_weight_kg: object  # Decimal


def book_entries(*, warehouse_code: str, item_nos: Iterable[str]) -> dict[str, BookEntry]:
    """item_no -> its account-book record number and unit weights in the warehouse's book,
    for the items that have one (reference cache: record numbers and weights seldom change;
    the record's running quantities are not here, read book_records for those)."""
    wanted = tuple(sorted(set(item_nos)))

    def load() -> dict[str, BookEntry]:
        rows = AccountBookRecord.objects.filter(
            warehouse__code=warehouse_code, item__item_no__in=wanted
        ).values_list("item__item_no", "record_no", "item__net_weight_kg", "item__gross_weight_kg")
        return {item_no: BookEntry(no, net, gross) for item_no, no, net, gross in rows}

    return refcache.cached(
        ("bonded.AccountBookRecord", "bonded.GoodsItem", "bonded.Warehouse"),
        ("book_entries", warehouse_code, wanted),
        load,
    )


def availability_at_counters(
    *, item_nos: Iterable[str] | None = None, counter_codes: Iterable[str] | None = None
) -> list[dict]:
    """What can be ordered for pickup at each counter inside the zone: the free units in the
    bonded storage of the counter's warehouse (goods move to the counter on customs release).
    Two queries, whatever the number of items and counters."""
    counters = list(pickup_counters())
    if counter_codes is not None:
        wanted = set(counter_codes)
        counters = [c for c in counters if c.code in wanted]
    balances = Balance.objects.filter(
        location__kind=Location.Kind.STORAGE,
        location__warehouse_id__in={c.warehouse_id for c in counters},
    )
    if item_nos is not None:
        balances = balances.filter(item__item_no__in=list(item_nos))
    free: dict[tuple[int, str], int] = {}
    for row in balances.values("location__warehouse_id", "item__item_no").annotate(
        free=Sum(F("on_hand") - F("reserved"))
    ):
        free[(row["location__warehouse_id"], row["item__item_no"])] = row["free"] or 0
    item_list = sorted(set(item_nos) if item_nos is not None else {k[1] for k in free})
    return [
        {
            "item_no": item_no,
            "counter_code": counter.code,
            "counter_name_zh": counter.name_zh,
            "counter_name_en": counter.name_en,
            "available": free.get((counter.warehouse_id, item_no), 0),
        }
        for item_no in item_list
        for counter in counters
    ]


@dataclass(frozen=True)
class WarehouseBook:
    warehouse_code: str
    book_balance: int
    physical: int
    items: int
    items_differing: int

    @property
    def difference(self) -> int:
        return self.physical - self.book_balance


def book_vs_stock_by_warehouse(*, owner_code: str | None = None) -> list[WarehouseBook]:
    """Per warehouse: customs account book balance against physical stock under bond, the same
    comparison as reconcile() (stock under bond with no book record counts as a difference)
    summed per warehouse; owner_code keeps one merchant's items. Two grouped queries read as
    tuples: no model instances, whatever the number of items."""
    records = AccountBookRecord.objects.all()
    balances = Balance.objects.filter(location__kind__in=Location.BONDED_KINDS)
    if owner_code:
        records = records.filter(item__owner_code=owner_code)
        balances = balances.filter(item__owner_code=owner_code)
    book = {
        (w, i): b
        for w, i, b in records.values_list("warehouse__code", "item_id", "balance").order_by()
    }
    physical = {
        (w, i): qty
        for w, i, qty in balances.values("location__warehouse__code", "item_id")
        .annotate(qty=Sum("on_hand"))
        .values_list("location__warehouse__code", "item_id", "qty")
        .order_by()
    }
    totals: dict[str, list[int]] = {}
    for key in book.keys() | physical.keys():
        row = totals.setdefault(key[0], [0, 0, 0, 0])
        held, counted = book.get(key, 0), physical.get(key, 0) or 0
        row[0] += held
        row[1] += counted
        row[2] += 1
        row[3] += held != counted
    return [WarehouseBook(code, *row) for code, row in sorted(totals.items())]
