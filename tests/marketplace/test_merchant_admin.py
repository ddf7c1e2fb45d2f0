"""Merchant staff, set up as the demo seeds them (the Merchant staff group), see and act on
their own orders, stock, returns and settlement figures, and nothing of another merchant's."""

from decimal import Decimal

import pytest
from django.urls import reverse

from marketplace.models import Order, Refund
from marketplace.services.orders import order_cancel
from marketplace.services.payments import refund_execute
from tests.marketplace.factories import MerchantFactory
from tests.marketplace.support import pay, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant_au(world, client):
    """The demo's merchant-au login (Aussie Nature, world.merchant), seeded by the demo seed."""
    from demo.marketplace_seed import seed_merchant_staff

    MerchantFactory(code="4101960003", name="Sakura Beauty KK")
    seed_merchant_staff()
    client.cookies["django_language"] = "zh-hans"
    client.login(username="merchant-au", password="bondport-demo")
    return client


def body(response) -> str:
    return response.content.decode()


def test_merchant_staff_index_offers_orders_stock_returns_and_settlement(merchant_au):
    index = body(merchant_au.get(reverse("admin:index")))
    for url_name in ("order", "refund", "returnrequest", "merchantstock", "settlement",
                     "listing", "merchant"):  # fmt: skip
        assert reverse(f"admin:marketplace_{url_name}_changelist") in index, url_name
    for words in ("订单", "退款", "退货", "库存", "结算"):
        assert words in index, words


def test_merchant_staff_see_and_cancel_only_their_own_orders(merchant_au, world, client):
    mine, theirs = place(world, (world.paste, 1), (world.milk, 1))
    changelist = merchant_au.get(reverse("admin:marketplace_order_changelist"))
    assert changelist.status_code == 200
    assert [o.number for o in changelist.context["cl"].queryset] == [mine.number]
    assert theirs.number not in body(changelist)

    other = merchant_au.get(reverse("admin:marketplace_order_change", args=[theirs.pk]))
    assert other.status_code == 404
    assert "css/site.css" in body(other) and "未找到" in body(other)

    merchant_au.post(
        reverse("admin:marketplace_order_changelist"),
        {"action": "cancel_orders", "_selected_action": [mine.pk, theirs.pk]},
    )
    assert Order.objects.get(pk=mine.pk).state == "cancelled"
    assert Order.objects.get(pk=theirs.pk).state == "placed"  # not in their queryset


def test_merchant_staff_see_only_stock_of_goods_they_own(merchant_au, world):
    page = merchant_au.get(reverse("admin:marketplace_merchantstock_changelist"))
    assert page.status_code == 200
    items = sorted(row.item.item_no for row in page.context["cl"].queryset)
    assert items == ["PASTE01", "SERUM01", "SHOE01"]  # not Rhein Dairy's MILK01
    assert "MILK01" not in body(page)


def test_merchant_staff_see_only_their_own_returns(merchant_au, world):
    mine, theirs = place(world, (world.paste, 1), (world.milk, 1))
    Order.objects.filter(pk=mine.pk).update(return_no="RT-MINE")
    Order.objects.filter(pk=theirs.pk).update(return_no="RT-THEIRS")
    page = merchant_au.get(reverse("admin:marketplace_returnrequest_changelist"))
    assert page.status_code == 200
    assert "RT-MINE" in body(page) and "RT-THEIRS" not in body(page)
    other = merchant_au.get(reverse("admin:marketplace_returnrequest_change", args=[theirs.pk]))
    assert other.status_code == 404


def test_settlement_shows_sold_tax_withheld_and_refunds_to_the_fen(merchant_au, world, client):
    kept, refunded = place(world, (world.serum, 1)), place(world, (world.paste, 2))
    [kept], [refunded] = kept, refunded
    [theirs] = place(world, (world.milk, 1))
    for order in (kept, refunded, theirs):
        pay(client, order)
    order_cancel(order=refunded, actor="shopper", reason="changed my mind")
    refund_execute(refund_id=Refund.objects.get(payment__order=refunded).pk)
    kept.refresh_from_db()
    refunded.refresh_from_db()

    page = merchant_au.get(reverse("admin:marketplace_settlement_changelist"))
    assert page.status_code == 200
    [row] = page.context["cl"].queryset
    sold = kept.total + refunded.total
    assert (row.orders_paid, row.sold, row.tax_withheld, row.refunded) == (
        2, sold, kept.tax_total, refunded.total,
    )  # fmt: skip
    assert kept.tax_total > Decimal("0")
    net = sold - kept.tax_total - refunded.total
    assert net == kept.goods_value + kept.freight + kept.insurance
    html = body(page)
    for amount in (sold, kept.tax_total, refunded.total, net):
        assert f"¥{amount:.2f}" in html, amount
    assert "Rhein" not in html
    for header in ("销售额", "代扣税款", "已退款", "应付商户"):
        assert header in html, header
