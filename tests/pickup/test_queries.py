"""What each counter request of the order journey costs in SQL statements (issue #7). The
counts are asserted so that a change adding a read shows up here, not in the next benchmark.
A transaction's BEGIN/COMMIT (a SAVEPOINT/RELEASE inside the test's transaction) counts two."""

# ruff: noqa: F811  (the fixtures imported from test_flow are parameters here)

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from pickup.models import Attempt
from tests.pickup.factories import pickup_order
from tests.pickup.test_flow import ID, desk, released, world  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def _known(desk, django_capture_on_commit_callbacks) -> None:
    """One committed request: the kiosk's last-used time is written (at most once a minute) and
    its key is kept by the reference cache, as after any request in production."""
    with django_capture_on_commit_callbacks(execute=True):
        assert desk.get("/api/v1/kiosk/me").status_code == 200


def test_lookup_reads_kiosk_code_and_lines_once(
    desk, released, django_assert_num_queries, django_capture_on_commit_callbacks
):
    order_no, code, barcode = released
    _known(desk, django_capture_on_commit_callbacks)
    # The key is known to this process since that call (8 before: it was read each time); in
    # the transaction: lock the kiosk (not revoked), its wrong tries, the code with its order
    # and shopper, the audit entry; then the order's lines.
    with django_assert_num_queries(7):
        response = desk.post("/api/v1/kiosk/pickups/lookup", {"code": code})
    assert response.status_code == 200
    assert response.data["order_no"] == order_no
    assert [i["barcode"] for i in response.data["items"]] == [barcode]


def test_handover_reads_each_row_once_and_writes_the_audit_in_one_insert(
    desk,
    released,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
):
    order_no, code, barcode = released
    _known(desk, django_capture_on_commit_callbacks)
    body = {"code": code, "id_last6": ID[-6:], "barcodes": [barcode]}
    # lock the kiosk (the key is known), its wrong tries, the code and its order (together), the
    # order's wrong tries, its lines; the clearance's state; the ledger's issue (5: no savepoint
    # of its own since issue #19, a refusal gives the handover up); the order's event and state;
    # the code used; the three audit entries in one insert.
    with django_assert_num_queries(19):
        first = desk.post("/api/v1/kiosk/pickups/handover", body, format="json")
    assert first.status_code == 200, first.data
    assert (first.data["state"], first.data["already"]) == ("delivered", False)
    assert [i["barcode"] for i in first.data["items"]] == [barcode]
    assert first.data["shopper_masked_id"].endswith(ID[-4:])
    assert list(
        Attempt.objects.filter(order__number=order_no).order_by("id").values_list("kind", "outcome")
    ) == [("code", "ok"), ("identity", "ok"), ("handover", "ok")]
    with django_assert_num_queries(7):
        again = desk.post("/api/v1/kiosk/pickups/handover", body, format="json")
    assert again.status_code == 200 and again.data["already"] is True
    assert again.data["handed_over_at"] == first.data["handed_over_at"]


def test_shopper_pickup_code_is_one_read_after_the_token(kiosk, django_assert_num_queries):
    order, digits = pickup_order()
    token = Token.objects.create(user=order.shopper.user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    with django_assert_num_queries(2):  # the token with its user; the order with its code
        response = client.get(f"/api/v1/orders/{order.number}/pickup-code/")
    assert response.status_code == 200 and response.data["code"] == digits


@pytest.mark.postgres
def test_handover_locks_the_kiosk_alone_then_the_code_with_its_order(desk, released):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _order_no, code, barcode = released
    body = {"code": code, "id_last6": ID[-6:], "barcodes": [barcode]}
    with CaptureQueriesContext(connection) as captured:
        assert desk.post("/api/v1/kiosk/pickups/handover", body, format="json").status_code == 200
    locks = [q["sql"] for q in captured.captured_queries if "FOR UPDATE" in q["sql"]]
    kiosk, code_and_order = locks[0], locks[1]
    assert 'FROM "pickup_kiosk" WHERE' in kiosk and "JOIN" not in kiosk
    assert code_and_order.endswith('FOR UPDATE OF "pickup_pickupcode", "marketplace_order"')
