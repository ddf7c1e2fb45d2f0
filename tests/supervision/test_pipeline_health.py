"""The pipeline health page: platform staff read the /metrics figures in words, in zh-Hans and
English; merchant staff and anonymous visitors do not."""

import datetime as dt

import pytest
from django.utils import timezone

from customs.models import Declaration
from ops.sweeps import sweep_tally_record
from tests.marketplace.factories import OrderFactory, ShopperFactory
from tests.supervision.factories import merchant_user, merchants, platform_user

pytestmark = pytest.mark.django_db
URL = "/supervision/health/"


def scenario():
    shopper = ShopperFactory()
    late = timezone.now() - dt.timedelta(hours=2)
    OrderFactory(shopper=shopper, state="paid", paid_at=late)
    OrderFactory(shopper=shopper, state="paid", paid_at=late)
    Declaration.objects.create(
        kind="inventory", authority="customs", order_no="BP-H1", ebc_code="4101960001",
        payload={}, fingerprint="x", state="rejected",
    )  # fmt: skip
    sweep_tally_record(task="bonded.tasks.expire_reservations", result=3)


def rows(html: str, heading: str) -> str:
    start = html.index(heading)
    return html[start : html.index("</tr>", start)]


def test_platform_staff_read_the_figures_in_english(client):
    scenario()
    client.force_login(platform_user())
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    row = rows(html, "Paid orders not final after 30 minutes")
    assert '<td class="num">2</td>' in row and "Needs attention" in row
    assert "CEB621 inventory list" in html  # the kind in words, never "inventory" alone
    assert "Free the stock of unpaid orders" in html  # the sweep, not its task name
    assert "bonded.tasks" not in html and "customs_filing" not in html
    assert "Filing with customs and inspection" in html
    assert 'href="/supervision/health/"' in html  # the nav links to it, here and on the dashboard
    assert 'href="/supervision/health/"' in client.get("/supervision/").content.decode()


def test_platform_staff_read_the_figures_in_chinese(client):
    scenario()
    client.force_login(platform_user())
    client.cookies["django_language"] = "zh-hans"
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "流水线健康" in html
    row = rows(html, "支付后超过 30 分钟仍未完结的订单")
    assert '<td class="num">2</td>' in row and "需要处理" in row
    assert "释放未付款订单占用的库存" in html


def test_merchant_staff_do_not_get_the_platform_page(client):
    au, _de = merchants()
    client.force_login(merchant_user(au, "merchant-au"))
    assert client.get(URL).status_code == 404
    assert 'href="/supervision/health/"' not in client.get("/supervision/").content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]
