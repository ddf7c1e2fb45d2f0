"""The warehouse API: operators only; scans, stops (409 with the error shape), packing and a
dispatch confirmed twice, as a handheld scanner would call them."""

import pytest
from rest_framework.test import APIClient

from dispatch.models import Mismatch
from tests.dispatch.support import operator, released_delivery_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(operator())
    return client


def test_only_warehouse_operators_reach_the_api(world):
    anonymous = APIClient()
    assert anonymous.get("/api/v1/dispatch/waves/").status_code in (401, 403)
    shopper = APIClient()
    shopper.force_authenticate(world.shopper.user)
    response = shopper.post("/api/v1/dispatch/waves/")
    assert response.status_code == 403 and set(response.json()) == {"code", "message", "extra"}


def test_scan_stop_fix_pack_and_dispatch_by_api(world, client, sandbox, api):
    order = released_delivery_order(world, client, (world.paste, 1))
    assert api.get("/api/v1/dispatch/waves/").json() == []
    wave = api.post("/api/v1/dispatch/waves/").json()
    assert api.post("/api/v1/dispatch/waves/").status_code == 204  # nothing else waits
    number, line = wave["number"], wave["next"]
    assert (line["order_no"], line["location_code"], line["quantity"]) == (order.number, "CW-A", 1)
    scan = f"/api/v1/dispatch/waves/{number}/scan"
    wrong = api.post(scan, {"barcode": world.milk.item.barcode}, format="json")
    assert wrong.status_code == 409 and wrong.json()["code"] == "wrong_item"
    stop = api.get(f"/api/v1/dispatch/waves/{number}/").json()["stop"]
    assert (
        stop["kind"] == "wrong_item"
        and api.post(scan, {"barcode": line["barcode"]}).json()["code"] == "shipment_stopped"
    )
    fixed = api.post(f"/api/v1/dispatch/mismatches/{stop['id']}/fix", {"resolution": "put_back"})
    assert fixed.status_code == 200
    assert fixed.json()["id"] == stop["id"] and fixed.json()["order_no"] == order.number
    assert Mismatch.objects.get(pk=stop["id"]).resolved_at is not None
    done = api.post(scan, {"barcode": line["barcode"]}, format="json").json()
    assert done["line_done"] and done["shipment_done"] and done["next"] is None
    ship = f"/api/v1/dispatch/shipments/{order.number}/"
    heavy = api.post(ship + "pack", {"weight_kg": "5.000"}, format="json")
    assert heavy.status_code == 409 and heavy.json()["code"] == "weight_out_of_tolerance"
    assert heavy.json()["extra"]["declared"] == "0.900"
    weight_stop = api.get(f"/api/v1/dispatch/waves/{number}/").json()["stop"]
    assert weight_stop is None  # a weight stop is at the packing bench, not in the wave's walk

    mismatch = Mismatch.objects.get(kind="weight", resolved_at__isnull=True)
    api.post(f"/api/v1/dispatch/mismatches/{mismatch.pk}/fix", {"resolution": "reweigh"})
    packed = api.post(ship + "pack", {"weight_kg": "0.93"}, format="json").json()
    assert packed["state"] == "packed" and packed["measured_weight_kg"] == "0.930"
    first = api.post(ship + "dispatch").json()
    second = api.post(ship + "dispatch").json()
    assert (first["already"], second["already"]) == (False, True)
    assert first["state"] == "dispatched" and first["timeliness"] == "on_time"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/dispatch/lines/{id}/short",
        "/api/v1/dispatch/mismatches/{id}/fix",
        "/api/v1/dispatch/waves/W{id}/scan",
        "/api/v1/dispatch/shipments/BP{id}/pack",
    ],
)
def test_ids_that_no_row_can_have_answer_404(world, api, path):
    """Beyond bigint (the `<id:>` converter) or simply unknown: 404 in the error shape."""
    for value in ("481075965743344975872", "999999"):
        response = api.post(path.format(id=value), {"resolution": "put_back"}, format="json")
        assert response.status_code == 404, (path, value, response.status_code)
