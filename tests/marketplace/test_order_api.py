"""The orders API: cart, preview, place, list/detail with timeline, payment, cancel, return;
errors as {"code", "message", "extra"}; someone else's order is a 404 with no data."""

import pytest
from rest_framework.test import APIClient

from marketplace.models import Order
from tests.marketplace.support import place

pytestmark = pytest.mark.django_db
PICKUP = {"mode": "pickup", "counter_code": "C-ZZ1"}


@pytest.fixture
def api(world):
    client = APIClient()
    client.force_authenticate(world.shopper.user)
    return client


def test_cart_add_get_remove(api, world):
    r = api.post(
        "/api/v1/cart/items/", {"listing_id": world.serum.pk, "quantity": 1}, format="json"
    )
    assert r.status_code == 200
    assert r.json()["preview"]["orders"][0]["lines"][0]["tax"] == "230.59"
    assert api.get("/api/v1/cart/").json()["lines"] == [
        {"listing_id": world.serum.pk, "quantity": 1}
    ]
    r = api.delete(f"/api/v1/cart/items/{world.serum.pk}/")
    assert r.json()["lines"] == [] and r.json()["preview"] is None


def test_bad_quantity_is_a_coded_error(api, world):
    r = api.post(
        "/api/v1/cart/items/", {"listing_id": world.paste.pk, "quantity": 0}, format="json"
    )
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_quantity" and r.json()["message"]


def test_preview_then_place_from_the_cart(api, world):
    api.post("/api/v1/cart/items/", {"listing_id": world.paste.pk, "quantity": 2}, format="json")
    api.post("/api/v1/cart/items/", {"listing_id": world.milk.pk, "quantity": 1}, format="json")
    preview = api.post("/api/v1/checkout/preview/", {"delivery": PICKUP}, format="json").json()
    assert preview["ok"] and len(preview["orders"]) == 2
    r = api.post("/api/v1/orders/place/", {"delivery": PICKUP}, format="json")
    assert r.status_code == 201
    orders = r.json()
    assert len(orders) == 2 and all(o["state"] == "placed" for o in orders)
    assert orders[0]["timeline"][0]["key"] == "registration"
    assert api.get("/api/v1/cart/").json()["lines"] == []
    assert len(api.get("/api/v1/orders/").json()) == 2


def test_over_stock_is_a_409_and_nothing_is_written(api, world):
    lines = [{"listing_id": world.paste.pk, "quantity": 51}]
    r = api.post("/api/v1/orders/place/", {"delivery": PICKUP, "lines": lines}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "insufficient_stock"
    assert Order.objects.count() == 0


def test_payment_start_status_and_cancel(api, world):
    [order] = place(world, (world.paste, 1))
    r = api.post(f"/api/v1/orders/{order.number}/payment/")
    assert r.status_code == 201 and "/sandbox/pay/" in r.json()["pay_url"]
    status = api.get(f"/api/v1/orders/{order.number}/payment/status/").json()
    assert status["state"] == "pending"
    r = api.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "oops"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    again = api.post(f"/api/v1/orders/{order.number}/payment/")
    assert again.status_code == 409 and again.json()["code"] == "payment_not_possible"


def test_return_of_an_unreleased_order_is_refused(api, world):
    [order] = place(world, (world.paste, 1))
    r = api.post(f"/api/v1/orders/{order.number}/return/", {}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "return_not_allowed"


def test_someone_elses_order_is_404_everywhere(world):
    [order] = place(world, (world.paste, 1))
    other = APIClient()
    other.force_authenticate(world.other.user)
    for method, url in [
        ("get", f"/api/v1/orders/{order.number}/"),
        ("post", f"/api/v1/orders/{order.number}/payment/"),
        ("get", f"/api/v1/orders/{order.number}/payment/status/"),
        ("post", f"/api/v1/orders/{order.number}/cancel/"),
        ("post", f"/api/v1/orders/{order.number}/return/"),
    ]:
        r = getattr(other, method)(url, {}, format="json")
        assert r.status_code == 404, url
        assert r.json()["code"] == "order_not_found"
        assert order.number not in r.content.decode()
    assert other.get("/api/v1/orders/").json() == []
    assert Order.objects.get(pk=order.pk).state == "placed"
