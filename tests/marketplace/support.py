"""Helpers for order tests: place, pay through the sandbox, and post notifications."""

import json

from marketplace import payment_provider
from marketplace.models import SandboxCharge
from marketplace.services import CartLine, PickupDelivery, order_place, payment_start


def place(world, *lines, shopper=None, delivery=None):
    return order_place(
        shopper=shopper or world.shopper,
        lines=[CartLine(listing.pk, qty) for listing, qty in lines],
        delivery=delivery or PickupDelivery(counter_code="C-ZZ1"),
        actor="test",
    )


def headers_for(headers: dict) -> dict:
    return {
        f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"
    }


def notify(client, charge, *, body: bytes | None = None, headers: dict | None = None):
    signed_body, signed_headers = payment_provider.signed_notification(charge)
    return client.post(
        "/payments/notify/",
        data=body if body is not None else signed_body,
        content_type="application/json",
        **headers_for(headers or signed_headers),
    )


def pay(client, order, **payer):
    """Start the payment, pay on the sandbox, deliver its notification; returns the charge."""
    payment = payment_start(order=order)
    payment_provider.sandbox_pay(token=payment.token, **payer)
    charge = SandboxCharge.objects.get(token=payment.token)
    response = notify(client, charge)
    return charge, response


def tamper(charge, **changes) -> bytes:
    data = json.loads(payment_provider.notification_body(charge))
    data.update(changes)
    return json.dumps(data).encode()
