"""Steps 1-2 at the counter: register a walk-in shopper, order by scanning shelf barcodes."""

import pytest

from marketplace.models import Shopper

pytestmark = pytest.mark.django_db
REGISTER, ORDER = "/api/v1/kiosk/walkin/shoppers", "/api/v1/kiosk/walkin/orders"


def test_walk_in_registration_without_password_shows_only_the_masked_id(api):
    body = {"real_name": "王芳", "resident_id": "11010519491231002X", "mobile": "13912345678"}
    response = api.post(REGISTER, body)
    assert response.status_code == 201, response.data
    assert response.data == {"real_name": "王芳", "masked_id": "**************002X"}
    shopper = Shopper.objects.get(mobile="13912345678")
    assert not shopper.user.has_usable_password()
    again = api.post(REGISTER, body)
    assert again.status_code == 409 and again.data["code"] == "resident_id_taken"
    assert "11010519491231002X" not in str(again.data)


def test_registration_needs_a_kiosk(client):
    body = {"real_name": "王芳", "resident_id": "11010519491231002X", "mobile": "13912345678"}
    assert client.post(REGISTER, body).status_code == 401
    assert not Shopper.objects.exists()


def test_ordering_for_an_unregistered_id_is_refused(api):
    response = api.post(ORDER, {"resident_id": "440524188001010014", "barcodes": ["1"]})
    assert response.status_code == 404
    assert response.data["code"] == "shopper_not_registered"


def test_ordering_an_unknown_shelf_barcode_is_refused(api):
    body = {"real_name": "王芳", "resident_id": "11010519491231002X", "mobile": "13912345678"}
    assert api.post(REGISTER, body).status_code == 201
    response = api.post(
        ORDER, {"resident_id": "11010519491231002X", "barcodes": ["2100009999999"]}, format="json"
    )
    assert response.status_code == 404
    assert response.data["code"] == "barcode_unknown"
    assert response.data["extra"] == {"barcode": "2100009999999"}
