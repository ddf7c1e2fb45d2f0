"""The ledger's invariants, checked from first principles after any sequence of operations."""

from collections import defaultdict

from bonded.models import Balance, Move, Reservation
from bonded.services import reconcile


def assert_ledger_consistent(*, book_matches: bool = True) -> None:
    flow: dict[tuple[int, int], int] = defaultdict(int)
    for move in Move.objects.select_related("from_location", "to_location"):
        if not move.to_location.is_virtual:
            flow[(move.item_id, move.to_location_id)] += move.quantity
        if not move.from_location.is_virtual:
            flow[(move.item_id, move.from_location_id)] -= move.quantity
    held: dict[tuple[int, int], int] = defaultdict(int)
    for r in Reservation.objects.filter(state="active"):
        held[(r.item_id, r.location_id)] += r.quantity

    for b in Balance.objects.all():
        key = (b.item_id, b.location_id)
        assert b.on_hand == flow.pop(key, 0), f"on hand of {key} differs from its moves"
        assert b.reserved == held.pop(key, 0), f"reserved of {key} differs from reservations"
        assert 0 <= b.reserved <= b.on_hand
    assert not any(flow.values()), f"moves without a balance row: {flow}"
    assert not held, f"reservations without a balance row: {held}"
    if book_matches:
        assert reconcile() == [], "account book differs from stock under bond"
