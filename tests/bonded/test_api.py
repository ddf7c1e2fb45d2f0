import pytest

from bonded.services import StockLine, stock_reserve

pytestmark = pytest.mark.django_db


def test_availability_per_item_and_counter_counts_free_units_in_bond(client, zone):
    stock_reserve(
        reference="BP1", location_code="ZZ-A", lines=[StockLine(zone.items[0].item_no, 4)]
    )
    response = client.get(
        "/api/v1/stock/availability/",
        {"item_no": [zone.items[0].item_no, zone.items[1].item_no]},
    )
    assert response.status_code == 200
    rows = {(r["item_no"], r["counter_code"]): r["available"] for r in response.json()}
    # Only the counter inside the supervision zone is offered for bonded pickup.
    assert rows == {(zone.items[0].item_no, "C1"): 6, (zone.items[1].item_no, "C1"): 10}


def test_availability_of_an_unknown_item_is_zero_not_an_error(client, zone):
    response = client.get("/api/v1/stock/availability/", {"item_no": "NOPE", "counter": "C1"})
    assert response.json() == [
        {
            "item_no": "NOPE",
            "counter_code": "C1",
            "counter_name_zh": zone.counter.name_zh,
            "counter_name_en": zone.counter.name_en,
            "available": 0,
        }
    ]


def test_availability_rejects_an_oversized_query_with_a_field_error(client, zone):
    response = client.get("/api/v1/stock/availability/", {"item_no": [f"X{n}" for n in range(201)]})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "item_no" in body["extra"]["fields"]


def test_counters_lists_only_counters_inside_the_zone(client, zone):
    response = client.get("/api/v1/stock/counters/")
    assert [c["code"] for c in response.json()] == ["C1"]


def test_availability_query_count_does_not_grow_with_items(client, django_assert_max_num_queries):
    from tests.bonded.conftest import build_zone

    zone = build_zone(items=30, stock=5)
    with django_assert_max_num_queries(3):
        response = client.get(
            "/api/v1/stock/availability/", {"item_no": [i.item_no for i in zone.items]}
        )
    assert len(response.json()) == 30
