"""The whole O2O journey in a real browser against a live server, a real Celery worker and the
customs sandbox process: a shopper registers, finds an item, orders it for counter pickup, pays
on the sandbox page and watches the steps complete; the kiosk scans the code, checks identity
and hands over; the shopper's page shows delivered. And staff release an order held for
inspection from the admin. Every page is saved in Chinese and in English."""

import re

import pytest

from marketplace.models import Order
from tests.browser.conftest import at_sizes
from tests.customs.support import SandboxProcess
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
QUEUES = "default,customs_filing,customs_receipts"
RESIDENT_ID = "11010519491231002X"
PASSWORD = "a-Long-demo-pass-42"


@pytest.fixture
def live_stack(world, live_server, celery_worker_process, tmp_path, settings):
    """Sandbox authority pushing receipts to the live server, and a worker filing with it."""
    authority = SandboxProcess(
        tmp_path / "authority.sqlite3", callback_url=f"{live_server.url}/api/v1/customs/receipts"
    ).start()
    settings.CUSTOMS_GATEWAY_URL = authority.customs_url
    settings.CUSTOMS_CIQ_URL = authority.ciq_url
    settings.PAYMENT_SANDBOX_URL = f"{live_server.url}/sandbox/pay"
    settings.PAYMENT_NOTIFY_URL = f"{live_server.url}/payments/notify/"
    celery_worker_process(
        QUEUES,
        extra_env={
            "CUSTOMS_GATEWAY_URL": authority.customs_url,
            "CUSTOMS_CIQ_URL": authority.ciq_url,
            "CUSTOMS_RETRY_BASE_SECONDS": "0.3",
            "PAYMENT_PROVIDER_SECRET": settings.PAYMENT_PROVIDER_SECRET,
        },
    ).start()
    yield authority
    authority.stop()


def both_languages(page, screenshot, name: str) -> None:
    """Audit and save the page at phone and desktop size in Chinese, switch to English, again,
    switch back."""
    at_sizes(page, screenshot, f"{name}-zh")
    page.get_by_role("button", name="English").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    at_sizes(page, screenshot, f"{name}-en")
    page.get_by_role("button", name="中文").click()
    page.wait_for_function("() => document.documentElement.lang === 'zh-hans'")


def admin_both_languages(page, screenshot, name: str) -> None:
    """The admin has no language button: the language cookie does the same."""
    for language, suffix in (("zh-hans", "zh"), ("en", "en"), ("zh-hans", "")):
        page.context.add_cookies([{"name": "django_language", "value": language,
                                   "url": page.base_url}])  # fmt: skip
        page.reload()
        if suffix:
            screenshot(page, f"{name}-{suffix}")


def csp_violations(page) -> list[str]:
    """The page's CSP reports (not those of the audit's own axe run: see conftest.Audit)."""
    messages = []

    def collect(message) -> None:
        audit = getattr(page, "audit", None)
        if "Content Security" in message.text and not getattr(audit, "auditing", False):
            messages.append(message.text)

    page.on("console", collect)
    return messages


