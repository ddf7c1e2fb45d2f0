"""Checkout: from cart lines to one order per merchant, each placed in one transaction.

Prices always come from the listings (a posted price is never read). Placing an order assesses
tax and quota, reserves the stock in bonded, writes the order, its lines and first event, and
files the order and waybill with customs: all of it or none of it.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from bonded import selectors as bonded_selectors
from bonded import services as bonded_services
from bonded.errors import InsufficientStock
from config.errors import DomainError
from customs import services as customs_services
from customs.errors import CustomsError
from customs.filings import OrderFiling, OrderLineFiling, WaybillFiling
from marketplace.errors import CartEmpty, InvalidDelivery, ListingUnavailable, OutOfStock
from marketplace.models import Listing, Order, OrderEvent, OrderLine
from marketplace.selectors.catalog import clean_quantity, listing_rates, visible_listings
from marketplace.selectors.quota import QUOTA_TZ, annual_quota_taken
from marketplace.services.quota import (
    OrderAssessment,
    annual_remaining,
    order_assess,
    shopper_quota_lock,
)
from marketplace.services.shoppers import clean_mobile
from marketplace.services.tax import ZERO, TaxLineInput, to_fen

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CartLine:
    listing_id: int
    quantity: int


@dataclass(frozen=True)
class PickupDelivery:
    counter_code: str


@dataclass(frozen=True)
class HomeDelivery:
    consignee: str
    phone: str
    address: str
    district: str = ""


@dataclass(frozen=True)
class Route:
    mode: str  # "pickup" | "delivery"
    destination_code: str  # counter or dock the goods go to on release
    storage_code: str  # bonded storage the stock is reserved in
    freight: Decimal
    address: str


@dataclass
class PreviewLine:
    listing: Listing
    quantity: int
    unit_price: Decimal
    value: Decimal
    tax: Decimal
    available: int


@dataclass
class PreviewOrder:
    merchant_code: str
    merchant_name: str
    lines: list[PreviewLine]
    goods_value: Decimal
    freight: Decimal
    tax_total: Decimal
    total: Decimal
    assessment: OrderAssessment | None = None


@dataclass
class CheckoutPreview:
    orders: list[PreviewOrder]
    quota_limit: Decimal
    quota_used: Decimal
    quota_remaining: Decimal
    quota_remaining_after: Decimal
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((o.total for o in self.orders), ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((o.tax_total for o in self.orders), ZERO)

    @property
    def ok(self) -> bool:
        return not self.problems


def order_number() -> str:
    """BP + the Asia/Shanghai date + 6 random digits, e.g. BP20261129042817."""
    day = timezone.localtime(timezone.now(), QUOTA_TZ).strftime("%Y%m%d")
    for _attempt in range(20):
        number = f"BP{day}{secrets.randbelow(10**6):06d}"
        if not Order.objects.filter(number=number).exists():
            return number
    raise DomainError(_("Could not number the order; try again."), code="order_number")


def clean_lines(lines: Sequence[CartLine]) -> list[CartLine]:
    """Validate quantities and merge repeated listings (first position kept)."""
    merged: dict[int, int] = {}
    for line in lines:
        try:
            listing_id = int(line.listing_id)
        except (TypeError, ValueError):
            raise ListingUnavailable() from None
        merged[listing_id] = merged.get(listing_id, 0) + clean_quantity(line.quantity)
    if not merged:
        raise CartEmpty()
    return [CartLine(listing_id=k, quantity=clean_quantity(v)) for k, v in merged.items()]


def route_for(delivery: PickupDelivery | HomeDelivery) -> Route:
    """Where the goods go on release and where the stock is reserved: only counters inside the
    special supervision zone; home delivery leaves from the outbound dock."""
    if isinstance(delivery, PickupDelivery):
        code = (delivery.counter_code or "").strip()
        counter = bonded_selectors.zone_counter(code)
        if counter is None:
            raise InvalidDelivery(field="counter_code")
        storage = bonded_selectors.storage_location_for(counter)
        if storage is None:
            raise InvalidDelivery(field="counter_code")
        return Route(
            "pickup", counter.code, storage.code, ZERO, counter.address_zh or counter.name_zh
        )
    if isinstance(delivery, HomeDelivery):
        consignee = " ".join((delivery.consignee or "").split())
        address = " ".join((delivery.address or "").split())
        if not 2 <= len(consignee) <= 50:
            raise InvalidDelivery(
                _("Enter the consignee's full name (2 to 50 characters)."), field="consignee"
            )
        if not 5 <= len(address) <= 300:
            raise InvalidDelivery(
                _("Enter the full delivery address (street, building, room)."), field="address"
            )
        clean_mobile(delivery.phone)
        return _dock_route(address)
    raise InvalidDelivery()


def _dock_route(address: str) -> Route:
    dock = bonded_selectors.location_by_code(settings.DELIVERY_DOCK_CODE)
    storage = bonded_selectors.storage_location_for(dock) if dock else None
    if dock is None or storage is None:
        raise InvalidDelivery(_("Home delivery is not available at the moment."))
    return Route("delivery", dock.code, storage.code, to_fen(settings.DELIVERY_FREIGHT), address)


def _listings(lines: Sequence[CartLine]) -> dict[int, Listing]:
    found = {x.pk: x for x in visible_listings().filter(pk__in=[line.listing_id for line in lines])}
    missing = [line.listing_id for line in lines if line.listing_id not in found]
    if missing:
        raise ListingUnavailable(extra={"listing_ids": missing})
    return found


def _group(lines: Sequence[CartLine], listings: dict[int, Listing]) -> dict[str, list[CartLine]]:
    """A customs order names one e-commerce enterprise: one order per merchant."""
    groups: dict[str, list[CartLine]] = defaultdict(list)
    for line in lines:
        groups[listings[line.listing_id].merchant.code].append(line)
    return dict(groups)


def _tax_lines(lines: Sequence[CartLine], listings: dict[int, Listing]) -> list[TaxLineInput]:
    return [
        TaxLineInput(
            unit_price=listings[line.listing_id].price,  # never a posted price
            quantity=line.quantity,
            rates=listing_rates(listings[line.listing_id]),
            key=str(line.listing_id),
        )
        for line in lines
    ]


def _used_reader(extra: Decimal) -> Callable[..., Decimal]:
    def reader(*, shopper, on=None) -> Decimal:
        return annual_quota_taken(shopper=shopper, on=on) + extra

    return reader


def checkout_preview(
    *,
    shopper,
    lines: Sequence[CartLine],
    delivery: PickupDelivery | HomeDelivery | None = None,
    mode: str | None = None,
) -> CheckoutPreview:
    """Per line and per order: value, tax, total; the quota room before and after. Problems
    (over a limit, short of stock) are listed with their message rather than raised.

    `mode="delivery"` without a delivery prices home delivery (freight, the dock's stock) while
    the shopper is still typing the address: checkout's totals follow the choice at once."""
    lines = clean_lines(lines)
    listings = _listings(lines)
    if delivery is not None:
        route = route_for(delivery)
    elif mode == "delivery":
        route = _dock_route("")
    else:
        route = None
    storage_codes = [route.storage_code] if route else None
    free = bonded_selectors.available_by_item(
        item_ids=[x.item_id for x in listings.values()], location_codes=storage_codes
    )
    used = annual_quota_taken(shopper=shopper) if shopper else ZERO
    problems: list[str] = []
    orders: list[PreviewOrder] = []
    extra = ZERO
    for code, group in _group(lines, listings).items():
        tax_lines = _tax_lines(group, listings)
        freight = route.freight if route else ZERO
        assessment = None
        try:
            if shopper is not None:
                assessment = order_assess(
                    shopper=shopper, lines=tax_lines, freight=freight, used_by=_used_reader(extra)
                )
                tax = assessment.tax
            else:
                from marketplace.services.tax import compute_tax

                tax = compute_tax(lines=tax_lines, freight=freight)
        except DomainError as exc:
            problems.append(exc.message)
            from marketplace.services.tax import compute_tax

            tax = compute_tax(lines=tax_lines, freight=freight)
        extra += tax.dutiable_value
        preview_lines = []
        for line, taxed in zip(group, tax.lines, strict=True):
            listing = listings[line.listing_id]
            available = max(free.get(listing.item_id, 0), 0)
            if line.quantity > available:
                problems.append(
                    OutOfStock(name=listing.name, asked=line.quantity, available=available).message
                )
            preview_lines.append(
                PreviewLine(
                    listing, line.quantity, listing.price, taxed.value, taxed.total, available
                )
            )
        merchant = listings[group[0].listing_id].merchant
        orders.append(
            PreviewOrder(
                merchant_code=code,
                merchant_name=merchant.name,
                lines=preview_lines,
                goods_value=tax.goods_value,
                freight=tax.freight,
                tax_total=tax.total,
                total=tax.dutiable_value + tax.total,
                assessment=assessment,
            )
        )
    from marketplace.services.tax import ANNUAL_LIMIT

    return CheckoutPreview(
        orders=orders,
        quota_limit=ANNUAL_LIMIT,
        quota_used=used,
        quota_remaining=annual_remaining(used),
        quota_remaining_after=annual_remaining(used + extra),
        problems=problems,
    )


def order_place(
    *,
    shopper,
    lines: Sequence[CartLine],
    delivery: PickupDelivery | HomeDelivery,
    channel: str = "web",
    actor: str,
    then: Callable[[list[Order]], None] | None = None,
) -> list[Order]:
    """Place one order per merchant, all in one transaction: any refusal (quota, stock, a
    customs pre-check) leaves nothing written. `then` runs inside that transaction with the
    new orders (the idempotency key is written there: marketplace/services/idempotency.py)."""
    lines = clean_lines(lines)
    route = route_for(delivery)
    for _attempt in range(3):
        # Numbers and the courier's waybills first, outside the transaction (an HTTP call).
        plan = _numbers_and_waybills(shopper=shopper, lines=lines, delivery=delivery, route=route)
        try:
            with transaction.atomic():
                orders = _place(shopper=shopper, lines=lines, delivery=delivery, route=route,
                                channel=channel, actor=actor, plan=plan)  # fmt: skip
                if then:
                    then(orders)
                return orders
        except IntegrityError:
            # Two checkouts drew the same random number at once: draw again.
            logger.warning("order number collision, retrying")
        except CustomsError as refusal:
            # The risk hit customs made for this refusal went with the rollback: keep it.
            order_no, ebc_code = getattr(refusal, "filing", ("", ""))
            customs_services.refusal_record(refusal=refusal, order_no=order_no, ebc_code=ebc_code)
            raise
    raise DomainError(_("Could not place the order; try again."), code="order_place_failed")


@dataclass(frozen=True)
class Waybill:
    """Who carries the order and under which waybill number (plain values)."""

    logistics_code: str
    logistics_no: str
    logistics_name: str = ""  # set: the courier files the waybill under its own code


def _numbers_and_waybills(*, shopper, lines, delivery, route: Route) -> dict[str, tuple]:
    """Per merchant: (order number, Waybill). A delivery order's waybill is the courier's,
    allocated through settings.WAYBILL_ALLOCATOR (dispatch), never made from our number; a
    counter pickup order has no courier: the platform's logistics code and a number of ours,
    filed by the platform as before. A waybill of a checkout that is then refused is given
    back to the courier by dispatch's sweep."""
    if route.mode != "delivery":
        return {}  # numbered inside the transaction, as always
    listings = _listings(lines)
    plan: dict[str, tuple] = {}
    allocate = import_string(settings.WAYBILL_ALLOCATOR)
    for code, group in _group(lines, listings).items():
        number = order_number()
        allocated = allocate(
            order_no=number,
            consignee=" ".join(delivery.consignee.split()),
            phone=clean_mobile(delivery.phone),
            address=route.address,
            district=delivery.district.strip(),
            weight_kg=_gross_weight(group, listings),
        )
        plan[code] = (number, Waybill(allocated.logistics_code, allocated.logistics_no,
                                      allocated.logistics_name))  # fmt: skip
    return plan


def _platform_waybill(number: str) -> tuple[str, Waybill]:
    return number, Waybill(settings.LOGISTICS_COMPANY_CODE, f"YD{number[2:]}")


def _gross_weight(lines, listings: dict) -> Decimal:
    return sum(
        (listings[line.listing_id].item.gross_weight_kg * line.quantity for line in lines),
        Decimal("0"),
    )


def _place(
    *, shopper, lines, delivery, route: Route, channel: str, actor: str, plan: dict[str, tuple]
) -> list[Order]:
    # First, before any read of the quota: the shopper's other checkouts and payments wait.
    shopper_quota_lock(pk=shopper.pk)
    listings = _listings(lines)
    orders: list[Order] = []
    extra = ZERO
    now = timezone.now()
    from django.utils.translation import get_language

    for code, group in _group(lines, listings).items():
        tax_lines = _tax_lines(group, listings)
        assessment = order_assess(
            shopper=shopper, lines=tax_lines, freight=route.freight, used_by=_used_reader(extra)
        )
        tax = assessment.tax
        extra += tax.dutiable_value
        number, waybill = plan.get(code) or _platform_waybill(order_number())
        try:
            bonded_services.stock_reserve(
                reference=number,
                location_code=route.storage_code,
                lines=[
                    bonded_services.StockLine(
                        listings[line.listing_id].item.item_no, line.quantity, gnum
                    )
                    for gnum, line in enumerate(group, start=1)
                ],
                actor=actor,
                savepoint=False,  # any refusal gives the whole placement up
            )
        except InsufficientStock as exc:
            listing = next(x for x in listings.values() if x.item.item_no == exc.item_no)
            raise OutOfStock(name=listing.name, asked=exc.asked, available=exc.available) from None
        if isinstance(delivery, HomeDelivery):
            consignee, phone = " ".join(delivery.consignee.split()), clean_mobile(delivery.phone)
            district = delivery.district.strip()
        else:
            consignee, phone, district = shopper.real_name, shopper.mobile, ""
        merchant = listings[group[0].listing_id].merchant
        order = Order.objects.create(
            number=number,
            shopper=shopper,
            merchant=merchant,
            channel=channel[:16],
            delivery_mode=route.mode,
            counter_code=delivery.counter_code.strip() if route.mode == "pickup" else "",
            destination_code=route.destination_code,
            storage_code=route.storage_code,
            consignee=consignee,
            consignee_phone=phone,
            consignee_address=route.address,
            consignee_district=district,
            logistics_no=waybill.logistics_no,
            goods_value=tax.goods_value,
            freight=tax.freight,
            insurance=tax.insurance,
            tax_total=tax.total,
            created_at=now,
            language=(get_language() or "zh-hans")[:10],
        )
        order_lines = []
        for gnum, (line, taxed) in enumerate(zip(group, tax.lines, strict=True), start=1):
            listing = listings[line.listing_id]
            order_lines.append(
                OrderLine(
                    order=order,
                    gnum=gnum,
                    listing=listing,
                    item_no=listing.item.item_no,
                    barcode=listing.item.barcode,
                    name_zh=listing.item.name_zh,
                    name_en=listing.item.name_en,
                    hs_code=listing.item.hs_code,
                    quantity=line.quantity,
                    unit_price=listing.price,
                    total_price=taxed.value,
                    tax=taxed.total,
                )
            )
        OrderLine.objects.bulk_create(order_lines)
        # The caller shows what it placed (the API's answer): its lines without reading them.
        placed_lines = OrderLine.objects.filter(order=order)
        placed_lines._result_cache, placed_lines._prefetch_done = order_lines, True
        order._prefetched_objects_cache = {"lines": placed_lines}
        OrderEvent.objects.create(
            order=order, from_state="", to_state=Order.State.PLACED, at=now, actor=actor,
            note=f"channel {channel}",
        )  # fmt: skip
        try:
            customs_services.declarations_create_for_order(
                order=order_filing(order, lines=order_lines, listings=listings, waybill=waybill),
                waybill=waybill_filing(
                    order, lines=order_lines, listings=listings, waybill=waybill
                ),
                new_order=True,
            )
        except CustomsError as refusal:
            refusal.filing = (order.number, merchant.code)  # for the hit kept after rollback
            raise
        orders.append(order)
    return orders


def order_filing(
    order: Order, *, lines: Sequence[OrderLine], listings: dict, waybill: Waybill | None = None
) -> OrderFiling:
    shopper = order.shopper
    return OrderFiling(
        order_no=order.number,
        ebp_code=settings.PLATFORM_EBP_CODE,
        ebc_code=order.merchant.code,
        pay_code=settings.PAYMENT_COMPANY_CODE,
        logistics_code=waybill.logistics_code if waybill else settings.LOGISTICS_COMPANY_CODE,
        goods_value=order.goods_value,
        freight=order.freight,
        discount=ZERO,
        tax_total=order.tax_total,
        actural_paid=order.total,
        buyer_reg_no=shopper.user.username,
        buyer_name=shopper.real_name,
        buyer_id_number=shopper.resident_id,
        buyer_telephone=shopper.mobile,
        consignee=order.consignee,
        consignee_telephone=order.consignee_phone,
        consignee_address=order.consignee_address,
        consignee_district=order.consignee_district,
        lines=tuple(
            OrderLineFiling(
                gnum=line.gnum,
                item_no=line.item_no,
                item_name=line.name_zh,
                bar_code=line.barcode,
                unit=listings[line.listing_id].item.unit,
                qty=line.quantity,
                price=line.unit_price,
                total_price=line.total_price,
                country=listings[line.listing_id].item.origin_country,
                hs_code=line.hs_code,
                vat_rate=listings[line.listing_id].tax_category.vat_rate,
                consumption_tax_rate=listings[line.listing_id].tax_category.consumption_rate,
                duty_rate=listings[line.listing_id].tax_category.duty_rate,
            )
            for line in lines
        ),
        delivery_mode=order.delivery_mode,
        destination_code=order.destination_code,
        ordered_at=order.created_at,
        insured_fee=order.insurance,
    )


def waybill_filing(
    order: Order, *, lines: Sequence[OrderLine], listings: dict, waybill: Waybill | None = None
) -> WaybillFiling:
    weight = _gross_weight(lines, listings)
    waybill = waybill or Waybill(settings.LOGISTICS_COMPANY_CODE, order.logistics_no)
    return WaybillFiling(
        logistics_code=waybill.logistics_code,
        logistics_no=order.logistics_no,
        logistics_name=waybill.logistics_name,
        # The courier files its waybill under its own code; without one, the platform does.
        sender_code=waybill.logistics_code if waybill.logistics_name else "",
        sender_name=waybill.logistics_name,
        freight=order.freight,
        weight=weight,
        consignee=order.consignee,
        consignee_address=order.consignee_address,
        consignee_telephone=order.consignee_phone,
        insured_fee=order.insurance,
    )
