"""Marketplace demo data: merchants, tax categories, catalog, merchant staff, listings, shoppers.

Every step looks up by a natural key before creating, so seeding twice creates nothing.

Tax categories (statutory rates; cross-border retail pays 70% of VAT and consumption tax and no
duty within the limits; the duty rate applies only to a single item above 5,000):
| code         | VAT | consumption | duty (over limit) | for (HS)                               |
| ordinary     | 13% | 0           | 10%               | all not below (infant formula 1901...) |
| agricultural |  9% | 0           | 10%               | chapters 01-14: milk, honey, nuts      |
| cosmetics    | 13% | 15%         |  5%               | 3303, 3304: perfume, high-end skincare |
| wine         | 13% | 10%         | 14%               | 2204: wine                             |
Demo simplification: all 3303/3304 goods count as high-end cosmetics.
"""

import hashlib
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test.utils import override_settings

from bonded.models import GoodsItem
from demo.roles import DEMO_PASSWORD, MERCHANT_STAFF, PLATFORM_STAFF
from marketplace.models import (
    Brand,
    Category,
    Listing,
    Merchant,
    MerchantStaff,
    Shopper,
    TaxCategory,
)
from marketplace.roles import MERCHANT_STAFF_PERMISSIONS, PLATFORM_STAFF_PERMISSIONS
from marketplace.selectors.shoppers import shopper_by_resident_id
from marketplace.services.checkout import order_place
from marketplace.services.shoppers import shopper_register

D = Decimal

MERCHANTS = [
    # code, country, name, status, brand, staff username
    ("4101960001", "AU", "Aussie Nature Co.", "approved", "Aussie Nature", "merchant-au"),
    ("4101960002", "DE", "Rhein Dairy GmbH", "approved", "Rhein Dairy", "merchant-de"),
    ("4101960003", "JP", "Sakura Beauty KK", "approved", "Sakura Beauty", "merchant-jp"),
    ("4101960004", "US", "Liberty Vitamins Inc.", "registered", "Liberty Vitamins", None),
]

TAX_CATEGORIES = [
    ("ordinary", "普通商品", "Ordinary goods", D("0.13"), D("0"), D("0.10")),
    ("agricultural", "农产品及初级食品", "Agricultural food", D("0.09"), D("0"), D("0.10")),
    ("cosmetics", "高档化妆品", "High-end cosmetics", D("0.13"), D("0.15"), D("0.05")),
    ("wine", "葡萄酒", "Wine", D("0.13"), D("0.10"), D("0.14")),
]

CATEGORIES = [
    ("baby", "母婴", "Mother and baby", 10),
    ("dairy", "乳制品", "Dairy", 20),
    ("food", "食品饮料", "Food and drink", 30),
    ("beauty", "美妆个护", "Beauty and care", 40),
    ("health", "营养保健", "Health and nutrition", 50),
    ("other", "其他", "Other", 90),
]

SHOPPERS = [
    ("shopper1", "王芳", "11010519491231002X", "13800000001"),
    ("shopper2", "李伟", "440524188001010014", "13800000002"),
    ("shopper3", "张敏", "360426199101010071", "13800000003"),
    ("shopper4", "刘洋", "120103198806018241", "13800000004"),
]


def tax_code_for(hs_code: str) -> str:
    if hs_code[:4] in {"3303", "3304"}:
        return "cosmetics"
    if hs_code[:4] == "2204":
        return "wine"
    if hs_code[:2] <= "14":
        return "agricultural"
    return "ordinary"


def category_for(hs_code: str) -> str:
    if hs_code[:4] == "1901":
        return "baby"
    if hs_code[:2] == "04" and hs_code[:4] != "0409":
        return "dairy"
    if hs_code[:2] == "33" or hs_code[:4] in {"3401", "9603"}:
        return "beauty"
    if hs_code[:4] in {"2106", "2936", "3004", "1302"}:
        return "health"
    if hs_code[:2] <= "24":
        return "food"
    return "other"


def price_for(item_no: str) -> Decimal:
    """Deterministic demo price from the item number: 19.90 to 998.90."""
    h = int(hashlib.sha256(item_no.encode()).hexdigest(), 16)
    return D(19 + h % 980) + D("0.90")


def seed_merchants() -> int:
    created = 0
    for code, country, name, status, _brand, _user in MERCHANTS:
        _m, new = Merchant.objects.get_or_create(
            code=code, defaults={"country": country, "name": name, "status": status}
        )
        created += new
    return created


def seed_tax_categories() -> int:
    created = 0
    for code, zh, en, vat, consumption, duty in TAX_CATEGORIES:
        _t, new = TaxCategory.objects.get_or_create(
            code=code,
            defaults={
                "name_zh": zh,
                "name_en": en,
                "vat_rate": vat,
                "consumption_rate": consumption,
                "duty_rate": duty,
            },
        )
        created += new
    return created


