"""Recovery paths the fault scenarios rely on, checked in process."""

import pytest

from marketplace import payment_provider
from marketplace.models import Order, SandboxCharge
from marketplace.services import payment_start
from tests.marketplace.support import place

pytestmark = pytest.mark.django_db(transaction=True)  # the live server reads what we wrote


def test_a_paid_charge_whose_notification_was_lost_is_notified_again_by_the_sweep(
    world, live_server, settings
):
    settings.PAYMENT_NOTIFY_URL = f"{live_server.url}/payments/notify/"
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    # Paid at the provider, but its notification message never reached a worker.
    payment_provider.sandbox_pay(token=payment.token)
    assert Order.objects.get(pk=order.pk).state == "placed"
    assert payment_provider.sandbox_notify_sweep(older_than_seconds=3600) == 0  # too recent
    assert payment_provider.sandbox_notify_sweep(older_than_seconds=0) == 1
    assert Order.objects.get(pk=order.pk).state == "paid"
    assert SandboxCharge.objects.get(token=payment.token).notified_at is not None
    assert payment_provider.sandbox_notify_sweep(older_than_seconds=0) == 0  # acknowledged
