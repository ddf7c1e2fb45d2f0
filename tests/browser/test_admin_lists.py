"""Platform staff's admin screens that issue #16 named (order lists, the stocktake form, the
inspection queue), audited in both languages: no serious/critical axe violation, no codes."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    ("admin-index", "/admin/"),
    ("admin-orders", "/admin/marketplace/order/"),
    ("admin-stocktake-add", "/admin/bonded/stocktake/add/"),
    ("admin-inspection-queue", "/admin/customs/inspectionqueue/"),
]


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_admin_lists_and_the_stocktake_form_pass_the_audit(new_page, screenshot, lang):
    from django.test import Client

    from tests.marketplace.factories import UserFactory

    page = new_page(size="desktop", locale="zh-CN" if lang == "zh-hans" else "en-US")
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page.context.add_cookies([
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": page.base_url},
        {"name": "django_language", "value": lang, "url": page.base_url},
    ])  # fmt: skip
    for name, path in PAGES:
        page.goto(page.base_url + path)
        assert page.locator("html").get_attribute("lang") == lang
        screenshot(page, name)
