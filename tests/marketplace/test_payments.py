"""Payment: sandbox charge, signed notification (stale, replayed, bad signature refused),
mismatches flag the order, marking paid confirms the stock and files the payment."""

import time
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from bonded.models import Reservation
from customs.models import Declaration
from marketplace import payment_provider
from marketplace.errors import PaymentNotPossible
from marketplace.models import NotificationNonce, Payment, Refund, SandboxCharge
from marketplace.services import payment_start
from marketplace.services.payments import sign
from tests.marketplace.support import notify, pay, place

pytestmark = pytest.mark.django_db


def test_payment_start_gives_an_absolute_sandbox_pay_url_and_reuses_a_pending_charge(world):
    [order] = place(world, (world.paste, 2))
    payment = payment_start(order=order)
    assert (
        payment.pay_url.startswith("http") and f"/sandbox/pay/{payment.token}/" in payment.pay_url
    )
    assert payment.amount == order.total
    assert payment_start(order=order).pk == payment.pk
    charge = SandboxCharge.objects.get(token=payment.token)
    assert charge.holder_name == "张三" and charge.amount == Decimal("109.10")


def test_a_good_notification_marks_paid_confirms_stock_and_files_the_payment(world, client):
    [order] = place(world, (world.paste, 2))
    charge, response = pay(client, order)
    assert response.status_code == 200 and response.content == b"success"
    order.refresh_from_db()
    assert order.state == "paid" and order.paid_at == charge.paid_at
    assert Reservation.objects.get(reference=order.number).expires_at is None
    decl = Declaration.objects.get(order_no=order.number, kind="payment")
    assert decl.payload["amount_paid"] == "109.10"
    assert list(order.events.values_list("to_state", flat=True)) == ["placed", "paid"]


def test_the_same_payment_notified_twice_is_applied_once(world, client):
    [order] = place(world, (world.paste, 1))
    charge, _ = pay(client, order)
    again = notify(client, charge)  # a fresh nonce: a legitimate retry by the provider
    assert again.status_code == 200
    assert order.events.filter(to_state="paid").count() == 1
    assert Declaration.objects.filter(order_no=order.number, kind="payment").count() == 1


def test_a_replayed_notification_is_refused(world, client):
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    payment_provider.sandbox_pay(token=payment.token)
    charge = SandboxCharge.objects.get(token=payment.token)
    body, headers = payment_provider.signed_notification(charge)
    assert notify(client, charge, body=body, headers=headers).status_code == 200
    replay = notify(client, charge, body=body, headers=headers)
    assert replay.status_code == 403 and replay.json()["code"] == "replayed"


def test_a_bad_signature_is_refused_and_logged_without_changing_anything(world, client, caplog):
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    payment_provider.sandbox_pay(token=payment.token)
    charge = SandboxCharge.objects.get(token=payment.token)
    body, headers = payment_provider.signed_notification(charge)
    headers["X-Pay-Signature"] = "0" * 64
    response = notify(client, charge, body=body, headers=headers)
    assert response.status_code == 403
    assert "bad signature" in caplog.text
    order.refresh_from_db()
    assert order.state == "placed"
    assert NotificationNonce.objects.count() == 0


def test_a_stale_notification_is_refused(world, client, settings):
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    payment_provider.sandbox_pay(token=payment.token)
    charge = SandboxCharge.objects.get(token=payment.token)
    body = payment_provider.notification_body(charge)
    ts, nonce = str(int(time.time()) - 3600), "a" * 32
    headers = {
        "X-Pay-Timestamp": ts,
        "X-Pay-Nonce": nonce,
        "X-Pay-Signature": sign(
            secret=settings.PAYMENT_PROVIDER_SECRET, timestamp=ts, nonce=nonce, body=body
        ),
    }
    response = notify(client, charge, body=body, headers=headers)
    assert response.status_code == 403 and response.json()["code"] == "stale"


def test_an_amount_mismatch_leaves_the_order_unpaid_flags_it_and_refunds(world, client):
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    payment_provider.sandbox_pay(token=payment.token)
    SandboxCharge.objects.filter(token=payment.token).update(amount_paid=Decimal("1.00"))
    charge = SandboxCharge.objects.get(token=payment.token)
    assert notify(client, charge).status_code == 200
    order.refresh_from_db()
    assert order.state == "placed" and order.flagged and "amount" in order.flag_reason
    assert Payment.objects.get(pk=payment.pk).state == "flagged"
    assert Refund.objects.get(payment=payment).amount == Decimal("1.00")
    assert not Declaration.objects.filter(order_no=order.number, kind="payment").exists()


def test_a_payer_who_is_not_the_buyer_leaves_the_order_unpaid_and_flagged(world, client):
    [order] = place(world, (world.paste, 1))
    _charge, response = pay(client, order, payer_name="李四", payer_id_number="360426199101010071")
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.state == "placed" and order.flagged
    assert "payer" in order.flag_reason


def test_payment_rechecks_the_annual_quota(world, client):
    from django.utils import timezone

    from tests.marketplace.factories import OrderFactory

    [order] = place(world, (world.paste, 2))
    OrderFactory(shopper=world.shopper, state="paid", goods_value=Decimal("25950.00"),
                 paid_at=timezone.now())  # fmt: skip
    _charge, response = pay(client, order)
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.state == "placed" and order.flagged
    assert "50.00" in order.flag_reason  # how much room is left


