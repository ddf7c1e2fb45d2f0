"""Customs test data: registry, positive list, a small bonded zone, and consistent filings."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date
from decimal import Decimal

import factory
from django.utils import timezone

from bonded.services import StockLine, stock_receive, stock_reserve
from customs.filings import OrderFiling, OrderLineFiling, PaymentFiling, WaybillFiling
from customs.models import Enterprise, PositiveListEdition, PositiveListEntry, RiskRule
from customs.tax import order_tax
from tests.bonded.factories import GoodsItemFactory, LocationFactory, WarehouseFactory

PLATFORM, MERCHANT, PAY, LOGISTICS, AGENT = (
    "4101260001",
    "4101960001",
    "4101990001",
    "4101980001",
    "4101970001",
)
BUYER_ID = "440524188001010014"
OTHER_ID = "360426199101010071"
_seq = itertools.count(1)


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise
        django_get_or_create = ("role", "code")

    code = factory.Sequence(lambda n: f"41019{n:05d}")
    role = "merchant"
    name = factory.LazyAttribute(lambda o: f"Enterprise {o.code}")


class EditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PositiveListEdition
        django_get_or_create = ("name",)

    name = "2026 edition"
    valid_from = date(2020, 1, 1)


class EntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PositiveListEntry
        django_get_or_create = ("edition", "hs_code")

    edition = factory.SubFactory(EditionFactory)
    hs_code = "3306101000"
    description = "toothpaste"


def registry() -> None:
    for role, code in [
        ("platform", PLATFORM),
        ("merchant", MERCHANT),
        ("payment", PAY),
        ("logistics", LOGISTICS),
        ("agent", AGENT),
    ]:
        EnterpriseFactory(role=role, code=code)
    EntryFactory(hs_code="0402210000", description="milk powder", quarantine=True)
    EntryFactory(hs_code="3306101000", description="toothpaste")
    EntryFactory(hs_code="6403990000", description="shoes")


class Zone:
    """A warehouse with storage, a counter inside the zone and a dock; items in stock."""

    def __init__(self, stock: int = 1000) -> None:
        self.warehouse = WarehouseFactory(code="CW", ems_no="T4601W000099", area_code="4601")
        self.storage = LocationFactory(code="CW-A", warehouse=self.warehouse)
        self.counter = LocationFactory(
            code="CW-C1", kind="counter", warehouse=self.warehouse, inside_supervision_zone=True
        )
        self.dock = LocationFactory(code="CW-DOCK", kind="dock", warehouse=self.warehouse)
        self.milk = GoodsItemFactory(item_no="MILK01", hs_code="0402210000")
        self.paste = GoodsItemFactory(item_no="PASTE01", hs_code="3306101000", barcode="9300001")
        self.shoes = GoodsItemFactory(item_no="SHOE01", hs_code="6403990000", barcode="9300002")
        stock_receive(
            reference="ENTRY-CW-1",
            location_code=self.storage.code,
            entry_declaration_no="E460100000001",
            lines=[StockLine(item.item_no, stock) for item in (self.milk, self.paste, self.shoes)],
            actor="test",
        )


def line(item, *, gnum: int = 1, qty: int = 1, price: str = "100.00", **kw) -> OrderLineFiling:
    price_d = Decimal(price)
    return OrderLineFiling(
        gnum=gnum,
        item_no=item.item_no,
        item_name=item.name_zh,
        bar_code=item.barcode,
        unit=item.unit,
        qty=qty,
        price=price_d,
        total_price=price_d * qty,
        country=item.origin_country,
        hs_code=item.hs_code,
        **kw,
    )


def order_filing(zone: Zone, *, lines=None, reserve: bool = True, **overrides) -> OrderFiling:
    lines = tuple(lines or [line(zone.paste, qty=2, price="50.00")])
    order_no = overrides.pop("order_no", None) or f"BP{timezone.now():%Y%m%d}{next(_seq):06d}"
    freight = Decimal(overrides.pop("freight", "10.00"))
    goods = sum((x.total_price for x in lines), Decimal("0"))
    tax = order_tax(
        lines=[
            {"total_price": x.total_price, "qty": x.qty, "vat_rate": x.vat_rate,
             "consumption_tax_rate": x.consumption_tax_rate}
            for x in lines
        ],
        freight=freight,
    )  # fmt: skip
    filing = OrderFiling(
        order_no=order_no,
        ebp_code=PLATFORM,
        ebc_code=MERCHANT,
        pay_code=PAY,
        logistics_code=LOGISTICS,
        goods_value=goods,
        freight=freight,
        discount=Decimal("0.00"),
        tax_total=tax,
        actural_paid=goods + freight + tax,
        buyer_reg_no="shopper-1",
        buyer_name="张三",
        buyer_id_number=BUYER_ID,
        buyer_telephone="13800000000",
        consignee="张三",
        consignee_telephone="13800000000",
        consignee_address="河南省郑州市保税中心 1 号",
        lines=lines,
        delivery_mode="pickup",
        destination_code=zone.counter.code,
        ordered_at=timezone.now(),
    )
    filing = replace(filing, **overrides)
    if reserve:
        stock_reserve(
            reference=filing.order_no,
            location_code=zone.storage.code,
            lines=[StockLine(x.item_no, x.qty, x.gnum) for x in filing.lines],
        )
    return filing


def waybill_filing(order: OrderFiling, **overrides) -> WaybillFiling:
    filing = WaybillFiling(
        logistics_code=order.logistics_code,
        logistics_no=f"ZY{order.order_no}",
        freight=order.freight,
        weight=Decimal("1.200"),
        consignee=order.consignee,
        consignee_address=order.consignee_address,
        consignee_telephone=order.consignee_telephone,
    )
    return replace(filing, **overrides)


def payment_filing(order: OrderFiling, **overrides) -> PaymentFiling:
    filing = PaymentFiling(
        order_no=order.order_no,
        ebp_code=order.ebp_code,
        pay_code=order.pay_code,
        pay_transaction_id=f"PAY{order.order_no}",
        payer_name=order.buyer_name,
        payer_id_number=order.buyer_id_number,
        payer_telephone=order.buyer_telephone,
        amount_paid=order.actural_paid,
        paid_at=timezone.now(),
    )
    return replace(filing, **overrides)


def tenpay_record(order: OrderFiling, payment: PaymentFiling):
    """The CEB411 as WeChat Pay's payment company (Tenpay, 4403169D3W) holds this payment."""
    from marketplace.standins.customs_filing import PaymentRecord

    return PaymentRecord(
        pay_code="4403169D3W", pay_name="财付通支付科技有限公司",
        pay_transaction_id=payment.pay_transaction_id, order_no=order.order_no,
        ebp_code=order.ebp_code, ebp_name="Bondport", payer_name=payment.payer_name,
        payer_id_number=payment.payer_id_number, telephone="13800000000",
        amount_paid=payment.amount_paid, pay_time=payment.paid_at,
    )  # fmt: skip


def rule_set(code: str, **fields) -> RiskRule:
    rule = RiskRule.objects.get(code=code)
    for key, value in fields.items():
        setattr(rule, key, value)
    rule.save()
    return rule
