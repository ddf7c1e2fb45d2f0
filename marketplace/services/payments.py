"""Payment through the provider: start (a charge and its pay page), the signed asynchronous
notification, marking paid (one transaction with the stock and the payment declaration), and
refunds. The provider is reached through `marketplace.payment_provider` (the sandbox in the
demo); its notifications are HMAC-SHA256 over timestamp, nonce and body."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal, InvalidOperation

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from bonded import services as bonded_services
from bonded.errors import ReservationExpired, ReservationNotFound
from config import callbacks
from config.callbacks import sign  # noqa: F401 - tests sign with it
from config.crypto import keyed_hash
from config.errors import DomainError
from customs import services as customs_services
from customs.filings import PaymentFiling
from marketplace import payment_provider
from marketplace.errors import (
    NotificationRejected,
    PayerNotBuyer,
    PaymentNotPossible,
    PaymentProviderUnavailable,
)
from marketplace.models import NotificationNonce, Order, OrderLine, Payment, Refund
from marketplace.services.orders import S, order_transition
from marketplace.services.quota import shopper_quota_check, shopper_quota_lock
from marketplace.services.shoppers import clean_resident_id, shopper_identity_matches
from marketplace.services.tax import to_fen

logger = logging.getLogger(__name__)


def payment_start(
    *, order, reread: bool = True, channel: str = "web", client_ip: str = ""
) -> Payment:
    """A charge at the provider for what the order costs now; reused while still pending.

    The payer must be the buyer (customs' rule): the charge carries the buyer's real name and
    resident ID, so the provider's wallet refuses anyone else (WeChat Pay payer.identity,
    Alipay ext_user_info with need_check_info), and before any charge we refuse an order whose
    buyer identity is incomplete or differs from the one declared with customs at checkout
    (payer_identity_check). `channel` is "web" (the provider's mobile page) or "counter" (a QR
    code for the kiosk).

    The order is read again unless `reread=False`: the caller read it (with its shopper) in
    this request."""
    if reread:
        order = Order.objects.select_related("shopper").get(pk=order.pk)
    if order.state != S.PLACED:
        raise PaymentNotPossible(number=order.number, state=order.get_state_display())
    pending = order.payments.filter(state=Payment.State.PENDING, amount=order.total).first()
    if pending is not None:  # its charge already names the buyer: the wallet checks the payer
        return pending
    payer_identity_check(order=order)
    token = secrets.token_hex(16)  # the provider's out_trade_no: 32 characters [0-9a-f]
    # The provider call happens outside any lock on the order.
    adapter = payment_provider.provider()
    try:
        pay_url = adapter.create_charge(
            token=token,
            order_no=order.number,
            amount=order.total,
            subject=_("Bondport order %(number)s") % {"number": order.number},
            holder_name=order.shopper.real_name,
            holder_id_number=order.shopper.resident_id,
            notify_url=settings.PAYMENT_NOTIFY_URL,
            return_url=f"{settings.SITE_URL}/orders/{order.number}/",
            channel=channel,
            client_ip=client_ip,
        )
    except payment_provider.ProviderError as exc:
        logger.warning("charge for %s refused by the provider: %s", order.number, exc)
        raise PaymentProviderUnavailable() from None
    return Payment.objects.create(
        order=order,
        token=token,
        amount=order.total,
        pay_url=pay_url,
        provider=getattr(adapter, "name", "sandbox"),
    )


def payer_identity_check(*, order) -> None:
    """Refuse a payment before it starts unless the buyer's identity is whole and is the one
    the order was declared to customs with: real name and a valid resident ID whose keyed hash
    is the shopper's, and the same name and ID on the order declaration (CEB311)."""
    from customs import selectors as customs_selectors

    shopper = order.shopper
    name = (shopper.real_name or "").strip()
    try:
        id_number = clean_resident_id(shopper.resident_id or "")
    except DomainError:
        id_number = ""
    if not name or not id_number or keyed_hash(id_number) != shopper.resident_id_hash:
        raise PayerNotBuyer(
            _("Your real name and resident ID are incomplete. Customs requires the buyer to pay "
              "with their own verified identity: complete your profile, then pay.")
        )  # fmt: skip
    declared = customs_selectors.order_buyer(order_no=order.number)
    if declared is not None and (
        declared["buyer_name"] != name or declared["id_hash"] != shopper.resident_id_hash
    ):
        raise PayerNotBuyer(
            _("This order was declared to customs for another buyer. Only the buyer named on "
              "the order, with their own resident ID, may pay it.")
        )  # fmt: skip


