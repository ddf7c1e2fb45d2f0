"""Stocktakes: count a location, see the differences, post them as adjustment moves.

Adjustments change physical stock only; the customs account book changes only with customs
documents, so a loss shows up in reconciliation until customs is told.
"""

from django.db import transaction
from django.utils import timezone

from bonded.errors import BelowReserved, StocktakeClosed
from bonded.models import Location, Move, Stocktake, StocktakeLine
from bonded.services._ledger import (
    StockLine,
    begin_operation,
    check_quantity,
    items_for,
    location,
    lock_balances,
    post_move,
    virtual,
)

PHYSICAL = {
    Location.Kind.STORAGE,
    Location.Kind.INSPECTION,
    Location.Kind.COUNTER,
    Location.Kind.DOCK,
}


@transaction.atomic
def stocktake_open(*, reference: str, location_code: str, actor: str) -> Stocktake:
    place = location(location_code, kinds=PHYSICAL)
    stocktake, _ = Stocktake.objects.get_or_create(
        reference=reference, defaults={"location": place, "created_by": actor}
    )
    return stocktake


@transaction.atomic
def stocktake_count(*, reference: str, item_no: str, counted: int) -> StocktakeLine:
    """Record (or correct) the count of one item; zero is a valid count."""
    stocktake = Stocktake.objects.select_for_update().get(reference=reference)
    if stocktake.state != Stocktake.State.OPEN:
        raise StocktakeClosed(reference=reference)
    if counted != 0 or type(counted) is not int:
        check_quantity(counted, field="counted")
    item = items_for([StockLine(item_no=item_no, quantity=1)])[item_no]
    line, _ = StocktakeLine.objects.update_or_create(
        stocktake=stocktake, item=item, defaults={"counted": counted}
    )
    return line


@transaction.atomic
def stocktake_post(*, reference: str, reason: str, actor: str) -> list[Move]:
    """Turn every counted difference into an adjustment move (to or from the loss location)."""
    stocktake = (
        Stocktake.objects.select_for_update(of=("self",))
        .select_related("location")
        .get(reference=reference)
    )
    if stocktake.state != Stocktake.State.OPEN:
        raise StocktakeClosed(reference=reference)
    lines = list(stocktake.lines.select_related("item").order_by("item_id"))
    begin_operation(
        kind="stocktake",
        reference=reference,
        payload={"lines": [(line.item.item_no, line.counted) for line in lines]},
        actor=actor,
    )
    place, loss = stocktake.location, virtual(Location.Kind.LOSS)
    balances = lock_balances((line.item_id, place.pk) for line in lines)
    moves = []
    for line in lines:
        row = balances[(line.item_id, place.pk)]
        if line.counted < row.reserved:
            raise BelowReserved(
                item_no=line.item.item_no, counted=line.counted, reserved=row.reserved
            )
        line.expected = row.on_hand
        difference = line.counted - row.on_hand
        if difference:
            moves.append(
                post_move(
                    balances=balances,
                    item=line.item,
                    quantity=abs(difference),
                    source=loss if difference > 0 else place,
                    target=place if difference > 0 else loss,
                    kind=Move.Kind.ADJUSTMENT,
                    reference=reference,
                    actor=actor,
                    note=reason,
                )
            )
    StocktakeLine.objects.bulk_update(lines, ["expected"])
    stocktake.state, stocktake.reason, stocktake.posted_at = "posted", reason, timezone.now()
    stocktake.save(update_fields=["state", "reason", "posted_at"])
    return moves
