"""Marketplace writes and business rules, one module per sub-domain."""

from marketplace.services.checkout import (
    CartLine,
    HomeDelivery,
    PickupDelivery,
    checkout_preview,
    order_place,
)
from marketplace.services.orders import (
    order_cancel,
    order_deliver,
    order_dispatch,
    order_mark_delivered,
)
from marketplace.services.payments import payment_start
from marketplace.services.shoppers import shopper_identity_matches

__all__ = [
    "CartLine",
    "HomeDelivery",
    "PickupDelivery",
    "checkout_preview",
    "order_cancel",
    "order_deliver",
    "order_dispatch",
    "order_mark_delivered",
    "order_place",
    "payment_start",
    "shopper_identity_matches",
]
