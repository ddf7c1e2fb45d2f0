"""The walk-in path at the counter: register, order by scanning shelf codes, pay."""

from collections import Counter
from dataclasses import dataclass

from marketplace.models import Listing, Shopper
from marketplace.services import CartLine, PickupDelivery, order_place, payment_start
from marketplace.services.checkout import CheckoutPreview, checkout_preview
from marketplace.services.shoppers import shopper_register
from pickup.errors import BarcodeUnknown
from pickup.models import Kiosk
from pickup.services.codes import pickup_code_issue


@dataclass
class WalkinOrder:
    order: object
    pay_url: str


def walkin_register(*, kiosk: Kiosk, real_name: str, resident_id: str, mobile: str) -> Shopper:
    """A walk-in shopper: real name and ID, no password (they may set one online later)."""
    return shopper_register(
        real_name=real_name, resident_id=resident_id, mobile=mobile, password=None
    )


def listing_by_barcode(*, barcode: str) -> Listing:
    listing = (
        Listing.objects.select_related("item")
        .filter(item__barcode=barcode.strip(), is_active=True)
        .first()
    )
    if listing is None:
        raise BarcodeUnknown(barcode=barcode.strip())
    return listing


def _cart_lines(barcodes: list[str]) -> list[CartLine]:
    """One scan is one unit; an unknown barcode is refused here, at scan time, by name."""
    counts = Counter(b.strip() for b in barcodes if b.strip())
    if not counts:
        raise BarcodeUnknown(barcode="")
    return [
        CartLine(listing_by_barcode(barcode=barcode).pk, quantity)
        for barcode, quantity in counts.items()
    ]


def walkin_cart(*, kiosk: Kiosk, shopper: Shopper | None, barcodes: list[str]) -> CheckoutPreview:
    """What the scanned goods cost at this counter (names, prices, tax, totals), before the
    order exists: the kiosk shows it after every scan."""
    return checkout_preview(
        shopper=shopper,
        lines=_cart_lines(barcodes),
        delivery=PickupDelivery(counter_code=kiosk.counter.code),
    )


def walkin_order(*, kiosk: Kiosk, shopper: Shopper, barcodes: list[str]) -> list[WalkinOrder]:
    """Order the scanned goods for pickup at this kiosk's counter and start paying.

    One scan is one unit; marketplace may split the cart into one order per merchant.
    """
    lines = sorted(_cart_lines(barcodes), key=lambda line: line.listing_id)
    orders = order_place(
        shopper=shopper,
        lines=lines,
        delivery=PickupDelivery(counter_code=kiosk.counter.code),
        channel="kiosk",
        actor=kiosk.actor,
    )
    placed = []
    for order in orders:
        pickup_code_issue(order=order)
        placed.append(
            WalkinOrder(order=order, pay_url=payment_start(order=order, channel="counter").pay_url)
        )
    return placed
