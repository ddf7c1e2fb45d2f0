"""Placement once per `Idempotency-Key`: a client that lost the answer (a dropped connection, a
web node killed mid-request, a 502 from the load balancer) sends the same request with the same
key again and gets the orders the first one placed, never a second set.

The key is written in the placement's own transaction (`order_place(then=...)`), so it exists
exactly when its orders do. Two requests with one key at once: the shopper's quota lock
serialises them; the second finds the key (or hits its unique constraint) and answers with the
first one's orders."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import DomainError
from marketplace.models import Order, PlacementKey
from marketplace.services.checkout import order_place

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class InvalidIdempotencyKey(DomainError):
    code = "invalid_idempotency_key"
    http_status = 400


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    http_status = 422


class _AlreadyPlaced(Exception):
    """A concurrent request with the same key committed first: roll ours back, answer theirs."""


@dataclass(frozen=True)
class Placement:
    orders: list[Order]
    replayed: bool


def clean_idempotency_key(raw: str) -> str:
    key = (raw or "").strip()
    if not KEY_PATTERN.match(key):
        raise InvalidIdempotencyKey(
            _(
                "The Idempotency-Key header must be 1 to 64 letters, digits or _ . : - "
                "(a UUID works); send a new one for each new order."
            )
        )
    return key


def request_hash(data) -> str:
    """The request as the client meant it, independent of key order and spacing."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def placement_replayed(*, shopper, key: str, digest: str) -> Placement | None:
    """What an earlier request with this key placed, or None if there was none."""
    key = clean_idempotency_key(key)
    stored = PlacementKey.objects.filter(shopper=shopper, key=key).first()
    if stored is None:
        return None
    if stored.request_hash != digest:
        raise IdempotencyKeyReused(
            _(
                "This Idempotency-Key was already used for a different order. Send a new key "
                "for a new order; resend the same request to get the orders it placed."
            )
        )
    by_number = {o.number: o for o in Order.objects.filter(number__in=stored.order_numbers)}
    return Placement([by_number[n] for n in stored.order_numbers if n in by_number], True)


def order_place_once(*, shopper, idempotency_key: str, digest: str, **placement) -> Placement:
    """`order_place` for a request that carries an Idempotency-Key."""
    key = clean_idempotency_key(idempotency_key)
    if replayed := placement_replayed(shopper=shopper, key=key, digest=digest):
        return replayed

    def remember(orders: list[Order]) -> None:
        try:
            with transaction.atomic():  # a savepoint: the unique constraint may refuse it
                PlacementKey.objects.create(
                    shopper=shopper, key=key, request_hash=digest,
                    order_numbers=[o.number for o in orders],
                )  # fmt: skip
        except IntegrityError:
            raise _AlreadyPlaced from None

    try:
        return Placement(order_place(shopper=shopper, then=remember, **placement), False)
    except _AlreadyPlaced:
        return placement_replayed(shopper=shopper, key=key, digest=digest)


def placement_keys_prune(*, now=None) -> int:
    """Forget keys past IDEMPOTENCY_KEY_TTL_HOURS: a retry comes within minutes, not days."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = PlacementKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
