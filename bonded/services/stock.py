"""Physical stock: into bond, between locations, out to the shopper, back into bond."""

from collections.abc import Sequence

from django.db import transaction

from bonded.errors import (
    MissingEntryDeclaration,
    NotReleased,
    ReservationNotFound,
    TransferLeavesBond,
)
from bonded.models import AccountBookEntry, Location, Move, Reservation
from bonded.services._ledger import (
    StockLine,
    begin_operation,
    check_lines,
    items_for,
    lines_payload,
    location,
    lock_balances,
    post_move,
    virtual,
)
from bonded.services.account_book import book_enter
from bonded.services.reservations import active_reservations, close_reservations

K = Location.Kind


@transaction.atomic
def stock_receive(
    *,
    reference: str,
    location_code: str,
    entry_declaration_no: str,
    lines: Sequence[StockLine],
    actor: str,
) -> list[Move]:
    """Goods arrive from overseas into bonded storage under an entry declaration; the book
    records the same quantities against that declaration."""
    entry_declaration_no = (entry_declaration_no or "").strip()
    if not entry_declaration_no:
        raise MissingEntryDeclaration()
    lines = check_lines(lines)
    target = location(location_code, kinds={K.STORAGE})
    items = items_for(lines)
    payload = {"to": location_code, "entry": entry_declaration_no, "lines": lines_payload(lines)}
    if not begin_operation(kind="receive", reference=reference, payload=payload, actor=actor):
        return list(Move.objects.filter(reference=reference, kind=Move.Kind.RECEIPT))
    return _enter_bond(
        lines=lines,
        items=items,
        source=virtual(K.SUPPLIER),
        target=target,
        kind=Move.Kind.RECEIPT,
        book_kind=AccountBookEntry.Kind.ENTRY,
        reference=reference,
        document_no=entry_declaration_no,
        actor=actor,
    )


@transaction.atomic
def stock_transfer(
    *, reference: str, from_code: str, to_code: str, lines: Sequence[StockLine], actor: str
) -> list[Move]:
    """Move free (unreserved) stock between physical locations without leaving or entering bond."""
    lines = check_lines(lines)
    physical = {K.STORAGE, K.INSPECTION, K.COUNTER, K.DOCK}
    source = location(from_code, kinds=physical, field="from_code")
    target = location(to_code, kinds=physical, field="to_code")
    if source.pk == target.pk or source.is_bonded != target.is_bonded:
        raise TransferLeavesBond(from_code=from_code, to_code=to_code)
    items = items_for(lines)
    payload = {"from": from_code, "to": to_code, "lines": lines_payload(lines)}
    if not begin_operation(kind="transfer", reference=reference, payload=payload, actor=actor):
        return list(Move.objects.filter(reference=reference, kind=Move.Kind.TRANSFER))
    balances = lock_balances(
        pair
        for line in lines
        for pair in ((items[line.item_no].pk, source.pk), (items[line.item_no].pk, target.pk))
    )
    return [
        post_move(
            balances=balances,
            item=items[line.item_no],
            quantity=line.quantity,
            source=source,
            target=target,
            kind=Move.Kind.TRANSFER,
            reference=reference,
            actor=actor,
        )
        for line in lines
    ]


def stock_issue(*, reference: str, actor: str, savepoint: bool = True) -> list[Move]:
    """Hand the order's goods to the shopper (counter handover or courier dispatch).

    Consumes every active reservation of the order; only goods customs has released (now at a
    counter or the dock) can leave. A second call for the same order issues nothing.
    `savepoint=False` is for a caller whose whole transaction is given up on any refusal (the
    counter's handover): its two statements are saved, as stock_reserve's are at checkout.
    """
    with transaction.atomic(savepoint=savepoint):
        return _issue(reference, actor)


def _issue(reference: str, actor: str) -> list[Move]:
    if not begin_operation(kind="issue", reference=reference, payload={}, actor=actor):
        return list(Move.objects.filter(reference=reference, kind=Move.Kind.ISSUE))
    reservations = active_reservations(reference)
    if not reservations:
        raise ReservationNotFound(reference=reference)
    for r in reservations:
        if r.location.kind not in {K.COUNTER, K.DOCK}:
            raise NotReleased(reference=reference, location_code=r.location.code)
    shopper = virtual(K.SHOPPER)
    balances = lock_balances((r.item_id, r.location_id) for r in reservations)
    moves = [
        post_move(
            balances=balances,
            item=r.item,
            quantity=r.quantity,
            source=r.location,
            target=shopper,
            kind=Move.Kind.ISSUE,
            reference=reference,
            actor=actor,
            reserved=True,
        )
        for r in reservations
    ]
    close_reservations(reservations, state=Reservation.State.CONSUMED, reason="issued")
    return moves


@transaction.atomic
def stock_return_into_bond(
    *, reference: str, return_no: str, location_code: str, lines: Sequence[StockLine], actor: str
) -> list[Move]:
    """A returned order's goods come back into bonded storage; the book takes them back in."""
    lines = check_lines(lines)
    target = location(location_code, kinds={K.STORAGE})
    items = items_for(lines)
    payload = {"return_no": return_no, "to": location_code, "lines": lines_payload(lines)}
    if not begin_operation(kind="return", reference=return_no, payload=payload, actor=actor):
        return list(Move.objects.filter(reference=reference, kind=Move.Kind.RETURN))
    return _enter_bond(
        lines=lines,
        items=items,
        source=virtual(K.SHOPPER),
        target=target,
        kind=Move.Kind.RETURN,
        book_kind=AccountBookEntry.Kind.RETURN,
        reference=reference,
        document_no=return_no,
        actor=actor,
    )


def _enter_bond(
    *,
    lines: Sequence[StockLine],
    items: dict,
    source: Location,
    target: Location,
    kind: str,
    book_kind: str,
    reference: str,
    document_no: str,
    actor: str,
) -> list[Move]:
    """Goods cross into bond: a move into storage and the same quantity into the account book,
    under the customs document that allows it (entry declaration or return request)."""
    balances = lock_balances((items[line.item_no].pk, target.pk) for line in lines)
    moves = []
    for line in lines:
        item = items[line.item_no]
        moves.append(
            post_move(
                balances=balances,
                item=item,
                quantity=line.quantity,
                source=source,
                target=target,
                kind=kind,
                reference=reference,
                actor=actor,
                note=document_no,
            )
        )
        book_enter(
            warehouse=target.warehouse,
            item=item,
            quantity=line.quantity,
            document_no=document_no,
            kind=book_kind,
        )
    return moves
