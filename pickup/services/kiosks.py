"""Kiosk devices and their API keys."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bonded.models import Location
from config import refcache
from pickup.errors import CounterNotAllowed, KioskAlreadyRevoked, KioskKeyInvalid
from pickup.models import Kiosk

KEY_PREFIX = "bpk_"
# last_used_at is written at most this often per kiosk, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def key_hash(key: str) -> str:
    """Keyed hash of an API key: without FIELD_ENCRYPTION_KEY a stolen table tests nothing."""
    secret = hmac.new(
        settings.FIELD_ENCRYPTION_KEY.encode(), b"bondport:kiosk-key", hashlib.sha256
    ).digest()
    return hmac.new(secret, key.strip().encode(), hashlib.sha256).hexdigest()


def kiosk_create(
    *, name: str, counter_code: str, actor: str, key: str | None = None
) -> tuple[Kiosk, str]:
    """Create a kiosk at a counter inside the zone; return it with its key, shown only now.

    `key` is for the demo's fixed keys only; real kiosks get 256 random bits.
    """
    counter = Location.objects.filter(code=counter_code).first()
    if (
        counter is None
        or counter.kind != Location.Kind.COUNTER
        or not counter.inside_supervision_zone
        or not counter.is_active
    ):
        raise CounterNotAllowed(counter_code=counter_code)
    key = key or KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        kiosk = Kiosk.objects.create(
            name=name.strip() or counter_code,
            counter=counter,
            key_prefix=key[:8],
            key_hash=key_hash(key),
            created_by=actor,
        )
    return kiosk, key


def kiosk_revoke(*, kiosk: Kiosk, actor: str) -> Kiosk:
    with transaction.atomic():
        kiosk = Kiosk.objects.select_for_update().get(pk=kiosk.pk)
        if kiosk.revoked_at is not None:
            raise KioskAlreadyRevoked()
        kiosk.revoked_at = timezone.now()
        kiosk.revoked_by = actor
        kiosk.save(update_fields=["revoked_at", "revoked_by"])
    return kiosk


def kiosk_authenticate(*, key: str) -> Kiosk:
    """The active kiosk holding this key (its counter joined); records when it was last used.

    Read through the per-process reference cache (config/refcache.py), so a counter's lookups
    and handovers cost no statement for the key. Saving or deleting a kiosk (revoking one)
    drops the entry in this process at once; in other processes a revoked kiosk is still
    refused at once where it matters, by the lock its lookups and handovers take
    (pickup.services.handover), and everywhere within REFERENCE_CACHE_SECONDS. The kiosk is
    shared by the process's requests: only its last-used time is ever written to it."""
    if not key:
        raise KioskKeyInvalid()
    digest = key_hash(key)

    def load() -> Kiosk:
        found = (
            Kiosk.objects.select_related("counter")
            .filter(key_hash=digest, revoked_at__isnull=True)
            .first()
        )
        if found is None:
            raise KioskKeyInvalid()  # raised, not cached: wrong keys cannot fill the cache
        return found

    kiosk = refcache.cached(("pickup.Kiosk", "bonded.Location"), ("kiosk key", digest), load)
    kiosk_touch(kiosk=kiosk)
    return kiosk


def kiosk_touch(*, kiosk: Kiosk) -> None:
    """Record the kiosk's use, at most once a LAST_USED_RESOLUTION."""
    now = timezone.now()
    if kiosk.last_used_at is None or now - kiosk.last_used_at > LAST_USED_RESOLUTION:
        Kiosk.objects.filter(pk=kiosk.pk).update(last_used_at=now)
        kiosk.last_used_at = now
