"""Idempotency-Key on order placement: a client that lost the answer (a dropped connection, a
web node killed mid-request) sends the same request again and gets the orders it placed, never
a second set; stock is reserved once."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from bonded.models import Reservation
from marketplace.models import Order, PlacementKey
from marketplace.services.idempotency import placement_keys_prune

PICKUP = {"mode": "pickup", "counter_code": "C-ZZ1"}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def body(world, qty=2):
    return {"delivery": PICKUP, "lines": [{"listing_id": world.paste.pk, "quantity": qty}]}


def place(client, data, key):
    return client.post("/api/v1/orders/place/", data, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_the_same_key_again_answers_with_the_same_orders_and_places_nothing(world):
    api = client_for(world.shopper.user)
    first = place(api, body(world), "4f9c6b1e-retry-1")
    again = place(api, body(world), "4f9c6b1e-retry-1")
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first and again["Idempotent-Replayed"] == "true"
    number = first.json()[0]["number"]
    assert [o["number"] for o in again.json()] == [number]
    assert again.json()[0]["total"] == first.json()[0]["total"]
    assert Order.objects.count() == 1
    # stock reserved once: 2 units, not 4
    assert sum(Reservation.objects.filter(reference=number).values_list("quantity", flat=True)) == 2
    assert Reservation.objects.exclude(reference=number).count() == 0


@pytest.mark.django_db
def test_a_new_key_places_a_new_order_and_no_key_keeps_todays_behaviour(world):
    api = client_for(world.shopper.user)
    place(api, body(world, 1), "key-a")
    place(api, body(world, 1), "key-b")
    api.post("/api/v1/orders/place/", body(world, 1), format="json")
    assert Order.objects.count() == 3


@pytest.mark.django_db
def test_the_key_reused_for_another_order_is_refused_and_writes_nothing(world):
    api = client_for(world.shopper.user)
    place(api, body(world, 1), "key-a")
    other = place(api, body(world, 3), "key-a")  # Chinese by default
    assert other.status_code == 422
    assert (
        other.json()["code"] == "idempotency_key_reused"
        and "新订单请发送新的键" in other.json()["message"]
    )
    english = api.post("/api/v1/orders/place/", body(world, 3), format="json",
                       HTTP_IDEMPOTENCY_KEY="key-a", HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert english.status_code == 422 and "Send a new key" in english.json()["message"]
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_their_shopper(world):
    place(client_for(world.shopper.user), body(world, 1), "shared-key")
    theirs = place(client_for(world.other.user), body(world, 1), "shared-key")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert Order.objects.count() == 2


@pytest.mark.django_db
def test_a_bad_key_is_a_clear_400_and_a_refused_placement_keeps_no_key(world):
    api = client_for(world.shopper.user)
    bad = place(api, body(world), "spaces are not allowed")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_idempotency_key"
    assert "UUID" in bad.json()["message"]
    too_many = place(api, body(world, 51), "key-over-stock")
    assert too_many.status_code == 409 and too_many.json()["code"] == "insufficient_stock"
    assert not PlacementKey.objects.exists() and Order.objects.count() == 0
    # the same key may be used again once the refusal is fixed
    assert place(api, body(world, 1), "key-over-stock").status_code == 201


@pytest.mark.django_db
def test_a_retried_cart_placement_replays_though_the_cart_is_empty(world):
    api = client_for(world.shopper.user)
    api.post("/api/v1/cart/items/", {"listing_id": world.paste.pk, "quantity": 1}, format="json")
    first = place(api, {"delivery": PICKUP}, "cart-key")
    again = place(api, {"delivery": PICKUP}, "cart-key")
    assert first.status_code == again.status_code == 201
    assert again.json()[0]["number"] == first.json()[0]["number"]
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_old_keys_are_pruned(world, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    api = client_for(world.shopper.user)
    place(api, body(world, 1), "old-key")
    place(api, body(world, 1), "new-key")
    PlacementKey.objects.filter(key="old-key").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert placement_keys_prune() == 1
    assert list(PlacementKey.objects.values_list("key", flat=True)) == ["new-key"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_key_sent_four_times_at_once_places_one_order(world):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent placements need PostgreSQL")

    def send(_):
        from django.db import connection as thread_connection

        try:
            return place(client_for(world.shopper.user), body(world), "at-once")
        finally:
            thread_connection.close()

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.json()[0]["number"] for a in answers}) == 1
    assert sorted("Idempotent-Replayed" in a for a in answers) == [False, True, True, True]
    assert Order.objects.count() == 1
