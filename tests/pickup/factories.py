"""Pickup test data: counters in and out of the zone, kiosks, pickup orders."""

from django.utils import timezone

from bonded.models import Location
from marketplace.models import Order
from pickup.services import kiosk_create, pickup_code_issue
from pickup.services.codes import code_for
from tests.marketplace.factories import LocationFactory, OrderFactory, ShopperFactory


def counter(code: str = "C-ZZ1", *, inside: bool = True) -> Location:
    return LocationFactory(
        code=code,
        kind=Location.Kind.COUNTER,
        inside_supervision_zone=inside,
        name_zh=f"柜台 {code}",
        name_en=f"Counter {code}",
        address_zh="体验店一楼",
    )


def kiosk(counter_code: str = "C-ZZ1", *, name: str = ""):
    """(kiosk, key) at a counter inside the zone."""
    counter(counter_code)
    return kiosk_create(name=name or counter_code, counter_code=counter_code, actor="test")


def pickup_order(*, counter_code: str = "C-ZZ1", state: str = "released", shopper=None, **kw):
    """A pickup order in `state` with its code issued: (order, code digits)."""
    now = timezone.now()
    fields = {
        "state": state,
        "delivery_mode": Order.Delivery.PICKUP,
        "counter_code": counter_code,
        "paid_at": now if state in {"paid", "held", "released"} else None,
        "released_at": now if state == "released" else None,
    } | kw
    order = OrderFactory(shopper=shopper or ShopperFactory(), **fields)
    code = pickup_code_issue(order=order)
    return order, code_for(code)