def seed_catalog() -> int:
    created = 0
    for slug, zh, en, position in CATEGORIES:
        _c, new = Category.objects.get_or_create(
            slug=slug, defaults={"name_zh": zh, "name_en": en, "position": position}
        )
        created += new
    for _code, _country, _name, _status, brand, _user in MERCHANTS:
        _b, new = Brand.objects.get_or_create(
            slug=brand.lower().replace(" ", "-"), defaults={"name": brand}
        )
        created += new
    return created


def _grant(group: Group, codenames: list[str]) -> None:
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="marketplace", codename__in=codenames)
    )


def seed_merchant_staff() -> int:
    """One staff login per approved merchant (see demo.roles), scoped to its merchant."""
    User = get_user_model()
    created = 0
    merchant_group, new = Group.objects.get_or_create(name=MERCHANT_STAFF)
    created += new
    _grant(merchant_group, MERCHANT_STAFF_PERMISSIONS)
    platform_group, new = Group.objects.get_or_create(name=PLATFORM_STAFF)
    created += new
    _grant(platform_group, PLATFORM_STAFF_PERMISSIONS)
    for code, *_rest, username in MERCHANTS:
        if not username:
            continue
        user = User.objects.filter(username=username).first()
        if user is None:  # seed_staff creates it from DEMO_USERS; be safe if run alone
            user = User.objects.create_user(username, password=DEMO_PASSWORD, is_staff=True)
            user.groups.add(merchant_group)
            created += 1
        _link, new = MerchantStaff.objects.get_or_create(
            user=user, defaults={"merchant": Merchant.objects.get(code=code)}
        )
        created += new
    return created


def seed_listings() -> int:
    """A listing for every bonded goods item whose owner is a known merchant."""
    merchants = {m.code: m for m in Merchant.objects.all()}
    brands = {
        code: Brand.objects.get(slug=brand.lower().replace(" ", "-"))
        for code, _c, _n, _s, brand, _u in MERCHANTS
    }
    categories = {c.slug: c for c in Category.objects.all()}
    taxes = {t.code: t for t in TaxCategory.objects.all()}
    listed = set(Listing.objects.values_list("item_id", flat=True))
    new = []
    for item in GoodsItem.objects.exclude(pk__in=listed).order_by("pk"):
        merchant = merchants.get(item.owner_code)
        if merchant is None or item.owner_code not in brands:
            continue
        new.append(
            Listing(
                item=item,
                merchant=merchant,
                price=price_for(item.item_no),
                description_zh=(
                    f"{item.name_zh}。原产地 {item.origin_country}，"
                    "已存放于保税仓，海关清关后可柜台自提或国内配送。"
                ),
                description_en=(
                    f"{item.name_en}. Made in {item.origin_country}; already in the bonded "
                    "warehouse, cleared by customs for counter pickup or domestic delivery."
                ),
                category=categories[category_for(item.hs_code)],
                brand=brands[item.owner_code],
                tax_category=taxes[tax_code_for(item.hs_code)],
            )
        )
    Listing.objects.bulk_create(new)
    return len(new)


def seed_shoppers() -> int:
    created = 0
    for username, name, resident_id, mobile in SHOPPERS:
        if shopper_by_resident_id(resident_id):
            continue
        shopper_register(
            real_name=name,
            resident_id=resident_id,
            mobile=mobile,
            password=DEMO_PASSWORD,
            username=username,
        )
        created += 2  # user + shopper
    return created


def _authority_answers(order_no: str, status: int, kinds: tuple[str, ...]) -> None:
    """Stand in for the authority (as customs tests do): record and apply a receipt with
    `status` for each of the order's declarations of these kinds."""
    import uuid

    from customs.models import Declaration
    from customs.services import receipt_apply, receipts_record

    for decl in Declaration.objects.filter(order_no=order_no, kind__in=kinds).order_by("pk"):
        ids = receipts_record(
            receipts=[{
                "guid": str(uuid.uuid4()), "declGuid": decl.guid, "orderNo": order_no,
                "returnStatus": status, "returnInfo": "demo seed",
                "invtNo": f"4601{order_no[2:]}" if decl.kind == "inventory" else "",
                "authority": decl.authority,
            }],
            source="seed",
        )  # fmt: skip
        for receipt_id in ids:
            receipt_apply(receipt_id=receipt_id)


def _pay(order) -> None:
    # The demo's orders are history paid on the sandbox provider, whatever provider this shop
    # runs: `make run` seeds before any provider stand-in is up (PAYMENT_PROVIDER=wechatpay
    # PAYMENT_STANDIN=1 make run failed here on a fresh machine).
    with override_settings(PAYMENT_PROVIDER=settings.PAYMENT_PROVIDER_NAMES["sandbox"]):
        _pay_on_the_sandbox(order)


