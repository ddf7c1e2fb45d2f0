"""The checks at the counter (code, identity, items) and the handover itself.

Every entry is written to the audit log, right or wrong. A refusal is raised only after the
transaction that recorded it has committed, so the log and the lock counts keep it.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bonded.models import Location
from config.errors import DomainError
from marketplace.services import order_deliver
from marketplace.services.shoppers import shopper_identity_matches
from pickup.errors import (
    CodeUsed,
    CodeWrong,
    IdentityMismatch,
    ItemsMismatch,
    KioskKeyInvalid,
    Locked,
    NotAPickupOrder,
    NotReady,
    OrderClosed,
    PickupError,
    WrongCounter,
)
from pickup.models import Attempt, Kiosk, PickupCode
from pickup.services.attempts import locked_until, tries_left
from pickup.services.codes import code_find

READY_STATE = "released"
CLOSED_STATES = {"cancelled", "expired", "rejected", "returned"}
Kind, Outcome = Attempt.Kind, Attempt.Outcome


@dataclass
class HandoverResult:
    order: object
    handed_over_at: datetime
    already: bool = False
    items: list = field(default_factory=list)


def _lock_kiosk(kiosk: Kiosk) -> Kiosk:
    # One entry at a time per kiosk: the count of wrong tries cannot be raced past the limit.
    # Only the lock is taken: the authenticated kiosk (its counter joined) serves as it is. It
    # may come from this process's key cache (pickup.services.kiosks): a kiosk revoked
    # meanwhile in another process is refused here, at once, before it opens or hands anything.
    locked = Kiosk.objects.select_for_update().filter(pk=kiosk.pk, revoked_at__isnull=True)
    if not list(locked.order_by().values("pk")):
        raise KioskKeyInvalid()
    return kiosk


class _AttemptLog:
    """The audit entries of one visit to the kiosk, written together before the transaction
    ends. A wrong entry is written at once (with those before it), since the counts of wrong
    tries read it; each entry keeps the time it was made."""

    def __init__(self, kiosk: Kiosk) -> None:
        self.kiosk = kiosk
        self.pending: list[Attempt] = []

    def add(self, *, kind: str, outcome: str, order=None, reason: str = "") -> None:
        self.pending.append(
            Attempt(kiosk=self.kiosk, order=order, kind=kind, outcome=outcome, reason=reason)
        )
        if outcome == Outcome.WRONG:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            Attempt.objects.bulk_create(self.pending)
            self.pending = []


def _counter_refusal(counter_code: str) -> WrongCounter:
    counter = Location.objects.filter(code=counter_code).first()
    return WrongCounter(
        counter_code=counter_code,
        name_zh=counter.name_zh if counter else "",
        name_en=counter.name_en if counter else "",
        address=(counter.address_zh if counter else ""),
    )


def _check_code(
    kiosk: Kiosk, code: str, log: _AttemptLog, *, lock: bool = False
) -> tuple[PickupCode | None, DomainError | None]:
    """Inside the caller's transaction, with the kiosk row locked. `lock`: the code and its
    order are locked too, and read after the lock (fresh)."""
    until = locked_until(kiosk=kiosk)
    if until:
        log.add(kind=Kind.CODE, outcome=Outcome.LOCKED, reason="kiosk_locked")
        return None, Locked(until=until, scope="kiosk")
    found = code_find(code=code, lock=lock)
    if found is None:
        log.add(kind=Kind.CODE, outcome=Outcome.WRONG, reason="code_wrong")
        return None, CodeWrong(tries_left=tries_left(kiosk=kiosk))
    order = found.order
    if order.delivery_mode != "pickup":
        log.add(kind=Kind.CODE, outcome=Outcome.REFUSED, order=order, reason="mode")
        return None, NotAPickupOrder(order_no=order.number)
    if found.counter_code != kiosk.counter.code:
        log.add(
            kind=Kind.CODE,
            outcome=Outcome.REFUSED,
            order=order,
            reason="wrong_counter",
        )
        return None, _counter_refusal(found.counter_code)
    log.add(kind=Kind.CODE, outcome=Outcome.OK, order=order)
    return found, None


def _ready_refusal(order) -> PickupError | None:
    if order.state in CLOSED_STATES:
        return OrderClosed(order_no=order.number, state=order.state)
    if order.state != READY_STATE or order.paid_at is None:
        return NotReady(order_no=order.number, state=order.state)
    return None


def _check_identity(
    kiosk: Kiosk, order, log: _AttemptLog, *, last6: str, full_id: str
) -> DomainError | None:
    """After _check_code, in the same transaction: it found the kiosk unlocked, and with the
    kiosk row locked no wrong entry can have been added since, so only the order's lock is
    left to check."""
    until = locked_until(order=order)
    if until:
        log.add(kind=Kind.IDENTITY, outcome=Outcome.LOCKED, order=order)
        return Locked(until=until, scope="order")
    last6, full_id = (last6 or "").strip().upper(), (full_id or "").strip().upper()
    matches = shopper_identity_matches(shopper=order.shopper, last6=last6, full_id=full_id)
    if (last6 or full_id) and matches:
        log.add(kind=Kind.IDENTITY, outcome=Outcome.OK, order=order)
        return None
    log.add(
        kind=Kind.IDENTITY,
        outcome=Outcome.WRONG,
        order=order,
        reason="full_id" if full_id else "last6",
    )
    return IdentityMismatch(tries_left=min(tries_left(order=order), tries_left(kiosk=kiosk)))


def order_items(order) -> list[dict]:
    return [
        {
            "barcode": line.barcode,
            "item_no": line.item_no,
            "name_zh": line.name_zh,
            "name_en": line.name_en,
            "quantity": line.quantity,
        }
        for line in order.lines.all()
    ]


def _items_refusal(items: list[dict], barcodes: list[str]) -> ItemsMismatch | None:
    expected: Counter[str] = Counter()
    for item in items:
        expected[item["barcode"]] += item["quantity"]
    scanned = Counter(b.strip() for b in barcodes if b.strip())
    missing, extra = expected - scanned, scanned - expected
    if missing or extra:
        return ItemsMismatch(missing=dict(missing), extra_items=dict(extra))
    return None


def pickup_code_check(*, kiosk: Kiosk, code: str) -> PickupCode:
    """Look up a typed or scanned code at this kiosk: the order it opens, if it may."""
    with transaction.atomic():
        log = _AttemptLog(_lock_kiosk(kiosk))
        found, error = _check_code(kiosk, code, log)
        if found and not error and found.used_at:
            error = CodeUsed(order_no=found.order.number)
        if found and not error:
            error = _ready_refusal(found.order)
        log.flush()
    if error:
        raise error
    return found


def pickup_identity_check(
    *, kiosk: Kiosk, code: str, last6: str = "", full_id: str = ""
) -> PickupCode:
    with transaction.atomic():
        log = _AttemptLog(_lock_kiosk(kiosk))
        found, error = _check_code(kiosk, code, log)
        if found and not error and found.used_at:
            error = CodeUsed(order_no=found.order.number)
        if found and not error:
            error = _check_identity(kiosk, found.order, log, last6=last6, full_id=full_id)
        log.flush()
    if error:
        raise error
    return found


def pickup_handover(
    *, kiosk: Kiosk, code: str, barcodes: list[str], last6: str = "", full_id: str = ""
) -> HandoverResult:
    """Hand the goods over once every check passes; a repeated confirm hands over nothing more.

    The code row (and its order's) is locked for the whole handover, so two taps of confirm (or
    two kiosks) queue behind each other and the second sees the code used.
    """
    result = None
    with transaction.atomic():
        log = _AttemptLog(_lock_kiosk(kiosk))
        found, error = _check_code(kiosk, code, log, lock=True)
        if found and not error:
            order = found.order
            if found.used_at:
                result = HandoverResult(order=order, handed_over_at=found.used_at, already=True)
            else:
                items: list[dict] = []
                error = _ready_refusal(order) or _check_identity(
                    kiosk, order, log, last6=last6, full_id=full_id
                )
                if not error:
                    items = order_items(order)
                    error = _items_refusal(items, barcodes)
                if error:
                    if not isinstance(error, (IdentityMismatch, Locked)):
                        log.add(
                            kind=Kind.HANDOVER,
                            outcome=Outcome.REFUSED,
                            order=order,
                            reason=error.code,
                        )
                else:
                    order = order_deliver(order_no=order.number, actor=kiosk.actor, locked=order)
                    found.used_at = timezone.now()
                    found.used_by = kiosk
                    found.save(update_fields=["used_at", "used_by"])
                    log.add(kind=Kind.HANDOVER, outcome=Outcome.OK, order=order)
                    result = HandoverResult(order=order, handed_over_at=found.used_at, items=items)
        log.flush()
    if error:
        raise error
    if result.already:
        result.items = order_items(result.order)
    return result
