"""The shopper's wait as one cheap call (issue #19): the order-status poll answers with one
statement by token (two by session), 304 while its ETag matches, says when to ask again (more
as the web gets busy) and carries the pickup code once released."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config import admission
from marketplace.models import Order
from pickup.models import PickupCode
from pickup.services.codes import code_for
from tests.marketplace.support import place

pytestmark = pytest.mark.django_db
BACKEND = "marketplace.auth.PhoneOrUsernameBackend"


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_token_poll_is_one_statement_and_304_while_nothing_changed(
    world, django_assert_num_queries
):
    [order] = place(world, (world.paste, 1))
    Order.objects.filter(pk=order.pk).update(state="paid", paid_at=timezone.now())
    api = _api(world.shopper.user)
    url = f"/api/v1/orders/{order.number}/status/"
    with django_assert_num_queries(1):  # the token, its user, the shopper and the order
        first = api.get(url)
    assert first.status_code == 200
    body = first.json()
    assert body["number"] == order.number and body["state"] == "paid"
    assert body["final"] is False and 900 <= body["poll_after_ms"] <= 1100
    assert body["paid_at"] and body["released_at"] is None and body["pickup_code"] is None
    assert first["X-Poll-After-Ms"] == str(body["poll_after_ms"]) and first["Retry-After"] == "1"
    etag = first["ETag"]
    with django_assert_num_queries(1):
        again = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and int(again["X-Poll-After-Ms"]) > 0
    # customs moves it on: a new ETag, the full answer again
    Order.objects.filter(pk=order.pk).update(clearance_state="accepted")
    moved = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert moved.status_code == 200 and moved.json()["clearance"] == "accepted"
    assert moved["ETag"] != etag


def test_the_old_detail_poll_cost_three_statements_and_had_no_etag(world):
    """What the shopper's app polled before (GET /api/v1/orders/<no>/)."""
    [order] = place(world, (world.paste, 1))
    Order.objects.filter(pk=order.pk).update(filed_at=timezone.now())
    api = _api(world.shopper.user)
    with CaptureQueriesContext(connection) as old:
        api.get(f"/api/v1/orders/{order.number}/")
    with CaptureQueriesContext(connection) as new:
        api.get(f"/api/v1/orders/{order.number}/status/")
    assert len(old) == 3 and len(new) == 1


def test_poll_interval_grows_with_the_requests_in_flight(world, monkeypatch, settings):
    settings.POLL_CAPACITY = 4
    [order] = place(world, (world.paste, 1))
    Order.objects.filter(pk=order.pk).update(state="paid")
    api = _api(world.shopper.user)
    url = f"/api/v1/orders/{order.number}/status/"
    quiet = api.get(url).json()["poll_after_ms"]
    monkeypatch.setattr(admission, "_in_flight", 4)  # three others beside this one, in the view
    busy = api.get(url)
    assert busy.json()["poll_after_ms"] >= 3 * quiet  # 1 + 4 x 3/4 = 4x, less the jitter
    assert int(busy["Retry-After"]) >= 3
    settings.POLL_MAX_MS = 2500
    assert api.get(url).json()["poll_after_ms"] == 2500


def test_released_pickup_order_carries_its_code_and_a_final_order_stops_the_poll(world):
    [order] = place(world, (world.paste, 1))
    api = _api(world.shopper.user)
    url = f"/api/v1/orders/{order.number}/status/"
    Order.objects.filter(pk=order.pk).update(state="released", released_at=timezone.now())
    body = api.get(url).json()
    code = PickupCode.objects.get(order=order)
    assert body["pickup_code"] == code_for(code) and body["pickup_code_used"] is False
    assert api.get(url).json()["pickup_code"] == body["pickup_code"]  # issued once
    assert PickupCode.objects.filter(order=order).count() == 1
    Order.objects.filter(pk=order.pk).update(state="delivered", delivered_at=timezone.now())
    done = api.get(url)
    assert done.json()["final"] is True and done.json()["poll_after_ms"] is None
    assert "Retry-After" not in done and done.json()["pickup_code"] is None


def test_someone_elses_order_is_not_found_and_no_credential_is_401(world):
    [order] = place(world, (world.paste, 1))
    url = f"/api/v1/orders/{order.number}/status/"
    other = _api(world.other.user).get(url)
    assert other.status_code == 404 and other.json()["code"] == "order_not_found"
    assert order.number not in other.content.decode()
    assert APIClient().get(url).status_code == 401
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert wrong.get(url).status_code == 401
    user = world.shopper.user
    user.is_active = False
    user.save()
    assert _api(user).get(url).status_code == 401


def test_page_poll_is_the_session_and_the_order_and_honours_the_session_hash(
    world, client, django_assert_num_queries
):
    [order] = place(world, (world.paste, 1))
    Order.objects.filter(pk=order.pk).update(filed_at=timezone.now())
    client.force_login(world.shopper.user, backend=BACKEND)
    url = f"/orders/{order.number}/status.json"
    with django_assert_num_queries(2):  # the session; the order with its shopper's user
        first = client.get(url)
    body = first.json()
    assert body["state"] == "placed" and body["steps"][2]["at"] is not None
    assert body["poll_after_ms"] >= 2700  # waiting for the shopper to pay: 3 x the base
    with django_assert_num_queries(2):
        assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    # a password change ends the session here too, as Django's own check does
    user = world.shopper.user
    user.set_password("another-password-9")
    user.save()
    assert client.get(url).status_code == 302
