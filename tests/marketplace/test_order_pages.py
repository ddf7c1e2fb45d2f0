"""Cart, checkout and order pages: session cart kept on login, tampered prices ignored,
someone else's order is a 404 with no data, live status JSON, panels that fail are skipped."""

import pytest
from django.urls import reverse

from marketplace.models import CartItem, Order
from tests.marketplace.support import place

pytestmark = pytest.mark.django_db


def login(client, shopper):
    client.force_login(shopper.user, backend="marketplace.auth.PhoneOrUsernameBackend")


def test_anonymous_cart_is_merged_into_the_shoppers_cart_on_login(world, client):
    client.post("/cart/", {"listing": world.paste.pk, "quantity": "2"})
    CartItem.objects.create(shopper=world.shopper, listing=world.paste, quantity=1)
    world.shopper.user.set_password("bondport-demo-pass")
    world.shopper.user.save()
    response = client.post(
        "/login/", {"username": world.shopper.user.username, "password": "bondport-demo-pass"}
    )
    assert response.status_code == 302
    assert CartItem.objects.get(shopper=world.shopper, listing=world.paste).quantity == 3
    assert client.session.get("cart") == {}


def test_cart_page_shows_tax_per_line_and_refuses_bad_quantities(world, client):
    login(client, world.shopper)
    client.post("/cart/", {"listing": world.serum.pk, "quantity": "1"})
    page = client.get("/cart/").content.decode()
    assert "¥230.59" in page
    response = client.post(
        "/cart/", {"listing": world.paste.pk, "quantity": "0"}, follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert [str(m) for m in response.context["messages"]] == ["Choose a quantity between 1 and 99."]
    assert not CartItem.objects.filter(listing=world.paste).exists()


def test_checkout_ignores_a_tampered_price_and_places_one_order_per_merchant(world, client):
    login(client, world.shopper)
    client.post("/cart/", {"listing": world.paste.pk, "quantity": "2", "price": "0.01"})
    client.post("/cart/", {"listing": world.milk.pk, "quantity": "1", "unit_price": "1"})
    preview = client.get("/checkout/", HTTP_ACCEPT_LANGUAGE="en")
    assert preview.status_code == 200
    shown = preview.content.decode()
    assert "¥100.00" in shown and "¥300.00" in shown and "¥436.40" in shown  # the real prices
    assert "¥0.01" not in shown
    response = client.post(
        "/checkout/",
        {"mode": "pickup", "counter_code": "C-ZZ1", "confirm": "1", "price": "0.01"},
    )
    assert response.status_code == 302
    orders = Order.objects.filter(shopper=world.shopper)
    assert orders.count() == 2
    assert {str(line.unit_price) for o in orders for line in o.lines.all()} == {"50.00", "300.00"}
    assert not CartItem.objects.filter(shopper=world.shopper).exists()


def test_checkout_refuses_a_counter_outside_the_zone(world, client):
    login(client, world.shopper)
    client.post("/cart/", {"listing": world.paste.pk, "quantity": "1"})
    response = client.post(
        "/checkout/", {"mode": "pickup", "counter_code": "C-OUT", "confirm": "1"},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert response.status_code == 200
    assert "C-OUT is not one of the available choices." in response.content.decode()
    assert Order.objects.count() == 0


def test_someone_elses_order_is_404_with_no_data(world, client):
    [order] = place(world, (world.paste, 1))
    login(client, world.other)
    for url in (
        f"/orders/{order.number}/",
        f"/orders/{order.number}/status.json",
    ):
        response = client.get(url)
        assert response.status_code == 404
        body = response.content.decode()
        # (the 404 page's language switch echoes the path; nothing of the order is shown)
        assert world.paste.name not in body and "54.55" not in body
        assert world.shopper.real_name not in body and '"state"' not in body
    for url in (f"/orders/{order.number}/pay/", f"/orders/{order.number}/cancel/"):
        assert client.post(url).status_code == 404
    assert Order.objects.get(pk=order.pk).state == "placed"


def test_order_page_shows_the_five_steps_and_polls_status(world, client):
    [order] = place(world, (world.paste, 1))
    login(client, world.shopper)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert 'data-step="registration"' in page and 'data-step="delivery"' in page
    assert "js/order.js" in page
    status = client.get(f"/orders/{order.number}/status.json").json()
    assert status["state"] == "placed"
    assert [s["key"] for s in status["steps"]][:2] == ["registration", "ordering"]
    assert status["steps"][1]["at"] is not None and status["steps"][3]["at"] is None


def test_a_missing_panel_module_does_not_break_the_order_page(world, client, settings):
    settings.ORDER_PAGE_PANELS = [
        "no.such.module.panel",
        "tests.marketplace.test_order_pages.panel",
    ]
    [order] = place(world, (world.paste, 1))
    login(client, world.shopper)
    page = client.get(f"/orders/{order.number}/")
    assert page.status_code == 200
    assert '<div id="test-panel">' + order.number in page.content.decode()


def panel(order, request) -> str:
    return f'<div id="test-panel">{order.number}</div>'


def test_pay_redirects_to_the_sandbox_and_my_orders_lists_the_order(world, client):
    [order] = place(world, (world.paste, 1))
    login(client, world.shopper)
    response = client.post(f"/orders/{order.number}/pay/")
    assert response.status_code == 302 and "/sandbox/pay/" in response["Location"]
    assert order.number in client.get(reverse("marketplace:orders")).content.decode()


def test_account_page_quota_counts_paid_orders(world, client):
    from decimal import Decimal

    from django.utils import timezone

    from tests.marketplace.factories import OrderFactory

    OrderFactory(shopper=world.shopper, goods_value=Decimal("1000.00"), paid_at=timezone.now())
    login(client, world.shopper)
    page = client.get("/account/").content.decode()
    assert "¥25,000.00" in page
