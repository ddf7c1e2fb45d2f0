"""The courier as the warehouse sees it: hand over a parcel (collect) and verify its delivery
callbacks (the signature scheme belongs to the adapter). `settings.COURIER_PROVIDER` names the
adapter; the demo's sandbox courier keeps its own records and, like a third party, later posts
a signed delivery callback to our endpoint over HTTP (from a Celery task). The sandbox is
refused in production unless ALLOW_SANDBOXES_IN_PRODUCTION allows it."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from config import callbacks
from config.callbacks import sign, signed_headers  # noqa: F401 - tests sign with it
from config.tasks import send_on_commit

logger = logging.getLogger(__name__)


class Courier(Protocol):
    def collect(
        self, *, logistics_no: str, order_no: str, consignee: str, weight_kg: Decimal,
        callback_url: str,
    ) -> None: ...  # fmt: skip

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise config.callbacks.CallbackRefused(reason) unless the courier sent this callback
        (signed, recent, not seen before)."""


def courier() -> Courier:
    return import_string(settings.COURIER_PROVIDER)()


class HmacCallbacks:
    """Callbacks signed as config.callbacks signs them (X-Courier-Timestamp, -Nonce,
    -Signature, keyed by COURIER_CALLBACK_SECRET); nonces kept in CourierNonce."""

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        from dispatch.models import CourierNonce

        callbacks.verify(
            secret=settings.COURIER_CALLBACK_SECRET,
            body=body,
            timestamp=headers.get("X-Courier-Timestamp", ""),
            nonce=headers.get("X-Courier-Nonce", ""),
            signature=headers.get("X-Courier-Signature", ""),
            max_age_seconds=settings.COURIER_CALLBACK_MAX_AGE_SECONDS,
            nonce_model=CourierNonce,
            label="courier callback",
        )


class SandboxCourier(HmacCallbacks):
    """Collects at once; reports delivery COURIER_SANDBOX_DELIVERY_SECONDS later."""

    sandbox = True  # carries nothing: refused in production (dispatch.apps)

    def collect(self, *, logistics_no, order_no, consignee, weight_kg, callback_url) -> None:
        from dispatch.models import SandboxParcel

        parcel, created = SandboxParcel.objects.get_or_create(
            logistics_no=logistics_no,
            defaults={
                "order_no": order_no, "consignee": consignee, "weight_kg": weight_kg,
                "callback_url": callback_url,
            },
        )  # fmt: skip
        if created and settings.COURIER_SANDBOX_DELIVERY_SECONDS <= 0:
            send_on_commit(
                "dispatch.tasks.courier_sandbox_deliver", kwargs={"parcel_id": parcel.pk}
            )


def sandbox_parcels_due(*, now=None):
    """Sandbox parcels whose delivery time has come and that we have not been told about."""
    from dispatch.models import SandboxParcel

    cutoff = (now or timezone.now()) - timedelta(seconds=settings.COURIER_SANDBOX_DELIVERY_SECONDS)
    return SandboxParcel.objects.filter(notified_at__isnull=True, collected_at__lte=cutoff)


def callback_body(parcel) -> bytes:
    return json.dumps(
        {
            "logistics_no": parcel.logistics_no,
            "status": "delivered",
            "delivered_at": parcel.delivered_at.isoformat(),
            "signed_by": parcel.consignee,
        },
        ensure_ascii=False,
    ).encode()


def signed_callback(parcel) -> tuple[bytes, dict]:
    body = callback_body(parcel)
    return body, signed_headers(
        secret=settings.COURIER_CALLBACK_SECRET, body=body, prefix="Courier"
    )


def sandbox_deliver(*, parcel_id: int) -> bool:
    """The courier delivers and POSTs its signed callback (a fresh nonce each attempt); True
    once we answered 200."""
    from dispatch.models import SandboxParcel

    parcel = SandboxParcel.objects.get(pk=parcel_id)
    if parcel.notified_at is not None:
        return True
    if parcel.delivered_at is None:
        SandboxParcel.objects.filter(pk=parcel.pk, delivered_at__isnull=True).update(
            delivered_at=timezone.now()
        )
        parcel.refresh_from_db()
    body, headers = signed_callback(parcel)
    SandboxParcel.objects.filter(pk=parcel.pk).update(notify_attempts=parcel.notify_attempts + 1)
    response = requests.post(parcel.callback_url, data=body, headers=headers, timeout=(2, 10))
    if response.status_code == 200:
        SandboxParcel.objects.filter(pk=parcel.pk).update(notified_at=timezone.now())
        return True
    logger.warning("courier callback for %s answered %s", parcel.logistics_no, response.status_code)
    return False
