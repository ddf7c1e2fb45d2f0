"""The payment provider as the marketplace sees it: create a charge (get a pay page URL),
refund, and verify the provider's notifications (its signature scheme is the adapter's
business, like its API). `settings.PAYMENT_PROVIDER` names the adapter; the demo's is the
sandbox below, which keeps its own records and answers like a third party (signed asynchronous
notifications over HTTP, sent by a Celery task). The sandbox is refused in production unless
ALLOW_SANDBOXES_IN_PRODUCTION allows it (config/settings.py). The real adapters are
marketplace.payment_wechat (WeChat Pay APIv3, `wechatpayv3`) and marketplace.payment_alipay
(Alipay OpenAPI, `python-alipay-sdk`), selected by PAYMENT_PROVIDER=wechatpay|alipay; their
local stand-ins live in marketplace/standins/."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from config import callbacks
from config.callbacks import signed_headers

logger = logging.getLogger(__name__)


class ProviderError(Exception):
    """A real provider answered with an error or a bad signature (its code and message, never a
    resident ID)."""


class PaymentProvider(Protocol):
    """`files_customs_payment = True` on an adapter whose payment company files the payment
    record (CEB411) with customs itself (WeChat Pay, Alipay): it then has `customs_declare`,
    and customs files no CEB411 of its own for its payments (services.payments)."""

    def create_charge(
        self, *, token: str, order_no: str, amount: Decimal, subject: str, holder_name: str,
        holder_id_number: str, notify_url: str, return_url: str, channel: str = "web",
        client_ip: str = "",
    ) -> str: ...  # fmt: skip

    def refund(self, *, token: str, amount: Decimal, total: Decimal | None = None,
               refund_no: str = "") -> object: ...  # fmt: skip

    def verify_notification(self, *, body: bytes, headers: Mapping[str, str]) -> dict | None:
        """Raise config.callbacks.CallbackRefused(reason) unless the provider sent this
        notification (signed, recent, not seen before). May return the payment it carries
        (token, order_no, transaction_id, amount, paid_at, payer_* or
        payer_checked_by_provider; {"ignored": True} for other news); None: the body is ours."""


def provider_class():
    return import_string(settings.PAYMENT_PROVIDER)


def provider() -> PaymentProvider:
    return provider_class()()


class HmacNotifications:
    """Notifications signed as config.callbacks signs them (X-Pay-Timestamp, -Nonce,
    -Signature over timestamp, nonce and body, keyed by PAYMENT_PROVIDER_SECRET); nonces kept
    in NotificationNonce. A provider adapter with this scheme inherits it."""

    def verify_notification(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        from marketplace.models import NotificationNonce

        callbacks.verify(
            secret=settings.PAYMENT_PROVIDER_SECRET,
            body=body,
            timestamp=headers.get("X-Pay-Timestamp", ""),
            nonce=headers.get("X-Pay-Nonce", ""),
            signature=headers.get("X-Pay-Signature", ""),
            max_age_seconds=settings.PAYMENT_NOTIFY_MAX_AGE_SECONDS,
            nonce_model=NotificationNonce,
            label="payment notification",
        )


class SandboxProvider(HmacNotifications):
    """The sandbox provider, mounted in the web process under /sandbox/pay/ (never in
    production unless ALLOW_SANDBOXES_IN_PRODUCTION)."""

    sandbox = True  # moves no real money: refused in production (marketplace.apps)
    name = "sandbox"

    def create_charge(
        self, *, token, order_no, amount, subject, holder_name, holder_id_number, notify_url,
        return_url, channel="web", client_ip="",
    ) -> str:  # fmt: skip
        from marketplace.models import SandboxCharge

        SandboxCharge.objects.create(
            token=token, merchant_order_no=order_no, amount=amount, subject=subject[:200],
            holder_name=holder_name, holder_id_number=holder_id_number, notify_url=notify_url,
            return_url=return_url,
        )  # fmt: skip
        return f"{settings.PAYMENT_SANDBOX_URL.rstrip('/')}/{token}/"

    def refund(self, *, token: str, amount: Decimal, total=None, refund_no: str = "") -> None:
        from marketplace.models import SandboxCharge

        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().get(token=token)
            if charge.state == SandboxCharge.State.REFUNDED:
                return
            charge.state = SandboxCharge.State.REFUNDED
            charge.refunded_amount = amount
            charge.save(update_fields=["state", "refunded_amount"])
        logger.info("sandbox refund of %s for charge %s", amount, token[:8])


def sandbox_pay(*, token: str, payer_name: str = "", payer_id_number: str = "") -> object:
    """The payer confirms on the sandbox page: the charge is paid, the notification queued.
    An empty payer means the account holder (the usual case)."""
    from marketplace.models import SandboxCharge

    if not settings.SANDBOXES_ENABLED:  # the pages are not mounted either; never pay here
        raise ImproperlyConfigured("The sandbox payment is off on a production node.")
    with transaction.atomic():
        charge = SandboxCharge.objects.select_for_update().get(token=token)
        if charge.state != SandboxCharge.State.OPEN:
            return charge
        charge.state = SandboxCharge.State.PAID
        charge.transaction_id = f"SBX{timezone.now():%Y%m%d%H%M%S}{secrets.randbelow(10**6):06d}"
        charge.amount_paid = charge.amount
        charge.paid_at = timezone.now()
        charge.payer_name = payer_name.strip() or charge.holder_name
        charge.payer_id_number = payer_id_number.strip().upper() or charge.holder_id_number
        charge.save()
        from marketplace.tasks import enqueue

        enqueue("marketplace.tasks.sandbox_notify", token=token)
    return charge


def notification_body(charge) -> bytes:
    return json.dumps(
        {
            "token": charge.token,
            "order_no": charge.merchant_order_no,
            "transaction_id": charge.transaction_id,
            "amount": str(charge.amount_paid),
            "payer_name": charge.payer_name,
            "payer_id_number": charge.payer_id_number,
            "paid_at": charge.paid_at.isoformat(),
        },
        ensure_ascii=False,
    ).encode()


def signed_notification(charge) -> tuple[bytes, dict]:
    body = notification_body(charge)
    return body, signed_headers(secret=settings.PAYMENT_PROVIDER_SECRET, body=body, prefix="Pay")


def sandbox_notify(*, token: str) -> bool:
    """POST the signed notification (a fresh nonce each attempt); True once we answered OK."""
    from marketplace.models import SandboxCharge

    charge = SandboxCharge.objects.get(token=token)
    if charge.notified_at is not None or charge.state == SandboxCharge.State.OPEN:
        return True
    body, headers = signed_notification(charge)
    SandboxCharge.objects.filter(pk=charge.pk).update(notify_attempts=charge.notify_attempts + 1)
    response = requests.post(charge.notify_url, data=body, headers=headers, timeout=(2, 10))
    if response.status_code == 200:
        SandboxCharge.objects.filter(pk=charge.pk).update(notified_at=timezone.now())
        return True
    logger.warning("sandbox notify of %s answered %s", token[:8], response.status_code)
    return False


def sandbox_notify_sweep(*, older_than_seconds: float) -> int:
    """Like a real provider's retry schedule: notify again every paid charge we have not yet
    acknowledged. Without it a notification lost with the broker (a Redis restart) would leave
    a paid order unpaid for ever. Our endpoint applies a payment once, however often told."""
    from marketplace.models import SandboxCharge

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    tokens = SandboxCharge.objects.filter(
        state=SandboxCharge.State.PAID, notified_at__isnull=True, paid_at__lt=cutoff
    ).values_list("token", flat=True)[:200]
    sent = 0
    for token in tokens:
        try:
            sent += bool(sandbox_notify(token=token))
        except requests.RequestException:
            logger.warning("sandbox notify of %s failed; next sweep retries", token[:8])
    return sent