def _pay_on_the_sandbox(order) -> None:
    from marketplace.models import SandboxCharge
    from marketplace.payment_provider import sandbox_pay
    from marketplace.services import payment_start
    from marketplace.services.payments import Notification, payment_notified

    payment = payment_start(order=order)
    sandbox_pay(token=payment.token)
    charge = SandboxCharge.objects.get(token=payment.token)
    payment_notified(
        notification=Notification(
            token=charge.token, order_no=charge.merchant_order_no,
            transaction_id=charge.transaction_id, amount=charge.amount_paid,
            payer_name=charge.payer_name, payer_id_number=charge.payer_id_number,
            paid_at=charge.paid_at,
        )
    )  # fmt: skip


# (shopper username, listing position, quantity, the state to bring the order to)
DEMO_ORDERS = [
    ("shopper1", 0, 1, "placed"),
    ("shopper1", 1, 2, "paid"),
    ("shopper1", 2, 1, "held"),
    ("shopper2", 3, 1, "released"),
    ("shopper2", 4, 1, "delivered"),
    ("shopper2", 5, 1, "cancelled"),
    ("shopper3", 6, 1, "expired"),
    ("shopper3", 7, 1, "rejected"),
    ("shopper3", 8, 1, "returned"),
]


def seed_orders() -> int:
    """A few orders in every state, made through the services (checkout, payment, the
    clearance listener, handover); the authority's receipts are recorded as customs tests do.
    Skipped when demo orders exist already."""
    from bonded import selectors as bonded_selectors
    from customs import selectors as customs_selectors
    from marketplace.models import Order
    from marketplace.selectors.catalog import availability_for, visible_listings
    from marketplace.services import CartLine, PickupDelivery, order_cancel, order_deliver
    from marketplace.services.clearance import order_sync_clearance
    from marketplace.services.orders import order_expire
    from marketplace.services.returns import order_return_request

    if Order.objects.filter(channel="seed").exists():
        return 0
    counter = bonded_selectors.pickup_counters(inside_zone_only=True).first()
    candidates = [x for x in visible_listings().order_by("pk")[:200] if x.price < 1500]
    stock = availability_for(candidates)
    listings = [x for x in candidates if stock.get(x.pk, 0) >= 5]
    if counter is None or len(listings) < len(DEMO_ORDERS):
        return 0
    created = 0
    for username, position, quantity, target in DEMO_ORDERS:
        shopper = Shopper.objects.get(user__username=username)
        [order] = order_place(
            shopper=shopper, lines=[CartLine(listings[position].pk, quantity)],
            delivery=PickupDelivery(counter_code=counter.code), channel="seed", actor="seed",
        )  # fmt: skip
        created += 1
        no = order.number
        if target == "expired":
            order_expire(order_no=no)
            continue
        if target == "cancelled":
            order_cancel(order=order, actor=username, reason="changed my mind")
            continue
        _authority_answers(no, 120, ("order", "waybill"))
        if target == "placed":
            continue
        if target == "rejected":
            _pay(order)
            _authority_answers(no, 100, ("payment",))
            order_sync_clearance(order_no=no)
            continue
        _pay(order)
        if target == "paid":
            continue
        _authority_answers(no, 120, ("payment",))  # all three accepted: inventory declared
        if target == "held":
            _authority_answers(no, 500, ("inventory",))
            order_sync_clearance(order_no=no)
            continue
        _authority_answers(no, 800, ("inventory",))
        view = customs_selectors.order_clearance(no)
        order_sync_clearance(order_no=no)
        if target == "delivered" and view.goods_released:
            order_deliver(order_no=no, actor="seed-counter")
        if target == "returned":
            order_return_request(order=order, actor=username, reason="unopened")
            _authority_answers(no, 399, ("return",))
            # The warehouse scans the goods in (/warehouse/returns/): only then back into bond.
            from customs import services as customs_services

            order.refresh_from_db()
            customs_services.return_scan_in(
                return_no=order.return_no,
                barcodes=[
                    bonded_selectors.item_by_no(line.item_no).barcode
                    for line in order.lines.all()
                    for _unit in range(line.quantity)
                ],
                actor="seed-warehouse",
            )
            order_sync_clearance(order_no=no)
    return created


STEPS = [
    ("merchants", seed_merchants),
    ("tax categories", seed_tax_categories),
    ("catalog", seed_catalog),
    ("merchant staff", seed_merchant_staff),
    ("listings", seed_listings),
    ("shoppers", seed_shoppers),
    ("orders", seed_orders),
]
