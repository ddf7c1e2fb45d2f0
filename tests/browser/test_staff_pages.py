"""Merchant staff in the admin, and the error pages everyone can land on, in a real browser:
what a merchant sees (their orders, stock, returns, settlement; another merchant's order is
not there) and that every error page (403, 404, 429, 500, an expired form) is the site's own
styled page in the reader's language."""

import pytest

from tests.marketplace.support import pay, place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


DEMO_PASSWORD = "bondport-demo"


def sign_in(page, username: str, password: str = DEMO_PASSWORD, lang: str = "zh-hans") -> None:
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.base_url}])
    page.goto(page.base_url + "/admin/login/")
    page.audit(f"admin-login-{lang}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def styled(page) -> bool:
    """The site's style sheet is applied: the panel is a white card with a border radius."""
    return page.evaluate(
        """() => {
          const panel = document.querySelector('.error-panel');
          if (!panel) return false;
          const s = getComputedStyle(panel);
          return s.backgroundColor === 'rgb(255, 255, 255)' && parseFloat(s.borderRadius) > 0
            && !!document.querySelector('link[href*="css/site.css"]');
        }"""
    )


@pytest.fixture
def merchants(world):
    from demo.marketplace_seed import seed_merchant_staff
    from tests.marketplace.factories import MerchantFactory

    MerchantFactory(code="4101960003", name="Sakura Beauty KK")
    seed_merchant_staff()
    return world


def test_merchant_staff_work_with_their_orders_stock_returns_and_settlement(
    page, screenshot, merchants
):
    from django.test import Client

    world = merchants
    mine, theirs = place(world, (world.serum, 1), (world.milk, 1))
    client = Client()
    pay(client, mine)
    pay(client, theirs)
    mine.refresh_from_db()
    sign_in(page, "merchant-au")
    sidebar = page.inner_text("#content-main")
    for words in ("订单", "库存", "退货", "结算", "退款", "在售商品"):
        assert words in sidebar, words
    screenshot(page, "admin-merchant-index-zh")

    page.goto(page.base_url + "/admin/marketplace/order/")
    rows = page.inner_text("#result_list")
    assert mine.number in rows and theirs.number not in rows
    screenshot(page, "admin-merchant-orders-zh")

    page.goto(page.base_url + "/admin/marketplace/merchantstock/")
    stock = page.inner_text("#result_list")
    assert "SERUM01" in stock and "MILK01" not in stock
    screenshot(page, "admin-merchant-stock-zh")

    page.goto(page.base_url + "/admin/marketplace/settlement/")
    settlement = page.inner_text("#result_list")
    assert f"¥{mine.total:.2f}" in settlement and f"¥{mine.tax_total:.2f}" in settlement
    assert "代扣税款" in settlement and "Rhein" not in settlement
    screenshot(page, "admin-merchant-settlement-zh")

    response = page.goto(page.base_url + f"/admin/marketplace/order/{theirs.pk}/change/")
    assert response.status == 404
    assert page.inner_text("h1") == "未找到" and styled(page)
    screenshot(page, "error-404-admin-zh")

    response = page.goto(page.base_url + "/admin/bonded/move/")  # not a merchant's screen
    assert response.status == 403
    assert page.inner_text("h1") == "无权访问" and styled(page)
    assert "平台管理员" in page.inner_text(".error-panel")
    screenshot(page, "error-403-zh")


@pytest.mark.parametrize(
    ("lang", "titles"),
    [
        ("zh-hans", {404: "未找到", 403: "表单已过期", 429: "请求过于频繁", 500: "出错了"}),
        ("en", {404: "Not found", 403: "The form expired", 429: "Too many requests",
                500: "Something went wrong"}),
    ],
)  # fmt: skip
def test_every_error_page_is_styled_and_in_the_readers_language(
    page, screenshot, settings, lang, titles
):
    settings.ROOT_URLCONF = "tests.browser.error_urls"
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.base_url}])

    response = page.goto(page.base_url + "/no-such-page/")
    assert response.status == 404 and page.inner_text("h1") == titles[404] and styled(page)
    screenshot(page, f"error-404-{lang}")

    page.goto(page.base_url + "/login/")
    page.evaluate(
        "document.querySelectorAll('[name=csrfmiddlewaretoken]').forEach(e => e.remove())"
    )
    page.context.clear_cookies(name="csrftoken")
    page.fill("#id_username", "someone")
    page.fill("#id_password", "something")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text("h1") == titles[403] and styled(page)
    assert "CSRF" not in page.inner_text("body")  # the reason is for the log, not for people
    screenshot(page, f"error-csrf-{lang}")

    response = page.goto(page.base_url + "/test-limited/")
    assert response.status == 429 and page.inner_text("h1") == titles[429] and styled(page)
    assert "2" in page.inner_text(".error-panel")  # how long to wait, in minutes
    screenshot(page, f"error-429-{lang}")

    response = page.goto(page.base_url + "/test-boom/")
    assert response.status == 500 and page.inner_text("h1") == titles[500] and styled(page)
    assert "RuntimeError" not in page.content()
    screenshot(page, f"error-500-{lang}")
