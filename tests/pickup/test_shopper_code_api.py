"""The shopper reads their own pickup code through the API (what the order page shows)."""

import pytest
from rest_framework.test import APIClient

from pickup.models import PickupCode
from pickup.services.codes import code_for
from tests.marketplace.factories import ShopperFactory
from tests.pickup.factories import pickup_order

pytestmark = pytest.mark.django_db


def _client(shopper) -> APIClient:
    client = APIClient()
    client.force_authenticate(shopper.user)
    return client


def _url(order) -> str:
    return f"/api/v1/orders/{order.number}/pickup-code/"


def test_owner_gets_the_code_of_a_released_order(kiosk):
    order, code = pickup_order()
    response = _client(order.shopper).get(_url(order))
    assert response.status_code == 200
    assert response.data == {
        "order_no": order.number,
        "counter_code": "C-ZZ1",
        "code": code,
        "used": False,
    }


def test_code_is_issued_on_first_read(kiosk):
    order, _code = pickup_order()
    PickupCode.objects.filter(order=order).delete()
    response = _client(order.shopper).get(_url(order))
    assert response.status_code == 200
    assert response.data["code"] == code_for(PickupCode.objects.get(order=order))


def test_someone_elses_order_is_not_found(kiosk):
    order, _code = pickup_order()
    response = _client(ShopperFactory()).get(_url(order))
    assert response.status_code == 404
    assert response.data["code"] == "order_not_found"


def test_no_code_before_release(kiosk):
    order, _code = pickup_order(state="paid")
    response = _client(order.shopper).get(_url(order))
    assert response.status_code == 409
    assert response.data["code"] == "not_ready"


def test_used_code_is_not_shown_again(kiosk):
    from django.utils import timezone

    order, _code = pickup_order()
    PickupCode.objects.filter(order=order).update(used_at=timezone.now())
    response = _client(order.shopper).get(_url(order))
    assert response.status_code == 200
    assert (response.data["code"], response.data["used"]) == (None, True)


def test_anonymous_is_refused(kiosk):
    order, _code = pickup_order()
    assert APIClient().get(_url(order)).status_code in (401, 403)
