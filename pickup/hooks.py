"""What pickup adds to the shopper's order-status poll (settings.ORDER_STATUS_EXTRAS)."""

from marketplace.models import Order
from pickup.services.codes import code_for, pickup_code_issue


def order_status_extra(row: dict) -> dict:
    """Once a pickup order is released: its pickup code (issued on first need), so the poll
    that sees the release is the shopper's last call before the counter. One statement (the
    code), three the first time (the code is drawn and stored)."""
    if row["delivery_mode"] != Order.Delivery.PICKUP or row["state"] != Order.State.RELEASED:
        return {}
    order = Order(
        pk=row["id"],
        number=row["number"],
        delivery_mode=row["delivery_mode"],
        counter_code=row["counter_code"],
    )
    pickup_code = pickup_code_issue(order=order)
    used = pickup_code.used_at is not None
    return {"pickup_code": None if used else code_for(pickup_code), "pickup_code_used": used}
