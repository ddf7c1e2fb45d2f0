"""The marketplace part of seed_demo: listings for whatever bonded items exist, idempotent."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from demo.marketplace_seed import price_for
from marketplace.models import Listing, Merchant, MerchantStaff, Shopper
from tests.marketplace.factories import GoodsItemFactory

pytestmark = pytest.mark.django_db


def test_seed_lists_every_item_of_a_known_merchant_at_a_stable_price():
    au = GoodsItemFactory(owner_code="4101960001", hs_code="1901101000")
    jp = GoodsItemFactory(owner_code="4101960003", hs_code="3304990099")
    stranger = GoodsItemFactory(owner_code="9999999999")
    call_command("seed_demo")
    call_command("seed_demo")
    listings = {x.item_id: x for x in Listing.objects.select_related("merchant", "tax_category")}
    assert {au.pk, jp.pk} <= set(listings)  # the demo's own 222 items are listed too
    assert stranger.pk not in listings
    assert {x.merchant.code for x in listings.values()} <= {f"41019600{n:02d}" for n in range(1, 5)}
    assert listings[au.pk].merchant.code == "4101960001"
    assert listings[au.pk].tax_category.code == "ordinary"
    assert listings[jp.pk].tax_category.code == "cosmetics"
    assert listings[au.pk].price == price_for(au.item_no)


def test_seed_creates_merchants_staff_links_and_shoppers():
    call_command("seed_demo")
    assert Merchant.objects.get(code="4101960004").status == Merchant.Status.REGISTERED
    assert Merchant.objects.filter(status="approved").count() == 3
    link = MerchantStaff.objects.select_related("merchant").get(user__username="merchant-de")
    assert link.merchant.code == "4101960002"
    assert Shopper.objects.count() == 4
    shopper = authenticate(username="13800000003", password="bondport-demo")
    assert shopper.username == "shopper3"
    assert shopper.shopper.masked_id.endswith("0071")


def test_seed_makes_orders_in_every_state_through_the_services_once():
    from marketplace.models import Order

    call_command("seed_demo")
    states = set(Order.objects.filter(channel="seed").values_list("state", flat=True))
    assert states == {"placed", "paid", "held", "released", "delivered", "cancelled", "expired",
                      "rejected", "returned"}  # fmt: skip
    count = Order.objects.count()
    call_command("seed_demo")
    assert Order.objects.count() == count
    delivered = Order.objects.get(channel="seed", state="delivered")
    assert [e.to_state for e in delivered.events.all()] == [
        "placed",
        "paid",
        "released",
        "delivered",
    ]
