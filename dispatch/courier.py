"""The courier as Bondport sees it, behind one adapter interface (`CourierAdapter`):

- `allocate`: the courier allocates the parcel's waybill number and answers the label data
  (sorting code, destination code, route, the value its barcode encodes). The number is the
  courier's, never derived from our order number (DOMAIN.md); it is the one filed with customs
  (CEB511 logisticsNo) and printed on the label.
- `cancel`: give an allocated waybill back (the order never left).
- `collect`: hand over the parcel at the dock.
- `verify_callback` + `parse_callback`: the courier's status callbacks, checked by the
  adapter's own scheme (raise config.callbacks.CallbackRefused), turned into our
  `DeliveryEvent`s.
- `status`: ask the courier for a waybill's events (a lost callback is caught up this way).

`settings.COURIER_PROVIDER` names the adapter class; `COURIER_LOGISTICS_CODE` and `COURIER_NAME`
are the courier's customs-registered code and name, the party of its waybill filings. The
sandbox courier (below) keeps its own records, allocates from its own range and, like a third
party, later posts a signed delivery callback over HTTP (from a Celery task). It is refused in
production unless ALLOW_SANDBOXES_IN_PRODUCTION allows it. A real courier speaking an
open-platform API: dispatch.courier_openapi.OpenApiCourier."""

from __future__ import annotations

import json
import logging
import zlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

from config import callbacks
from config.callbacks import CallbackRefused, sign, signed_headers  # noqa: F401 - tests sign
from config.tasks import send_on_commit

logger = logging.getLogger(__name__)


class CourierError(Exception):
    """The courier refused or could not be reached; `transient` says whether to try again."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.message = message
        self.transient = transient


@dataclass(frozen=True)
class ParcelRequest:
    """What the courier needs to allocate a waybill: plain values, no model."""

    order_no: str
    consignee: str
    phone: str
    address: str
    weight_kg: Decimal
    district: str = ""
    pieces: int = 1


@dataclass(frozen=True)
class Allocation:
    """The courier's answer: its waybill number and the label data it printed with it."""

    logistics_no: str
    sort_code: str = ""  # the big routing mark on the label (SF: destRouteLabel)
    destination_code: str = ""  # destination city / outlet (SF: destCityCode, destDeptCode)
    route: str = ""  # origin -> destination hubs, as the courier spells it
    barcode: str = ""  # the value the courier's barcode encodes (usually the waybill number)
    answer: dict = field(default_factory=dict)  # the courier's own answer, kept for audit


@dataclass(frozen=True)
class DeliveryEvent:
    """One status of a parcel as we record it: collected, in_transit, delivered, failed."""

    logistics_no: str
    status: str
    at: datetime
    event_id: str = ""  # the courier's id of this event: a repeated push is applied once
    signed_by: str = ""
    note: str = ""

    # Before the adapter interface the service called it that.
    @property
    def delivered_at(self) -> datetime:
        return self.at


class CourierAdapter(ABC):
    """Write one of these for a real courier (README: "A real courier")."""

    sandbox = False

    @property
    def code(self) -> str:
        """The courier's customs-registered logistics code (logisticsCode, sender of CEB511)."""
        return settings.COURIER_LOGISTICS_CODE

    @property
    def name(self) -> str:
        return settings.COURIER_NAME

    @abstractmethod
    def allocate(self, *, parcel: ParcelRequest) -> Allocation:
        """Ask for a waybill; the same order twice must answer the same waybill (idempotent by
        order number) or refuse. Raise CourierError."""

    @abstractmethod
    def cancel(self, *, logistics_no: str, order_no: str) -> None:
        """Give the waybill back; raise CourierError when the courier refuses."""

    @abstractmethod
    def collect(
        self, *, logistics_no: str, order_no: str, consignee: str, weight_kg: Decimal,
        callback_url: str,
    ) -> None: ...  # fmt: skip

    @abstractmethod
    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise config.callbacks.CallbackRefused(reason) unless the courier sent this callback
        (signed by its scheme, recent)."""

    @abstractmethod
    def parse_callback(self, *, body: bytes, headers: Mapping[str, str]) -> list[DeliveryEvent]:
        """The events of a verified callback; CallbackRefused("malformed") when unreadable."""

    @abstractmethod
    def status(self, *, logistics_no: str) -> list[DeliveryEvent]:
        """The courier's events for a waybill, oldest first."""

    def callback_answer(self) -> tuple[bytes, str]:
        """What the courier expects back once a callback is applied: (body, content type)."""
        return b"success", "text/plain"


Courier = CourierAdapter  # the name callers knew


def courier() -> CourierAdapter:
    return import_string(settings.COURIER_PROVIDER)()


