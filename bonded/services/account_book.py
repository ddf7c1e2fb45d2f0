"""The warehouse's customs account book (emsNo): what customs believes is in bond, per item."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import F, Max, Sum

from bonded.errors import BookBalanceExceeded
from bonded.models import (
    AccountBookEntry,
    AccountBookRecord,
    Balance,
    GoodsItem,
    Location,
    Warehouse,
)


def book_record(*, warehouse: Warehouse, item: GoodsItem) -> AccountBookRecord:
    """The item's record in the book, created on its first entry; locked for the caller."""
    record = AccountBookRecord.objects.select_for_update().filter(warehouse=warehouse, item=item)
    found = record.first()
    if found:
        return found
    # Numbering new records must not race: lock the warehouse row while picking the next number.
    Warehouse.objects.select_for_update().filter(pk=warehouse.pk).get()
    found = record.first()
    if found:
        return found
    last = AccountBookRecord.objects.filter(warehouse=warehouse).aggregate(n=Max("record_no"))["n"]
    created = AccountBookRecord.objects.create(
        warehouse=warehouse, item=item, record_no=(last or 0) + 1
    )
    return AccountBookRecord.objects.select_for_update().get(pk=created.pk)


def book_enter(
    *, warehouse: Warehouse, item: GoodsItem, quantity: int, document_no: str, kind: str
) -> None:
    """Goods declared into bond (entry declaration) or returned into it (return request)."""
    record = book_record(warehouse=warehouse, item=item)
    # Bypasses save() and so leaves the reference cache alone, on purpose: it caches record
    # numbers and weights (selectors.book_entries), never these running quantities, and
    # dropping it on every entry and release would undo it (config/refcache.py).
    AccountBookRecord.objects.filter(pk=record.pk).update(declared_in=F("declared_in") + quantity)
    AccountBookEntry.objects.create(
        record=record, kind=kind, quantity=quantity, document_no=document_no
    )


def book_write_off(
    *, warehouse: Warehouse, item: GoodsItem, quantity: int, inventory_list_no: str
) -> None:
    """A released inventory list takes its goods off the book."""
    record = book_record(warehouse=warehouse, item=item)
    if quantity > record.balance:
        raise BookBalanceExceeded(item_no=item.item_no, asked=quantity, balance=record.balance)
    # Leaves the reference cache alone, as in book_enter: no running quantity is cached.
    AccountBookRecord.objects.filter(pk=record.pk).update(written_off=F("written_off") + quantity)
    AccountBookEntry.objects.create(
        record=record,
        kind=AccountBookEntry.Kind.WRITE_OFF,
        quantity=quantity,
        document_no=inventory_list_no,
    )


@dataclass(frozen=True)
class BookLine:
    warehouse_code: str
    item_no: str
    record_no: int | None
    book_balance: int
    physical: int

    @property
    def difference(self) -> int:
        return self.physical - self.book_balance


def reconcile(
    *, warehouse_code: str | None = None, differences_only: bool = True
) -> list[BookLine]:
    """Ex-post check: physical stock under bond per item must equal the book balance.

    Reads only; safe to run at any time. Two grouped queries whatever the number of items.
    """
    records = AccountBookRecord.objects.select_related("warehouse", "item")
    balances = Balance.objects.filter(location__kind__in=Location.BONDED_KINDS)
    if warehouse_code:
        records = records.filter(warehouse__code=warehouse_code)
        balances = balances.filter(location__warehouse__code=warehouse_code)
    physical: dict[tuple[str, str], int] = defaultdict(int)
    for row in balances.values("location__warehouse__code", "item__item_no").annotate(
        qty=Sum("on_hand")
    ):
        physical[(row["location__warehouse__code"], row["item__item_no"])] += row["qty"] or 0

    lines: list[BookLine] = []
    for record in records.order_by("warehouse__code", "record_no"):
        key = (record.warehouse.code, record.item.item_no)
        lines.append(
            BookLine(key[0], key[1], record.record_no, record.balance, physical.pop(key, 0))
        )
    # Stock under bond with no book record at all is a difference too.
    lines += [BookLine(w, i, None, 0, qty) for (w, i), qty in sorted(physical.items())]
    if differences_only:
        lines = [line for line in lines if line.difference]
    return lines
