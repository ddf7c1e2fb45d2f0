"""Factories for marketplace tests (and the bonded rows they stand on)."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from bonded.models import Balance, GoodsItem, Location, Warehouse
from config.crypto import keyed_hash
from marketplace.models import (
    Brand,
    Category,
    Listing,
    Merchant,
    MerchantStaff,
    Order,
    Shopper,
    TaxCategory,
)

VALID_IDS = ["11010519491231002X", "440524188001010014", "360426199101010071", "120103198806018241"]
BAD_CHECK_ID = "360426199101010072"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("bondport-demo")


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"41019{n:05d}")
    name = factory.Sequence(lambda n: f"Merchant {n}")
    country = "AU"
    status = Merchant.Status.APPROVED


class MerchantStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MerchantStaff

    user = factory.SubFactory(UserFactory, is_staff=True)
    merchant = factory.SubFactory(MerchantFactory)


class TaxCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxCategory
        django_get_or_create = ["code"]

    code = "ordinary"
    name_zh = "普通商品"
    name_en = "Ordinary goods"
    vat_rate = Decimal("0.13")
    consumption_rate = Decimal("0")
    duty_rate = Decimal("0.10")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"cat-{n}")
    name_zh = factory.Sequence(lambda n: f"类目{n}")
    name_en = factory.Sequence(lambda n: f"Category {n}")


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"brand-{n}")
    name = factory.Sequence(lambda n: f"Brand {n}")


class GoodsItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GoodsItem

    item_no = factory.Sequence(lambda n: f"IT{n:06d}")
    barcode = factory.Sequence(lambda n: f"2100000{n:06d}")  # in-store range: never a demo code
    name_zh = factory.Sequence(lambda n: f"商品{n}")
    name_en = factory.Sequence(lambda n: f"Product {n}")
    hs_code = "1901101000"
    origin_country = "AU"
    owner_code = "4101900000"
    net_weight_kg = Decimal("0.800")
    gross_weight_kg = Decimal("0.900")


class ListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Listing

    merchant = factory.SubFactory(MerchantFactory)
    item = factory.SubFactory(GoodsItemFactory, owner_code=factory.SelfAttribute("..merchant.code"))
    price = Decimal("199.00")
    description_zh = "描述"
    description_en = "Description"
    category = factory.SubFactory(CategoryFactory)
    brand = factory.SubFactory(BrandFactory)
    tax_category = factory.SubFactory(TaxCategoryFactory)
    is_active = True


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ["code"]

    code = "ZZ-BW"
    name = "Zhengzhou bonded warehouse"
    area_code = "4606"
    ems_no = "T4606W000001"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"LOC-{n}")
    kind = Location.Kind.STORAGE
    warehouse = factory.SubFactory(WarehouseFactory)
    name_zh = factory.Sequence(lambda n: f"库位{n}")
    name_en = factory.Sequence(lambda n: f"Location {n}")


class BalanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Balance

    item = factory.SubFactory(GoodsItemFactory)
    location = factory.SubFactory(LocationFactory)
    on_hand = 10
    reserved = 0


class ShopperFactory(factory.django.DjangoModelFactory):
    """A shopper written directly (fast); registration itself is tested through the service."""

    class Meta:
        model = Shopper

    user = factory.SubFactory(UserFactory)
    real_name = "张伟"
    resident_id = factory.Iterator(VALID_IDS)
    resident_id_hash = factory.LazyAttribute(lambda o: keyed_hash(o.resident_id))
    mobile = factory.Sequence(lambda n: f"139{n:08d}")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"BP2026{n:08d}")
    shopper = factory.SubFactory(ShopperFactory)
    state = Order.State.PAID
    goods_value = Decimal("1000.00")


class OrderWorld:
    """A bonded zone (storage, a counter inside the zone, one outside, a dock), the customs
    registry and positive list, two approved merchants with listings in stock, two shoppers."""

    def __init__(self, stock: int = 50) -> None:
        from bonded.services import StockLine, stock_receive
        from tests.customs.factories import MERCHANT, EnterpriseFactory, EntryFactory, registry

        registry()
        EnterpriseFactory(role="merchant", code="4101960002")
        EntryFactory(hs_code="3304990099", description="serum")
        self.warehouse = WarehouseFactory(code="CW", ems_no="T4601W000099", area_code="4601")
        self.storage = LocationFactory(code="CW-A", warehouse=self.warehouse)
        self.counter = LocationFactory(
            code="C-ZZ1", kind="counter", warehouse=self.warehouse, inside_supervision_zone=True,
            address_zh="郑州保税中心体验店 1 号柜台",
        )  # fmt: skip
        self.outside = LocationFactory(
            code="C-OUT", kind="counter", warehouse=self.warehouse, inside_supervision_zone=False
        )
        self.dock = LocationFactory(code="CW-DOCK", kind="dock", warehouse=self.warehouse)
        self.merchant = MerchantFactory(code=MERCHANT, name="Aussie Nature Co.")
        self.merchant2 = MerchantFactory(code="4101960002", name="Rhein Dairy GmbH")
        self.cosmetics = TaxCategoryFactory(
            code="cosmetics", vat_rate=Decimal("0.13"), consumption_rate=Decimal("0.15"),
            duty_rate=Decimal("0.05"),
        )  # fmt: skip
        self.paste = ListingFactory(
            merchant=self.merchant, price=Decimal("50.00"),
            item__hs_code="3306101000", item__item_no="PASTE01",
        )  # fmt: skip
        self.shoes = ListingFactory(
            merchant=self.merchant, price=Decimal("1000.00"),
            item__hs_code="6403990000", item__item_no="SHOE01",
        )  # fmt: skip
        self.milk = ListingFactory(
            merchant=self.merchant2, price=Decimal("300.00"),
            item__hs_code="0402210000", item__item_no="MILK01",
        )  # fmt: skip
        self.serum = ListingFactory(
            merchant=self.merchant, price=Decimal("1000.00"), tax_category=self.cosmetics,
            item__hs_code="3304990099", item__item_no="SERUM01",
        )  # fmt: skip
        stock_receive(
            reference="ENTRY-CW-1",
            location_code=self.storage.code,
            entry_declaration_no="E460100000001",
            lines=[
                StockLine(x.item.item_no, stock)
                for x in (self.paste, self.shoes, self.milk, self.serum)
            ],
            actor="test",
        )
        self.shopper = ShopperFactory(resident_id=VALID_IDS[1], real_name="张三")
        self.other = ShopperFactory(resident_id=VALID_IDS[2], real_name="李四")