def test_refund_goes_through_the_provider(world, client):
    from marketplace.services.orders import order_cancel
    from marketplace.services.payments import refund_execute

    [order] = place(world, (world.paste, 1))
    charge, _ = pay(client, order)
    order_cancel(order=order, actor="shopper", reason="changed my mind")
    refund = Refund.objects.get(payment__order=order)
    refund_execute(refund_id=refund.pk)
    charge.refresh_from_db()
    assert charge.state == "refunded" and charge.refunded_amount == order.total
    assert Refund.objects.get(pk=refund.pk).state == "done"


def test_nothing_to_pay_on_a_cancelled_order(world):
    from marketplace.services.orders import order_cancel

    [order] = place(world, (world.paste, 1))
    order_cancel(order=order, actor="shopper", reason="")
    with pytest.raises(PaymentNotPossible):
        payment_start(order=order)


def test_sandbox_pay_page_works_and_queues_the_notification(world, client):
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    page = client.get(f"/sandbox/pay/{payment.token}/")
    assert page.status_code == 200 and "¥54.55" in page.content.decode()
    assert b"viewport" in page.content
    paid = client.post(f"/sandbox/pay/{payment.token}/")
    assert paid.status_code == 200 and b'id="paid"' in paid.content
    assert SandboxCharge.objects.get(token=payment.token).state == "paid"
    qr = client.get(f"/sandbox/pay/{payment.token}/qr.svg")
    assert qr.status_code == 200 and qr["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in qr.content


# --- #15: sandboxes off in production, verification by the adapter, nonces pruned ----------


def test_with_sandboxes_off_the_pay_page_is_404_and_nobody_pays_without_money(
    world, client, settings
):
    """Production without ALLOW_SANDBOXES_IN_PRODUCTION (the URLs are not even mounted there:
    tests/platform/test_settings.py): the view itself refuses too, and the charge stays open."""
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    settings.SANDBOXES_ENABLED = False
    assert client.get(f"/sandbox/pay/{payment.token}/").status_code == 404
    assert client.post(f"/sandbox/pay/{payment.token}/").status_code == 404
    assert client.get(f"/sandbox/pay/{payment.token}/qr.svg").status_code == 404
    charge = SandboxCharge.objects.get(token=payment.token)
    assert charge.state == "open" and charge.paid_at is None and charge.transaction_id == ""
    with pytest.raises(ImproperlyConfigured):
        payment_provider.sandbox_pay(token=payment.token)
    order.refresh_from_db()
    assert order.state == "placed" and order.paid_at is None
    assert SandboxCharge.objects.get(token=payment.token).state == "open"


def test_the_configured_provider_verifies_notifications_not_the_app(world, client, settings):
    """A provider that refuses everything: a notification signed the sandbox's way is refused
    with the one callback refusal, and nothing is paid."""
    from tests import adapters

    settings.PAYMENT_PROVIDER = "tests.adapters.RefusingProvider"
    adapters.CONSULTED.clear()
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    payment_provider.sandbox_pay(token=payment.token)
    response = notify(client, SandboxCharge.objects.get(token=payment.token))
    assert response.status_code == 403
    assert response.json() == {"code": "bad_signature", "message": "签名错误。", "extra": {}}
    assert adapters.CONSULTED == ["payment"]
    order.refresh_from_db()
    assert order.state == "placed" and Payment.objects.get(pk=payment.pk).state == "pending"
    assert NotificationNonce.objects.count() == 0


def test_a_provider_with_another_signature_scheme_is_configuration_only(world, client, settings):
    from tests.adapters import token_signature

    settings.PAYMENT_PROVIDER = "tests.adapters.OtherSchemeProvider"
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    payment_provider.sandbox_pay(token=payment.token)
    charge = SandboxCharge.objects.get(token=payment.token)
    body = payment_provider.notification_body(charge)
    ours = notify(client, charge)  # our HMAC scheme means nothing to this provider
    assert ours.status_code == 403 and ours.json()["code"] == "bad_signature"
    theirs = notify(client, charge, body=body, headers={"X-Other-Signature": token_signature(body)})
    assert theirs.status_code == 200 and theirs.content == b"success"
    order.refresh_from_db()
    assert order.state == "paid" and order.paid_at == charge.paid_at


def test_old_notification_nonces_are_pruned_and_a_fresh_one_still_blocks_its_replay(
    world, client, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from marketplace.tasks import notification_nonces_prune

    window = timedelta(seconds=2 * settings.PAYMENT_NOTIFY_MAX_AGE_SECONDS)
    old = NotificationNonce.objects.create(
        nonce="o" * 32, received_at=timezone.now() - window - timedelta(seconds=1)
    )
    kept = NotificationNonce.objects.create(
        nonce="k" * 32, received_at=timezone.now() - window + timedelta(seconds=30)
    )
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    payment_provider.sandbox_pay(token=payment.token)
    charge = SandboxCharge.objects.get(token=payment.token)
    body, headers = payment_provider.signed_notification(charge)
    assert notify(client, charge, body=body, headers=headers).status_code == 200
    assert notification_nonces_prune() == 1  # the beat task (NONCE_PRUNE_SECONDS)
    remaining = set(NotificationNonce.objects.values_list("nonce", flat=True))
    assert remaining == {kept.nonce, headers["X-Pay-Nonce"]} and old.nonce not in remaining
    replay = notify(client, charge, body=body, headers=headers)
    assert replay.status_code == 403 and replay.json()["code"] == "replayed"
    schedule = settings.CELERY_BEAT_SCHEDULE["marketplace-notification-nonces-prune"]
    assert schedule["task"] == "marketplace.tasks.notification_nonces_prune"
    assert schedule["schedule"] == settings.NONCE_PRUNE_SECONDS
