"""Demo data for the warehouse: released delivery orders in today's wave for the `warehouse`
user (sign in at /login/, then /warehouse/)."""

from __future__ import annotations

from demo.marketplace_seed import _authority_answers, _pay

# (shopper username, listing position, quantity): positions after the ones the order seed uses.
DEMO_DELIVERIES = [("shopper4", 10, 2), ("shopper4", 11, 1)]
ADDRESS = "河南省郑州市金水区花园路 88 号 3 单元 502 室"


def seed_deliveries() -> int:
    """Delivery orders placed, paid and released through the services (the authority's
    receipts recorded as customs tests do), then opened as shipments in a wave. Skipped when
    demo deliveries exist already."""
    from dispatch.models import Shipment
    from dispatch.services import shipments_sync, wave_build
    from marketplace.models import Order, Shopper
    from marketplace.selectors.catalog import availability_for, visible_listings
    from marketplace.services import CartLine, HomeDelivery, order_place
    from marketplace.services.clearance import order_sync_clearance

    if Order.objects.filter(channel="seed", delivery_mode="delivery").exists():
        return 0
    candidates = [x for x in visible_listings().order_by("pk")[:200] if x.price < 1500]
    stock = availability_for(candidates)
    listings = [x for x in candidates if stock.get(x.pk, 0) >= 5]
    if len(listings) <= max(p for _u, p, _q in DEMO_DELIVERIES):
        return 0
    created = 0
    for username, position, quantity in DEMO_DELIVERIES:
        shopper = Shopper.objects.get(user__username=username)
        delivery = HomeDelivery(
            consignee=shopper.real_name, phone=shopper.mobile, address=ADDRESS, district="金水区"
        )
        [order] = order_place(
            shopper=shopper, lines=[CartLine(listings[position].pk, quantity)],
            delivery=delivery, channel="seed", actor="seed",
        )  # fmt: skip
        no = order.number
        _authority_answers(no, 120, ("order", "waybill"))
        _pay(order)
        _authority_answers(no, 120, ("payment",))
        _authority_answers(no, 800, ("inventory",))
        order_sync_clearance(order_no=no)
        created += 1
    created += shipments_sync()
    if Shipment.objects.filter(wave__isnull=True).exists():
        created += wave_build(actor="seed_demo") is not None
    return created


STEPS = [("deliveries", seed_deliveries)]
