"""The walk-in cart is priced on every scan: names, unit prices, line totals, tax and the
total the order will have; an unknown barcode is refused at scan time, by name."""

from decimal import Decimal

import pytest

from marketplace.models import Order
from tests.pickup.test_flow import kiosk_client, walk_in, world_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, settings):
    return world_for(settings)


@pytest.fixture
def desk(world):
    return kiosk_client("C-ZZ1")


def test_cart_prices_the_scanned_units_as_the_order_will_be_priced(desk, world):
    paste = world.paste.item.barcode
    response = desk.post("/api/v1/kiosk/walkin/cart", {"barcodes": [paste, paste]}, format="json")
    assert response.status_code == 200, response.data
    cart = response.data
    [line] = cart["lines"]
    assert (line["barcode"], line["name_zh"], line["quantity"]) == (
        paste,
        world.paste.item.name_zh,
        2,
    )
    assert (line["unit_price"], line["value"]) == ("50.00", "100.00")
    placed = walk_in(desk, world, [paste, paste])
    order = Order.objects.get(number=placed["order_no"])
    assert Decimal(cart["total"]) == order.total and Decimal(cart["tax_total"]) == order.tax_total
    assert Decimal(line["tax"]) == order.tax_total
    assert (
        placed["total"] == f"{order.total:.2f}" and placed["tax_total"] == f"{order.tax_total:.2f}"
    )


def test_an_unknown_barcode_is_refused_when_scanned(desk, world):
    response = desk.post(
        "/api/v1/kiosk/walkin/cart",
        {"barcodes": [world.paste.item.barcode, "2100009999999"]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 404
    assert response.data["code"] == "barcode_unknown"
    assert response.data["extra"] == {"barcode": "2100009999999"}
    assert "条码" in response.data["message"]
