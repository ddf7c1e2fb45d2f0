import pytest
from django.contrib.auth.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_storefront_opens_in_chinese_and_switches_to_english(page, screenshot):
    page.goto(page.base_url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    screenshot(page, "storefront-home-zh")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    screenshot(page, "storefront-home-en")


def test_staff_sign_in_to_admin(page, screenshot):
    User.objects.create_superuser("boss", "boss@example.com", "a-long-test-password")
    page.goto(page.base_url + "/admin/login/")
    screenshot(page, "admin-login")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    assert page.locator("#site-name").inner_text() == "Bondport"
    screenshot(page, "admin-index")


def test_kiosk_shows_the_five_steps(page, screenshot):
    page.goto(page.base_url + "/kiosk/")
    assert page.locator(".steps li").count() == 5
    screenshot(page, "kiosk-home")