@dataclass(frozen=True)
class Notification:
    token: str
    order_no: str
    transaction_id: str
    amount: Decimal
    payer_name: str
    payer_id_number: str
    paid_at: object
    # The provider refused any payer but the buyer (the charge named them): no payer identity
    # comes back, the buyer's is the payer's.
    payer_checked_by_provider: bool = False


def notification_verify(*, body: bytes, headers: Mapping[str, str]) -> Notification | None:
    """Refuse stale, replayed or badly signed notifications (logged, never the body). The
    configured provider adapter checks them (PAYMENT_PROVIDER): its scheme, not ours. An
    adapter may return the payment it read (a real provider's format); None for a verified
    notification about something else (a refund's), answered but not applied."""
    try:
        data = payment_provider.provider().verify_notification(body=body, headers=headers)
    except callbacks.CallbackRefused as refused:
        raise callbacks.CallbackRejected.because(refused.reason) from None
    try:
        if data is None:
            data = json.loads(body)
        if data.get("ignored"):
            return None
        return Notification(
            token=str(data["token"]),
            order_no=str(data["order_no"]),
            transaction_id=str(data["transaction_id"]),
            amount=Decimal(str(data["amount"])),
            payer_name=str(data.get("payer_name", "")),
            payer_id_number=str(data.get("payer_id_number", "")),
            paid_at=parse_datetime(str(data.get("paid_at", ""))) or timezone.now(),
            payer_checked_by_provider=bool(data.get("payer_checked_by_provider")),
        )
    except (ValueError, KeyError, TypeError, InvalidOperation):
        logger.warning("payment notification refused: malformed body")
        raise callbacks.CallbackRejected.because("malformed") from None


def notification_nonces_prune(*, now=None) -> int:
    """Forget accepted nonces older than twice the notifications' max age: a replay that old is
    refused as stale anyway, so the table stays the size of one window."""
    keep_after = (now or timezone.now()) - timedelta(
        seconds=2 * settings.PAYMENT_NOTIFY_MAX_AGE_SECONDS
    )
    deleted, _rows = NotificationNonce.objects.filter(received_at__lt=keep_after).delete()
    return deleted


def payment_notified(*, notification: Notification) -> Payment:
    """Apply a verified notification. Idempotent: a repeat of an applied payment changes nothing.

    An amount or payer mismatch leaves the order unpaid and flags it (and the payment) for
    staff; the money is refunded. Money arriving for an order that expired or was cancelled
    meanwhile is refunded too.
    """
    n = notification
    with transaction.atomic():
        # The shopper first (the lock checkout takes too): two payments of one shopper re-check
        # the annual quota one after the other, each seeing the other's paid order.
        shopper_quota_lock(orders__payments__token=n.token)
        # The payment and its order locked by one read, so both are as they stand once the
        # locks are held; the shopper joined in (not locked), and the order's units (its lines
        # never change once placed) for the quota check.
        units = OrderLine.objects.filter(order=OuterRef("order_id")).values("order")
        payment = (
            Payment.objects.select_for_update(of=("self", "order"))
            .select_related("order", "order__shopper")
            .annotate(order_units=Subquery(units.annotate(n=Sum("quantity")).values("n")))
            .filter(token=n.token)
            .first()
        )
        if payment is None or (n.order_no and payment.order.number != n.order_no):
            logger.warning("payment notification for unknown charge (order %s)", n.order_no[:32])
            raise NotificationRejected(_("Unknown charge."), code="unknown_charge")
        if payment.state != Payment.State.PENDING:
            return payment
        order = payment.order
        shopper = order.shopper
        if n.payer_checked_by_provider:  # the wallet let only the buyer named on the charge pay
            n = replace(n, payer_name=shopper.real_name, payer_id_number=shopper.resident_id)
        payment.transaction_id = n.transaction_id[:64]
        payment.amount_paid = to_fen(n.amount)
        payment.paid_at = n.paid_at
        problem = ""
        if to_fen(n.amount) != order.total:
            problem = f"amount paid {to_fen(n.amount)} differs from order total {order.total}"
        elif n.payer_name != shopper.real_name or not shopper_identity_matches(
            shopper=shopper, full_id=n.payer_id_number
        ):
            problem = "the payer is not the buyer (name or resident ID differ)"
        if problem or order.state != S.PLACED:
            payment.state = Payment.State.FLAGGED
            payment.problem = (problem or f"order was {order.state} when the money came")[:300]
            payment.save()
            if problem:
                order.flagged = True
                order.flag_reason = problem[:300]
                order.save(update_fields=["flagged", "flag_reason"])
            logger.warning("payment for %s flagged: %s", order.number, payment.problem)
            _refund(payment=payment, reason=payment.problem)
            return payment
        try:
            _mark_paid(order=order, payment=payment, n=n)
        except DomainError as exc:
            # e.g. the annual quota filled up since checkout: keep the order unpaid, refund.
            payment.state = Payment.State.FLAGGED
            payment.problem = f"{exc.code}: {exc.message}"[:300]  # staff see which rule
            payment.save()
            order.flagged = True
            order.flag_reason = exc.message[:300]
            order.save(update_fields=["flagged", "flag_reason"])
            _refund(payment=payment, reason=exc.message)
    return payment


