"""Ex-post rules over the declaration history: thresholds are data, hits are stored once."""

from decimal import Decimal

import pytest

from customs import services
from customs.models import Declaration, RiskHit
from customs.services.ex_post import ex_post_rules_run
from tests.customs.factories import (
    OTHER_ID,
    line,
    order_filing,
    rule_set,
    waybill_filing,
)

pytestmark = pytest.mark.django_db


def _file(zone, **kw):
    order = order_filing(zone, reserve=False, **kw)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    return order


def test_one_id_buying_unusually_often_is_hit_once(zone):
    rule_set("frequent_buyer", params={"days": 7, "max_orders": 2})
    for _ in range(3):
        _file(zone)
    assert ex_post_rules_run(codes=["frequent_buyer"]) == 1
    ex_post_rules_run(codes=["frequent_buyer"])
    assert RiskHit.objects.filter(rule_code="frequent_buyer").count() == 1


def test_many_ids_sharing_a_phone_or_address(zone):
    rule_set("shared_phone", params={"days": 30, "max_ids": 1})
    _file(zone)
    _file(zone, buyer_id_number=OTHER_ID, buyer_name="张三")
    ex_post_rules_run(codes=["shared_phone", "shared_address"])
    hit = RiskHit.objects.get(rule_code="shared_phone")
    assert "2 resident IDs" in hit.reason and OTHER_ID not in hit.subject


def test_price_far_under_the_reference_is_hit(zone):
    for _ in range(3):
        _file(zone)  # 50.00 a unit
    cheap = _file(zone, lines=[line(zone.paste, qty=2, price="10.00")])
    ex_post_rules_run(codes=["under_priced"])
    hit = RiskHit.objects.get(rule_code="under_priced")
    assert hit.order_no == cheap.order_no and "10.00" in hit.reason


def test_delivery_order_without_freight_and_repeated_rejections(zone):
    order = _file(zone, delivery_mode="delivery", destination_code=zone.dock.code,
                  freight="0.00")  # fmt: skip
    rule_set("merchant_rejections", params={"days": 7, "max_rejections": 0})
    Declaration.objects.filter(order_no=order.order_no, kind="order").update(state="rejected")
    rule_set("under_priced", enabled=False)
    assert ex_post_rules_run() >= 2
    assert RiskHit.objects.get(rule_code="missing_freight").order_no == order.order_no
    assert RiskHit.objects.filter(rule_code="merchant_rejections", ebc_code="4101960001").exists()
    assert not RiskHit.objects.filter(rule_code="under_priced").exists()
    assert Decimal("0") == Decimal(Declaration.objects.get(kind="order").payload["freight"])
