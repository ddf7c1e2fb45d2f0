"""The pipeline health page in a real browser, in Chinese and English, on a desktop and a
phone: figures in words (audited: axe, no internal codes, CSP), reached from the dashboard nav."""

import datetime as dt

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-test-password-for-platform"


def scenario():
    from config.tasks import worker_heartbeat
    from customs.models import Declaration
    from ops.sweeps import sweep_tally_record
    from tests.marketplace.factories import OrderFactory, ShopperFactory
    from tests.supervision.factories import platform_user

    user = platform_user("platform-health")
    user.set_password(PASSWORD)
    user.save()
    shopper = ShopperFactory()
    late = timezone.now() - dt.timedelta(hours=2)
    for _ in range(2):
        OrderFactory(shopper=shopper, state="paid", paid_at=late)
    OrderFactory(shopper=shopper, state="released", paid_at=late)
    for n, (state, kind, authority) in enumerate(
        [("rejected", "inventory", "customs"), ("pending", "order", "ciq"),
         ("sent", "payment", "customs")]
    ):  # fmt: skip
        Declaration.objects.create(
            kind=kind, authority=authority, order_no=f"BP-B{n}", ebc_code="4101960001",
            payload={}, fingerprint="x", state=state,
            created_at=timezone.now() - dt.timedelta(minutes=15),
        )  # fmt: skip
    sweep_tally_record(task="bonded.tasks.expire_reservations", result=3)
    sweep_tally_record(task="customs.tasks.declarations_sweep", result={"receipts": 2, "due": 1})
    worker_heartbeat()


def sign_in(page, lang: str, then: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.base_url}])
    page.goto(page.base_url + f"/admin/login/?next={then}")
    page.audit(f"login-{lang}")
    page.fill("#id_username", "platform-health")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{then}")


def test_platform_staff_read_the_pipeline_in_words(new_page):
    scenario()
    for lang, size in [("zh-hans", "desktop"), ("en", "desktop"), ("zh-hans", "phone")]:
        page = new_page(
            size=size, locale="zh-CN" if lang == "zh-hans" else "en-US", label=f"{lang}-{size}"
        )
        if lang == "zh-hans":  # from the dashboard's nav
            sign_in(page, lang, "/supervision/")
            page.audit(f"dashboard-{lang}")
            page.get_by_role("link", name="流水线健康").click()
            page.wait_for_url("**/supervision/health/")
        else:
            sign_in(page, lang, "/supervision/health/")
            assert page.get_by_role("link", name="Pipeline health").count() == 1
        page.audit(f"pipeline-health-{lang}")
        checks = page.locator("#checks").inner_text()
        if lang == "en":
            row = page.locator("#checks tr", has_text="Paid orders not final after 30 minutes")
            assert "2" in row.inner_text() and "Needs attention" in row.inner_text()
            declarations = page.locator("#declarations").inner_text()
            assert "CEB621 inventory list" in declarations
            assert "inspection and quarantine" in declarations
            sweeps = page.locator("#sweeps").inner_text()
            assert "Free the stock of unpaid orders" in sweeps
            assert "Customs: catch lost filings and receipts" in sweeps
        else:
            row = page.locator("#checks tr", has_text="支付后超过 30 分钟仍未完结的订单")
            assert "2" in row.inner_text() and "需要处理" in row.inner_text()
            assert "后台任务进程最近一次心跳" in checks
            assert "释放未付款订单占用的库存" in page.locator("#sweeps").inner_text()
