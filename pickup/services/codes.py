"""Pickup codes: six digits derived from the order number and a random salt.

The digits are HMAC(key, order number + salt) mod 10^6, so the order page can show them again
while the table keeps only the salt, a keyed hash of the digits (the lookup index) and a keyed
hash of (order number, digits): a copy of the database without FIELD_ENCRYPTION_KEY cannot
recover or test a code offline.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from pickup.errors import NotAPickupOrder, PickupCodeUnavailable
from pickup.models import PickupCode

CODE_DIGITS = 6


def _key(purpose: bytes) -> bytes:
    return hmac.new(
        settings.FIELD_ENCRYPTION_KEY.encode(), b"bondport:pickup-" + purpose, hashlib.sha256
    ).digest()


def code_derive(*, order_no: str, salt: str) -> str:
    digest = hmac.new(_key(b"code"), f"{order_no}:{salt}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def code_hash(*, order_no: str, code: str) -> str:
    return hmac.new(_key(b"hash"), f"{order_no}:{code}".encode(), hashlib.sha256).hexdigest()


def digits_hash(code: str) -> str:
    return hmac.new(_key(b"digits"), code.encode(), hashlib.sha256).hexdigest()


def code_for(pickup_code: PickupCode) -> str:
    """The digits of an issued code (for the shopper's own order page only)."""
    return code_derive(order_no=pickup_code.order.number, salt=pickup_code.salt)


def _open_codes():
    """Codes a kiosk may still be shown: uncollected, or collected today (a repeated confirm)."""
    recent = timezone.now() - timedelta(days=1)
    return PickupCode.objects.filter(Q(used_at__isnull=True) | Q(used_at__gte=recent))


def code_find(*, code: str, lock: bool = False) -> PickupCode | None:
    """The open pickup code with these digits, at any counter, with its order and shopper.

    `lock` (inside a transaction): the code and its order rows are locked by the same read,
    so what it returns of them is their state once the lock is held."""
    code = "".join(code.split())
    if len(code) != CODE_DIGITS or not code.isdigit():
        return None
    candidates = _open_codes().filter(digits_hash=digits_hash(code))
    if lock:
        candidates = candidates.select_for_update(of=("self", "order"))
    for found in candidates.select_related("order", "order__shopper"):
        if hmac.compare_digest(code_hash(order_no=found.order.number, code=code), found.code_hash):
            return found
    return None


# Draws before giving up: with a million codes and a few thousand open, a second draw is rare.
MAX_DRAWS = 20


def pickup_code_issue(*, order) -> PickupCode:
    """The order's pickup code, issued on first need (idempotent).

    A fresh salt is drawn until the digits differ from every open code, so six typed digits
    always name one order. The check only skips known collisions cheaply: the unique index
    on the digits of uncollected codes (`pickup_open_code_digits_unique`) is what holds under
    a race, and losing it means drawing again.
    """
    try:
        existing = order.pickup_code  # joined by the caller's read, or read now
    except PickupCode.DoesNotExist:
        existing = None
    if existing:
        return existing
    if order.delivery_mode != "pickup":
        raise NotAPickupOrder(order_no=order.number)
    for _attempt in range(MAX_DRAWS):
        salt = secrets.token_hex(16)
        code = code_derive(order_no=order.number, salt=salt)
        hashed = digits_hash(code)
        if _open_codes().filter(digits_hash=hashed).exists():
            continue
        try:
            with transaction.atomic():
                return PickupCode.objects.create(
                    order=order,
                    counter_code=order.counter_code,
                    salt=salt,
                    code_hash=code_hash(order_no=order.number, code=code),
                    digits_hash=hashed,
                )
        except IntegrityError:
            # Either a concurrent first display issued this order's code (one per order),
            # or a concurrent issue took these digits first: then draw again.
            issued = PickupCode.objects.filter(order=order).first()
            if issued is not None:
                return issued
    raise PickupCodeUnavailable(order_no=order.number)


def pickups_mark_overdue(*, now=None) -> int:
    """Flag uncollected codes of released orders past the deadline, for staff to return."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PICKUP_DEADLINE_DAYS)
    overdue = PickupCode.objects.filter(
        used_at__isnull=True,
        return_due_at__isnull=True,
        order__state="released",
        order__released_at__lt=cutoff,
    )
    with transaction.atomic():
        return overdue.update(return_due_at=now)
