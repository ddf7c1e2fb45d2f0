"""The warehouse scanning page in a real browser, driven as a scanner drives it: type the code
and Enter into whatever has focus. A wrong scan stops the order; Enter on the focused fix button
resumes; weigh, dispatch; zh-Hans by default."""

import pytest

from tests.customs.conftest import sandbox, sandbox_process  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def released(settings):
    from django.test import Client

    from tests.dispatch.support import operator, released_delivery_order
    from tests.marketplace.factories import OrderWorld

    settings.DELIVERY_DOCK_CODE = "CW-DOCK"
    settings.PAYMENT_PROVIDER_SECRET = "test-only-payment-provider-secret"
    settings.COURIER_SANDBOX_DELIVERY_SECONDS = 3600
    world = OrderWorld()
    order = released_delivery_order(world, Client(), (world.paste, 2))
    operator("picker")
    return world, order


def submit(page) -> None:
    """Enter, as the scanner sends after a code, and wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def focused(page, selector: str) -> None:
    page.wait_for_function(
        "s => document.activeElement === document.querySelector(s)", arg=selector
    )


def test_operator_scans_fixes_a_wrong_item_packs_and_dispatches(
    page, screenshot, settings, request
):
    from dispatch.models import Shipment
    from marketplace.models import Order

    request.getfixturevalue("sandbox")
    world, order = released(settings)
    page.goto(page.base_url + "/login/?next=/warehouse/")
    screenshot(page, "warehouse-login")
    page.fill("#id_username", "picker")
    page.fill("#id_password", "bondport-demo")
    page.keyboard.press("Enter")
    page.wait_for_selector("#new-wave")
    assert "今日波次" in page.inner_text("h1")
    screenshot(page, "warehouse-home-zh")
    focused(page, "#new-wave")
    submit(page)  # new wave
    page.wait_for_selector("#next")
    focused(page, "#barcode")
    assert "CW-A" in page.inner_text("#next .where")
    screenshot(page, "warehouse-next-pick-zh")
    page.keyboard.type(world.milk.item.barcode)  # the wrong item
    submit(page)
    page.wait_for_selector("#stop")
    assert page.locator("#barcode").count() == 0
    focused(page, "#fix-primary")
    screenshot(page, "warehouse-wrong-item-stop-zh")
    submit(page)  # put back: continue
    for _ in range(2):
        focused(page, "#barcode")
        page.keyboard.type(world.paste.item.barcode)
        submit(page)
    page.wait_for_selector("#wave-done")
    page.goto(page.base_url + f"/warehouse/shipments/{order.number}/")
    focused(page, "#weight")
    page.keyboard.type("1.80")
    submit(page)
    page.wait_for_selector("#dispatch")
    assert page.locator("#pack-form").count() == 0  # packed: no pack controls left
    assert page.locator("#print-label").is_visible()
    screenshot(page, "warehouse-packed-zh")
    waybill = Shipment.objects.get(order_no=order.number).logistics_no
    page.goto(page.base_url + page.get_attribute("#print-label", "href"))
    assert page.locator(".label .barcode svg rect").count() > 20  # Code 128 bars
    assert page.inner_text("#label-waybill") == waybill
    screenshot(page, "warehouse-label-zh")
    page.emulate_media(media="print")
    assert page.locator(".no-print").is_hidden()
    screenshot(page, "warehouse-label-print-zh")
    page.emulate_media(media="screen")
    page.goto(page.base_url + f"/warehouse/shipments/{order.number}/")
    focused(page, "#dispatch")
    submit(page)
    page.wait_for_selector("#left")
    screenshot(page, "warehouse-dispatched-zh")
    assert Shipment.objects.get(order_no=order.number).state == "dispatched"
    assert Order.objects.get(number=order.number).state == "dispatched"