def _mark_paid(*, order: Order, payment: Payment, n: Notification) -> None:
    """Order paid + stock confirmed + payment declaration, all or nothing (a savepoint)."""
    with transaction.atomic():
        # The quota again at payment (the shopper is locked): orders placed before their
        # holds counted, or across the new year, may have been paid since checkout. The year
        # is the one the payment counts in.
        shopper_quota_check(
            shopper=order.shopper,
            order_value=order.customs_value,
            units=_units(order, payment),
            on=n.paid_at if timezone.is_aware(n.paid_at) else None,
        )
        try:
            bonded_services.reservation_confirm(reference=order.number)
        except (ReservationExpired, ReservationNotFound):
            raise PaymentNotPossible(number=order.number, state=order.get_state_display()) from None
        order_transition(order=order, to=S.PAID, actor="payment", at=n.paid_at,
                         note=f"transaction {payment.transaction_id}")  # fmt: skip
        payment.state = Payment.State.SUCCEEDED
        payment.save()
        if getattr(payment_provider.provider_class(), "files_customs_payment", False):
            # The payment company files the payment record (CEB411) itself: ask it to after
            # commit (an HTTP call, never under these locks); customs files none of its own.
            from marketplace.tasks import enqueue

            enqueue("marketplace.tasks.payment_customs_declare", payment_id=payment.pk)
            return
        customs_services.declaration_create_payment(
            summary=False,
            payment=PaymentFiling(
                order_no=order.number,
                ebp_code=settings.PLATFORM_EBP_CODE,
                pay_code=settings.PAYMENT_COMPANY_CODE,
                pay_transaction_id=payment.transaction_id,
                payer_name=n.payer_name,
                payer_id_number=n.payer_id_number,
                payer_telephone=order.shopper.mobile,
                amount_paid=to_fen(n.amount),
                paid_at=n.paid_at,
            ),
        )


def _units(order: Order, payment: Payment) -> int:
    """The order's units, as payment_notified read them with the payment (or from the lines)."""
    units = getattr(payment, "order_units", None)
    return units if units is not None else sum(line.quantity for line in order.lines.all())


def _refund(*, payment: Payment, reason: str) -> Refund | None:
    amount = payment.amount_paid if payment.amount_paid is not None else payment.amount
    refund, created = Refund.objects.get_or_create(
        payment=payment, defaults={"amount": amount, "reason": reason[:300]}
    )
    if created:
        from marketplace.tasks import enqueue

        enqueue("marketplace.tasks.refund_execute", refund_id=refund.pk)
    return refund


def payment_refund(*, order, reason: str) -> Refund | None:
    """Refund what the order was paid; the provider is called after commit (refund_execute)."""
    payment = (
        Payment.objects.select_for_update()
        .filter(order_id=order.pk, state=Payment.State.SUCCEEDED)
        .first()
    )
    if payment is None:
        return None
    payment.state = Payment.State.REFUNDED
    payment.save(update_fields=["state"])
    return _refund(payment=payment, reason=reason)