class HmacCallbacks:
    """Callbacks signed as config.callbacks signs them (X-Courier-Timestamp, -Nonce,
    -Signature, keyed by COURIER_CALLBACK_SECRET); nonces kept in CourierNonce. Body:
    {"logistics_no", "status", "delivered_at", "signed_by"}."""

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

    def parse_callback(self, *, body: bytes, headers: Mapping[str, str]) -> list[DeliveryEvent]:
        try:
            data = json.loads(body)
            return [
                DeliveryEvent(
                    logistics_no=str(data["logistics_no"]),
                    status=str(data["status"]),
                    at=parse_datetime(str(data.get("delivered_at", ""))) or timezone.now(),
                    signed_by=str(data.get("signed_by", ""))[:50],
                )
            ]
        except (ValueError, KeyError, TypeError):
            raise CallbackRefused("malformed") from None


class SandboxCourier(HmacCallbacks, CourierAdapter):
    """Allocates waybills from its own range (COURIER_SANDBOX_WAYBILL_PREFIX and a counter row),
    collects at once, reports delivery COURIER_SANDBOX_DELIVERY_SECONDS later."""

    sandbox = True  # carries nothing: refused in production (dispatch.apps)

    def allocate(self, *, parcel: ParcelRequest) -> Allocation:
        from dispatch.models import SandboxWaybill

        known = SandboxWaybill.objects.filter(
            order_no=parcel.order_no, cancelled_at__isnull=True
        ).first()
        if known is None:
            for _attempt in range(5):
                try:
                    with transaction.atomic():
                        known = SandboxWaybill.objects.create(
                            logistics_no=sandbox_next_waybill_no(),
                            order_no=parcel.order_no,
                            consignee=parcel.consignee[:50],
                            address=parcel.address[:300],
                            district=parcel.district[:100],
                        )
                    break
                except IntegrityError:  # the first row of the range raced another: again
                    continue
            else:
                raise CourierError("sandbox courier: could not allocate", transient=True)
        return sandbox_answer(known)

    def cancel(self, *, logistics_no: str, order_no: str) -> None:
        from dispatch.models import SandboxParcel, SandboxWaybill

        if SandboxParcel.objects.filter(logistics_no=logistics_no).exists():
            raise CourierError(f"{logistics_no} is collected: it can no longer be cancelled")
        SandboxWaybill.objects.filter(logistics_no=logistics_no, cancelled_at__isnull=True).update(
            cancelled_at=timezone.now()
        )

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

    def status(self, *, logistics_no: str) -> list[DeliveryEvent]:
        from dispatch.models import SandboxParcel

        parcel = SandboxParcel.objects.filter(logistics_no=logistics_no).first()
        if parcel is None:
            return []
        events = [DeliveryEvent(logistics_no, "collected", parcel.collected_at)]
        if parcel.delivered_at is not None:
            events.append(
                DeliveryEvent(logistics_no, "delivered", parcel.delivered_at,
                              signed_by=parcel.consignee)
            )  # fmt: skip
        return events


def sandbox_next_waybill_no() -> str:
    """The next number of the sandbox courier's own range: a counter row, locked and bumped in
    the caller's transaction (a rolled-back allocation leaves a gap, never a duplicate)."""
    from django.db.models import F

    from dispatch.models import SandboxWaybillRange

    row, _created = SandboxWaybillRange.objects.select_for_update().get_or_create(
        name="default",
        defaults={"prefix": settings.COURIER_SANDBOX_WAYBILL_PREFIX,
                  "next_value": settings.COURIER_SANDBOX_WAYBILL_START},
    )  # fmt: skip
    SandboxWaybillRange.objects.filter(pk=row.pk).update(next_value=F("next_value") + 1)
    return f"{row.prefix}{row.next_value:012d}"


def sandbox_answer(waybill) -> Allocation:
    """Label data as a courier derives it from the address: a destination outlet code, a sort
    mark and the route from our origin hub (COURIER_ORIGIN_CODE)."""
    key = (waybill.district or waybill.address or "-").encode()
    crc = zlib.crc32(key)
    destination = f"{100 + crc % 900:03d}"
    outlet = "ABCDEFGHJKLMNPQRSTUVWXYZ"[crc // 900 % 24]
    sort_code = f"{destination}{outlet}-{crc // 21600 % 90 + 10:02d}"
    route = f"{settings.COURIER_ORIGIN_CODE}-{destination}"
    answer = {"waybillNo": waybill.logistics_no, "orderId": waybill.order_no,
              "destRouteLabel": sort_code, "destCityCode": destination, "route": route}  # fmt: skip
    return Allocation(
        logistics_no=waybill.logistics_no, sort_code=sort_code, destination_code=destination,
        route=route, barcode=waybill.logistics_no, answer=answer,
    )  # fmt: skip


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


def waybill_allocate(**parcel) -> object:
    """The checkout's one call up into dispatch (settings.WAYBILL_ALLOCATOR): plain values in
    (ParcelRequest's fields), our allocation record out (logistics_code, logistics_name,
    logistics_no). Call it outside any transaction: it may be an HTTP call."""
    from dispatch.services.waybills import waybill_allocate as allocate

    return allocate(parcel=ParcelRequest(**parcel))
