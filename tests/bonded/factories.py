from decimal import Decimal

import factory

from bonded.models import GoodsItem, Location, Warehouse


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.LazyAttribute(lambda o: f"Bonded warehouse {o.code}")
    area_code = "4601"
    ems_no = factory.LazyAttribute(lambda o: f"T4601W{o.code}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"LOC{n}")
    kind = Location.Kind.STORAGE
    warehouse = factory.SubFactory(WarehouseFactory)
    name_zh = factory.LazyAttribute(lambda o: f"库位 {o.code}")
    name_en = factory.LazyAttribute(lambda o: f"Location {o.code}")


class GoodsItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GoodsItem
        django_get_or_create = ("item_no",)

    item_no = factory.Sequence(lambda n: f"IT{n:06d}")
    barcode = factory.Sequence(lambda n: f"20{n:011d}")  # 20-29: in-store range, never a demo code
    name_zh = factory.Sequence(lambda n: f"商品 {n}")
    name_en = factory.Sequence(lambda n: f"Item {n}")
    hs_code = "0402210000"
    origin_country = "AU"
    owner_code = "4101960001"
    net_weight_kg = Decimal("0.800")
    gross_weight_kg = Decimal("0.950")