def test_shopper_orders_pays_and_collects_at_the_counter(
    page, new_page, live_server, live_stack, world, screenshot
):
    violations = csp_violations(page)
    base = page.base_url
    # 1. registration
    page.goto(base + "/register/")
    both_languages(page, screenshot, "journey-01-register")
    page.fill("#id_real_name", "王小明")
    page.fill("#id_resident_id", RESIDENT_ID)
    page.fill("#id_mobile", "13900000077")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/account/")
    assert RESIDENT_ID not in page.content() and "002X" in page.content()
    both_languages(page, screenshot, "journey-02-account")
    # 2. finding the item, ordering it for counter pickup
    page.goto(base + "/products/?q=" + world.paste.item.name_zh)
    both_languages(page, screenshot, "journey-03-search")
    page.goto(base + f"/products/{world.paste.pk}/")
    both_languages(page, screenshot, "journey-04-product")
    page.click("main form.inline button[type=submit]")
    page.wait_for_load_state()
    page.goto(base + "/cart/")
    both_languages(page, screenshot, "journey-05-cart")
    page.goto(base + "/checkout/")
    both_languages(page, screenshot, "journey-06-checkout")
    page.click("#place-order")  # one page: the totals and the action are there at once
    page.wait_for_url(re.compile(r".*/orders/BP\d+/$"))
    number = re.search(r"/orders/(BP\d+)/", page.url).group(1)
    # 3. filing: the worker files, the authority's receipt comes back; the page updates itself
    page.wait_for_selector('#timeline li[data-step="filing"].done', timeout=60_000)
    both_languages(page, screenshot, "journey-07-order-filed")
    # 4. payment on the sandbox provider's page
    page.click("form[action$='/pay/'] button")
    page.wait_for_url("**/sandbox/pay/**")
    screenshot(page, "journey-08-sandbox-pay-zh")
    page.click("#pay")
    page.wait_for_selector("#paid")
    screenshot(page, "journey-09-sandbox-paid-zh")
    page.goto(base + f"/orders/{number}/")
    wait_until(lambda: Order.objects.get(number=number).state == "released", timeout=90,
               interval=0.25)  # fmt: skip
    page.wait_for_selector('#timeline li[data-step="payment"].done', timeout=30_000)
    page.reload()
    page.wait_for_selector(".pickup-code")
    code = re.sub(r"\D", "", page.inner_text(".pickup-code"))
    assert len(code) == 6
    assert page.locator("#timeline li.done").count() == 4
    both_languages(page, screenshot, "journey-10-order-released")
    # 5. delivery at the counter: the kiosk scans the code, checks identity, hands over
    from pickup.services import kiosk_create

    _kiosk, key = kiosk_create(name="front desk", counter_code="C-ZZ1", actor="test")
    kiosk = new_page(size="kiosk", label="kiosk")  # the counter's portrait screen
    kiosk_violations = csp_violations(kiosk)
    kiosk.goto(base + "/kiosk/")
    kiosk.fill("#id_key", key)
    kiosk.keyboard.press("Enter")
    kiosk.wait_for_function(
        "() => document.activeElement && document.activeElement.name === 'code'"
    )
    screenshot(kiosk, "journey-11-kiosk-zh")
    kiosk.keyboard.type(code)
    kiosk.keyboard.press("Enter")
    kiosk.wait_for_selector("[data-stage=identity]:not([hidden])")
    screenshot(kiosk, "journey-12-kiosk-identity-zh")
    kiosk.keyboard.type(RESIDENT_ID[-6:])
    kiosk.keyboard.press("Enter")
    kiosk.wait_for_selector("[data-stage=items]:not([hidden])")
    kiosk.keyboard.type(world.paste.item.barcode)
    kiosk.keyboard.press("Enter")
    screenshot(kiosk, "journey-13-kiosk-items-zh")
    kiosk.keyboard.press("Enter")  # confirm
    kiosk.wait_for_selector("[data-stage=receipt]:not([hidden])")
    assert kiosk.locator("#journey li.done").count() == 5
    screenshot(kiosk, "journey-14-kiosk-handed-over-zh")
    kiosk.get_by_role("button", name="English").click()
    kiosk.wait_for_function("() => document.documentElement.lang === 'en'")
    screenshot(kiosk, "journey-15-kiosk-en")
    # the shopper's page shows delivered, all five steps
    page.reload()
    assert Order.objects.get(number=number).state == "delivered"
    page.wait_for_selector("#timeline li.done >> nth=4")
    assert page.locator("#timeline li.done").count() == 5
    assert "已交付" in page.inner_text("#order-state")
    both_languages(page, screenshot, "journey-16-order-delivered")
    assert violations == [] and kiosk_violations == []


def test_staff_release_an_order_held_for_inspection_from_the_admin(
    page, live_stack, world, screenshot
):
    """A customs officer (not platform staff) releases from the inspection queue: a
    confirmation with a reason, the decision goes to the authority, and the order is released
    when the authority's receipt comes back (pushed to the live server)."""
    from django.contrib.auth.models import Permission, User
    from django.test import Client

    from customs.models import Declaration, InspectionDecision, Receipt
    from customs.roles import officer_group
    from tests.marketplace.support import pay, place

    violations = csp_violations(page)
    live_stack.control(inspection_rate=1.0)  # the authority holds every inventory list
    [order] = place(world, (world.paste, 1))
    pay(Client(), order)
    wait_until(lambda: Order.objects.get(pk=order.pk).state == "held", timeout=90, interval=0.25)
    officer = User.objects.create_user("officer", "officer@example.com", PASSWORD, is_staff=True)
    officer.groups.add(officer_group())
    officer.user_permissions.add(Permission.objects.get(codename="view_order"))
    page.goto(page.base_url + "/admin/login/")
    screenshot(page, "admin-login")
    page.fill("#id_username", "officer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    screenshot(page, "admin-index-officer")  # an officer's admin: the customs section
    page.goto(page.base_url + "/admin/customs/inspectionqueue/")
    admin_both_languages(page, screenshot, "admin-inspection-queue")
    page.locator("input.action-select").first.check()
    page.select_option("select[name=action]", "release")
    page.locator("button[name=index]").click()
    # The confirmation: the list named, a reason asked for.
    page.wait_for_selector("#decision-lists")
    assert order.number in page.inner_text("#decision-lists")
    admin_both_languages(page, screenshot, "admin-inspection-confirm")
    page.fill("textarea[name=reason]", "seal intact, goods as listed")
    page.locator("input[name=confirm_decision]").click()
    page.wait_for_selector(".messagelist")
    screenshot(page, "admin-inspection-released-zh")
    decision = InspectionDecision.objects.get(declaration__order_no=order.number)
    assert decision.officer == officer and decision.reason == "seal intact, goods as listed"
    # The order is released by the authority's receipt, not by the click.
    inventory = Declaration.objects.get(order_no=order.number, kind="inventory")
    receipt = wait_until(
        lambda: Receipt.objects.filter(decl_guid=inventory.guid, return_status=800).first(),
        timeout=60,
        interval=0.25,
    )
    assert receipt.source == "push" and "seal intact" in receipt.return_info
    wait_until(lambda: Order.objects.get(pk=order.pk).state == "released", timeout=60,
               interval=0.25)  # fmt: skip
    decision.refresh_from_db()
    assert decision.state == "acknowledged"
    page.goto(page.base_url + f"/admin/marketplace/order/{order.pk}/change/")
    admin_both_languages(page, screenshot, "admin-order-released-after-inspection")
    assert violations == []
