"""Reads of orders: by number, a shopper's own (IDOR-safe), the five-step timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.models import Order, Payment


@dataclass(frozen=True)
class TimelineStep:
    key: str  # registration | ordering | filing | payment | delivery
    label: str
    at: datetime | None
    # Seconds from the step before to this one (None for the first step or when not done):
    # the order page shows how long each step took.
    elapsed_seconds: int | None = None

    @property
    def done(self) -> bool:
        return self.at is not None

    @property
    def at_local(self) -> str:
        """The time on the site's clock (settings.TIME_ZONE, Beijing time), as the page and
        its live refresh both show it: the browser's own zone never enters."""
        return timezone.localtime(self.at).strftime("%Y-%m-%d %H:%M:%S") if self.at else ""


STEPS = [
    ("registration", _("Registration")),
    ("ordering", _("Ordering")),
    ("filing", _("Filing")),
    ("payment", _("Payment")),
    ("delivery", _("Delivery")),
]


def orders_with_details() -> QuerySet[Order]:
    # Lines only: nothing that reads an order through here shows its events.
    return Order.objects.select_related("shopper__user", "merchant").prefetch_related("lines")


def order_by_no(order_no: str) -> Order | None:
    return orders_with_details().filter(number=str(order_no)[:32]).first()


def order_for_shopper(*, shopper, order_no: str) -> Order | None:
    """Someone else's order is None, exactly like one that does not exist."""
    if shopper is None:
        return None
    return orders_with_details().filter(shopper=shopper, number=str(order_no)[:32]).first()


def order_for_user(*, user, order_no: str, details: bool = True) -> Order | None:
    """The signed-in user's own order (through their shopper profile), with its shopper, in one
    read (and its lines with `details`): someone else's is None, like one that does not exist.
    """
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return None
    orders = Order.objects.select_related("shopper")
    if details:
        orders = orders.select_related("merchant").prefetch_related("lines")
    return orders.filter(shopper__user=user, number=str(order_no)[:32]).first()


def orders_for_shopper(*, shopper) -> QuerySet[Order]:
    return (
        Order.objects.filter(shopper=shopper).select_related("merchant").prefetch_related("lines")
    )


def order_timeline(order, *, refresh: bool = True) -> list[TimelineStep]:
    """`refresh`: look for a filing stamp the listener has not applied yet (one read while
    unfiled); not for an order placed by this very request, which nobody has filed yet."""
    from marketplace.services.clearance import order_refresh

    if refresh:
        order_refresh(order)
    times = {
        "registration": order.shopper.created_at,
        "ordering": order.created_at,
        "filing": order.filed_at,
        "payment": order.paid_at,
        "delivery": order.delivered_at,
    }
    steps, previous = [], None
    for key, label in STEPS:
        at = times[key]
        elapsed = None
        if at is not None and previous is not None and key != "ordering":
            elapsed = max(0, round((at - previous).total_seconds()))
        steps.append(TimelineStep(key, str(label), at, elapsed))
        previous = at or previous
    return steps


def order_payment(order) -> Payment | None:
    return order.payments.order_by("-created_at", "-id").first()


def released_delivery_orders() -> QuerySet[Order]:
    """Delivery orders customs released (goods at the outbound dock) not yet dispatched: the
    warehouse's work queue, oldest release first."""
    return (
        Order.objects.filter(state=Order.State.RELEASED, delivery_mode=Order.Delivery.DELIVERY)
        .prefetch_related("lines")
        .order_by("released_at", "id")
    )


def order_states(numbers) -> dict[str, str]:
    """The state of each order that exists among `numbers` (a missing number: never placed)."""
    return dict(Order.objects.filter(number__in=list(numbers)).values_list("number", "state"))
