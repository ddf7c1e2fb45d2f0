"""The kiosk in a real browser: sign in with the key, collect with scanner-style input."""

import pytest

from tests.customs.conftest import sandbox, sandbox_process  # noqa: F401
from tests.pickup import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, key: str) -> None:
    page.goto(page.base_url + "/kiosk/")
    page.fill("#id_key", key)
    page.keyboard.press("Enter")
    ready(page)


def ready(page) -> None:
    """The kiosk script has run and focused the code input (where a scanner types)."""
    page.wait_for_function("() => document.activeElement && document.activeElement.name === 'code'")


def test_kiosk_signs_in_and_refuses_a_wrong_code_in_both_languages(page, screenshot):
    _kiosk, key = factories.kiosk("C-ZZ1")
    sign_in(page, key)
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    # the scanner types into whatever has focus: the code input must have it already
    page.keyboard.type("000000")
    page.keyboard.press("Enter")
    page.wait_for_selector("#message.error")
    assert "提货码无效" in page.inner_text("#message")
    screenshot(page, "kiosk-wrong-code-zh")
    page.get_by_role("button", name="English").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    ready(page)
    assert page.locator("html").get_attribute("lang") == "en"
    page.keyboard.type("000001")
    page.keyboard.press("Enter")
    page.wait_for_selector("#message.error")
    assert "not valid" in page.inner_text("#message")
    screenshot(page, "kiosk-wrong-code-en")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_kiosk_collect_flow_with_scanner_input(page, screenshot, released_order, language):
    key, code, barcode, resident_id = released_order
    sign_in(page, key)
    if language == "en":
        page.get_by_role("button", name="English").click()
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        ready(page)
    assert page.locator("html").get_attribute("lang") == language
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-stage=identity]:not([hidden])")
    assert "002X" in page.inner_text("[data-stage=identity]")
    assert resident_id not in page.content()
    screenshot(page, f"kiosk-collect-identity-{language}")
    page.keyboard.type(resident_id[-6:])
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-stage=items]:not([hidden])")
    confirm = page.locator("[data-action=confirm]")
    page.keyboard.type(barcode)
    page.keyboard.press("Enter")
    assert confirm.is_disabled()  # one of two units still missing
    page.keyboard.type("2100009999999")  # not on the order
    page.keyboard.press("Enter")
    page.wait_for_selector(".items tr.extra")
    assert confirm.is_disabled()
    screenshot(page, f"kiosk-collect-extra-item-{language}")
    page.keyboard.press("Escape")  # start over: scan again properly
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-stage=identity]:not([hidden])")
    page.keyboard.type(resident_id[-6:])
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-stage=items]:not([hidden])")
    for _ in range(2):
        page.keyboard.type(barcode)
        page.keyboard.press("Enter")
    assert confirm.is_enabled()
    page.keyboard.press("Enter")  # Enter on the empty scan input confirms
    page.wait_for_selector("[data-stage=receipt]:not([hidden])")
    assert page.locator("#journey li.done").count() == 5
    screenshot(page, f"kiosk-collect-receipt-{language}")
    page.emulate_media(media="print")
    assert page.locator(".modes").is_hidden()
    screenshot(page, f"kiosk-receipt-print-{language}")


def test_kiosk_walk_in_registers_orders_and_watches_release(page, screenshot, settings, request):
    from django.test import Client

    from marketplace.models import Order
    from tests.pickup.test_flow import ID, file_now, pay, release, world_for

    request.getfixturevalue("sandbox")
    world = world_for(settings)
    _kiosk, key = factories.kiosk("C-ZZ1")
    sign_in(page, key)
    page.keyboard.press("F2")
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.name === 'real_name'"
    )
    page.keyboard.type("王芳")
    page.keyboard.press("Tab")
    page.keyboard.type(ID)
    page.keyboard.press("Tab")
    page.keyboard.type("13912345678")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-stage=order]:not([hidden])")
    assert "002X" in page.inner_text("#message") and ID not in page.content()
    for _ in range(2):
        page.keyboard.type(world.paste.item.barcode)
        page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('.cart tbody td:nth-child(3)')?.textContent === '2'"
    )
    assert page.locator(".cart tbody tr").count() == 1  # one line, two units
    page.click("[data-action=place]")
    page.wait_for_selector(".pay-order .qr svg")
    screenshot(page, "kiosk-walkin-pay")
    order = Order.objects.get()
    assert order.counter_code == "C-ZZ1" and order.lines.get().quantity == 2
    file_now()
    pay(Client(), order.number)
    release(order.number)
    page.wait_for_selector(".pay-order.ready")
    assert page.locator(".pay-order .pickup-code").is_visible()
    assert page.locator("#journey li.done").count() == 4  # registration to payment
    screenshot(page, "kiosk-walkin-released")
    page.click("[data-action=collect-now]")  # straight on to step 5 with this order
    page.wait_for_selector("#collect [data-stage=identity]:not([hidden])")
    assert order.number in page.inner_text("#collect [data-stage=identity]")
