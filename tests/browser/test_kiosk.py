"""The kiosk in a real browser: sign in with the key, collect with scanner-style input."""

import pytest

from tests.pickup import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, key: str) -> None:
    page.goto(page.base_url + "/kiosk/")
    page.fill("#id_key", key)
    page.keyboard.press("Enter")
    page.wait_for_selector("#kiosk")


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
    page.wait_for_selector("#kiosk")
    assert page.locator("html").get_attribute("lang") == "en"
    page.keyboard.type("000001")
    page.keyboard.press("Enter")
    page.wait_for_selector("#message.error")
    assert "not valid" in page.inner_text("#message")
    screenshot(page, "kiosk-wrong-code-en")
