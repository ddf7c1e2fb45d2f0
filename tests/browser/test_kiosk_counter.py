"""The counter kiosk at its real size (portrait 1080x1920), as an operator works it: a wrong
scan at handover is taken back with one touch (no starting over), the walk-in cart shows
names, unit prices, line totals, tax and the total, an unknown barcode is refused when it is
scanned, "start over" keeps the shopper, the amount stands beside the payment QR, and codes
can be typed on the on-screen keypad."""

import pytest

from tests.customs.conftest import sandbox, sandbox_process  # noqa: F401
from tests.pickup import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def kiosk_page(new_page):
    return new_page(size="kiosk")


def sign_in(page, key: str) -> None:
    page.goto(page.base_url + "/kiosk/")
    page.fill("#id_key", key)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement && document.activeElement.name === 'code'")


def focused_on(page, name: str) -> None:
    page.wait_for_function(
        "n => document.activeElement && document.activeElement.name === n", arg=name
    )


def quantity_is(page, n: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('.cart tbody td:nth-child(3)')?.textContent === n",
        arg=str(n),
    )


def tap(page, keys: str) -> None:
    """Type on the on-screen keypad, as a shopper does with a finger."""
    for key in keys:
        page.click(f".keypad button[data-key='{key}']")


def fills_the_screen(page) -> bool:
    """The app uses the whole portrait screen, edge to edge, without scrolling."""
    return page.evaluate(
        """() => {
          const kiosk = document.getElementById('kiosk').getBoundingClientRect();
          const root = document.documentElement;
          return kiosk.height >= window.innerHeight * 0.9 && kiosk.width >= window.innerWidth * 0.95
            && root.scrollWidth <= window.innerWidth && root.scrollHeight <= window.innerHeight + 2;
        }"""
    )


def test_a_wrong_scan_at_handover_is_removed_without_starting_over(
    kiosk_page, screenshot, released_order
):
    page = kiosk_page
    key, code, barcode, resident_id = released_order
    sign_in(page, key)
    assert fills_the_screen(page) and page.locator(".keypad").is_visible()
    screenshot(page, "kiosk-portrait-code-zh")
    tap(page, code)
    assert page.input_value("[name=code]") == code
    page.click(".keypad button[data-key='enter']")
    page.wait_for_selector("[data-stage=identity]:not([hidden])")
    page.keyboard.type(resident_id[-6:])
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-stage=items]:not([hidden])")
    confirm = page.locator("[data-action=confirm]")
    page.keyboard.type(barcode)
    page.keyboard.press("Enter")
    page.keyboard.type("2100009999999")  # a mis-scan: not on the order
    page.keyboard.press("Enter")
    page.wait_for_selector(".items tr.extra")
    screenshot(page, "kiosk-portrait-mis-scan-zh")
    page.click(".items tr.extra button[data-action=unscan]")
    assert page.locator(".items tr.extra").count() == 0
    assert page.locator("[data-stage=items]").is_visible()  # still here, code and ID kept
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.name === 'barcode'"
    )
    page.keyboard.type(barcode)
    page.keyboard.press("Enter")
    assert confirm.is_enabled()
    confirm.click()
    page.wait_for_selector("[data-stage=receipt]:not([hidden])")
    assert page.locator("#collect [data-stage=receipt] tbody tr").count() == 1
    screenshot(page, "kiosk-portrait-receipt-zh")


def test_walk_in_cart_prices_every_scan_refuses_unknown_barcodes_and_shows_the_amount(
    kiosk_page, screenshot, settings, request
):
    from marketplace.models import Order
    from tests.pickup.test_flow import ID, world_for

    request.getfixturevalue("sandbox")
    world = world_for(settings)
    _kiosk, key = factories.kiosk("C-ZZ1")
    page = kiosk_page
    sign_in(page, key)
    page.keyboard.press("F2")
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.name === 'real_name'"
    )
    page.keyboard.type("王芳")
    page.keyboard.press("Tab")
    page.keyboard.type(ID)
    page.keyboard.press("Tab")
    tap(page, "13912345678")
    assert page.input_value("[name=mobile]") == "13912345678"
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-stage=order]:not([hidden])")
    assert "王芳" in page.inner_text(".shopper-card") and "002X" in page.inner_text(".shopper-card")
    assert ID not in page.content()

    page.keyboard.type("2100009999999")  # no such listing
    page.keyboard.press("Enter")
    page.wait_for_selector("#message.error")
    assert "2100009999999" in page.inner_text("#message")
    assert page.locator(".cart tbody tr").count() == 0
    assert page.locator("[data-action=place]").is_disabled()
    screenshot(page, "kiosk-portrait-walkin-unknown-barcode-zh")

    paste = world.paste
    for _ in range(3):
        page.keyboard.type(paste.item.barcode)
        page.keyboard.press("Enter")
        page.wait_for_function("() => !document.querySelector('.cart tfoot').hidden")
    page.wait_for_function(
        "() => document.querySelector('.cart tbody td:nth-child(3)').textContent === '3'"
    )
    page.click(".cart button[data-action=unshelf]")  # one too many: take one back
    page.wait_for_function(
        "() => document.querySelector('.cart tbody td:nth-child(3)').textContent === '2'"
    )
    row = [page.inner_text(f".cart tbody td:nth-child({n})") for n in (1, 2, 3, 4, 5)]
    assert row[0] == paste.item.name_zh and row[1:4] == ["¥50.00", "2", "¥100.00"]
    tax = page.inner_text(".cart tbody td:nth-child(5)")
    total = page.inner_text("[data-total=total]")
    assert tax.startswith("¥") and float(total[1:]) == pytest.approx(100 + float(tax[1:]))
    screenshot(page, "kiosk-portrait-walkin-cart-zh")

    page.keyboard.press("Escape")  # start over: the cart goes, the shopper stays
    page.wait_for_selector("[data-stage=order]:not([hidden])")
    assert "王芳" in page.inner_text(".shopper-card")
    assert page.locator(".cart tbody tr").count() == 0
    page.keyboard.type(paste.item.barcode)
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.querySelector('.cart tfoot').hidden")
    page.click("[data-action=place]")
    page.wait_for_selector(".pay-order .qr svg")
    order = Order.objects.get()
    assert page.inner_text(".pay-order .amount") == f"¥{order.total:.2f}"
    assert f"¥{order.tax_total:.2f}" in page.inner_text(".pay-order .amount-tax")
    assert "placed" not in page.inner_text(".pay-order")
    assert fills_the_screen(page)
    assert page.locator(".keypad").is_hidden()  # nothing to type while the shopper pays
    screenshot(page, "kiosk-portrait-walkin-pay-zh")
