"""Kiosk devices and their API keys."""

import copy
import hashlib
import hmac
import secrets
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bonded.models import Location
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


# Kiosks by key hash, kept per process for TOKEN_AUTH_CACHE_SECONDS as API tokens are
# (marketplace.auth): a counter's lookups and handovers then cost no statement for the key.
# Saving or deleting a kiosk (revoking one) empties this process's entries at once; in other
# processes a revoked kiosk is still refused at once where it matters, by the lock its lookups
# and handovers take (pickup.services.handover), and everywhere within the TTL.
_kiosks: dict[str, tuple[float, Kiosk]] = {}
_kiosks_lock = threading.Lock()
_MAX_KIOSKS = 1_000


def kiosk_authenticate(*, key: str) -> Kiosk:
    """The active kiosk holding this key (its counter joined); records when it was last used.
    Each call gets its own copy."""
    if not key:
        raise KioskKeyInvalid()
    digest = key_hash(key)
    ttl = settings.TOKEN_AUTH_CACHE_SECONDS
    now = time.monotonic()
    hit = _kiosks.get(digest) if ttl > 0 else None
    if hit is not None and hit[0] > now:
        kiosk = copy.deepcopy(hit[1])
    else:
        kiosk = (
            Kiosk.objects.select_related("counter")
            .filter(key_hash=digest, revoked_at__isnull=True)
            .first()
        )
        if kiosk is None:
            raise KioskKeyInvalid()
        hit = None
    touched = kiosk_touch(kiosk=kiosk)
    if ttl > 0 and (hit is None or touched):
        with _kiosks_lock:
            if len(_kiosks) >= _MAX_KIOSKS:
                _kiosks.clear()
            expires = hit[0] if hit is not None else now + ttl
            _kiosks[digest] = (expires, copy.deepcopy(kiosk))
    return kiosk


def kiosks_forget(**_kwargs) -> None:
    """Connected to Kiosk's post_save and post_delete (pickup.apps)."""
    with _kiosks_lock:
        _kiosks.clear()


def kiosk_touch(*, kiosk: Kiosk) -> bool:
    """Record the kiosk's use, at most once a LAST_USED_RESOLUTION; True when it wrote."""
    now = timezone.now()
    if kiosk.last_used_at is None or now - kiosk.last_used_at > LAST_USED_RESOLUTION:
        Kiosk.objects.filter(pk=kiosk.pk).update(last_used_at=now)
        kiosk.last_used_at = now
        return True
    return False