def refund_execute(*, refund_id: int) -> Refund:
    """Ask the provider to pay the money back (no lock held during the call); idempotent."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.state == Refund.State.DONE:
        return refund
    try:
        payment_provider.provider().refund(
            token=refund.payment.token,
            amount=refund.amount,
            total=refund.payment.amount_paid or refund.payment.amount,
            refund_no=f"R{refund.pk:011d}{refund.payment.token[:20]}",
        )
    except Exception as exc:  # provider down: kept requested for the sweep to retry
        Refund.objects.filter(pk=refund.pk).update(error=str(exc)[:300])
        raise
    Refund.objects.filter(pk=refund.pk).update(
        state=Refund.State.DONE, done_at=timezone.now(), error=""
    )
    refund.refresh_from_db()
    return refund


def payment_customs_declare(*, payment_id: int) -> Payment:
    """Ask the payment company (WeChat Pay, Alipay) to file the payment record with customs
    and record its answer; customs then takes the payment as filed (PaymentFiling.filed_by)
    and sends no CEB411 of its own. An answer that refuses (the payer is not the buyer, the
    declaration failed) flags the order for staff. Idempotent: an answered payment is left."""
    payment = Payment.objects.select_related("order", "order__shopper").get(pk=payment_id)
    adapter = payment_provider.provider()
    if (
        payment.customs_declared_at is not None
        or payment.state != Payment.State.SUCCEEDED
        or payment.provider != getattr(adapter, "name", "")
        or not getattr(adapter, "files_customs_payment", False)
    ):
        return payment
    order, shopper = payment.order, payment.order.shopper
    answer = adapter.customs_declare(
        token=payment.token,
        transaction_id=payment.transaction_id,
        order_no=order.number,
        amount=payment.amount_paid,
        freight=order.freight,
        buyer_name=shopper.real_name,
        buyer_id_number=shopper.resident_id,
    )
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.customs_declared_at is not None:
            return payment
        payment.customs_answer = answer
        payment.customs_declared_at = timezone.now()
        payment.save(update_fields=["customs_answer", "customs_declared_at"])
        if not answer.get("accepted"):
            reason = (
                f"{answer.get('provider')} customs declaration not accepted: state "
                f"{answer.get('state')}, identity check {answer.get('identity_check') or '-'}"
            )
            Order.objects.filter(pk=order.pk).update(flagged=True, flag_reason=reason[:300])
            logger.warning("payment of %s: %s", order.number, reason)
            return payment
        customs_services.declaration_create_payment(
            summary=False,
            payment=PaymentFiling(
                order_no=order.number,
                ebp_code=settings.PLATFORM_EBP_CODE,
                pay_code=settings.PAYMENT_COMPANY_CODE,
                pay_transaction_id=payment.transaction_id,
                payer_name=shopper.real_name,
                payer_id_number=shopper.resident_id,
                payer_telephone=shopper.mobile,
                amount_paid=payment.amount_paid,
                paid_at=payment.paid_at,
                filed_by=str(answer.get("provider", "")),
                filed_answer=(
                    f"{answer.get('state')} {answer.get('declared_no', '')} identity "
                    f"{answer.get('identity_check', '')}"
                )[:200],
            ),
        )
    return payment


def payment_customs_declare_sweep(*, older_than_seconds: float = 30.0) -> int:
    """Ask again for every paid payment of the configured real provider not yet declared (the
    task lost with the broker, or the provider was down); a no-op with the sandbox."""
    adapter = payment_provider.provider_class()
    if not getattr(adapter, "files_customs_payment", False):
        return 0
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = Payment.objects.filter(
        state=Payment.State.SUCCEEDED,
        provider=getattr(adapter, "name", ""),
        customs_declared_at__isnull=True,
        paid_at__lt=cutoff,
    ).values_list("pk", flat=True)[:100]
    done = 0
    for payment_id in ids:
        try:
            payment_customs_declare(payment_id=payment_id)
            done += 1
        except payment_provider.ProviderError as exc:
            logger.warning("customs declaration of payment %s failed: %s", payment_id, exc)
        except (requests.RequestException, OSError):
            logger.warning("customs declaration of payment %s: provider unreachable", payment_id)
    return done
