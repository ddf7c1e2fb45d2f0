"""The warehouse's returns page: an approved return is listed until an operator scans it in;
the scan puts the units back into bond and says so."""

import pytest

from bonded.models import Balance, Move
from tests.customs.test_returns import BACK, OUT, _released_with_return_approved
from tests.dispatch.support import operator

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _storage(zone):
    return {i.item_no: Balance.objects.get(item=i, location=zone.storage).on_hand
            for i in (zone.paste, zone.shoes)}  # fmt: skip


def test_operator_scans_a_return_in_and_the_units_go_back_into_bond(client, zone, sandbox):
    order_no, return_no = _released_with_return_approved(zone)
    client.force_login(operator())
    page = client.get("/warehouse/returns/", **EN).content.decode()
    assert return_no in page and "PASTE01 &times; 2" in page
    assert _storage(zone) == OUT

    wrong = client.post(
        "/warehouse/returns/", {"number": order_no, "barcodes": "9300001"}, follow=True, **EN
    ).content.decode()
    assert "Missing: PASTE01 x1, SHOE01 x1" in wrong
    assert _storage(zone) == OUT

    done = client.post(
        "/warehouse/returns/",
        {"number": order_no, "barcodes": "9300001\n9300002\n9300001\n"},
        follow=True,
        **EN,
    ).content.decode()
    assert f"Return {return_no} received: 3 units back in bond." in done
    assert "No returns waiting." in done
    assert _storage(zone) == BACK
    assert Move.objects.filter(reference=order_no, kind="return").count() == 2  # two lines


def test_an_unknown_return_number_is_refused_on_the_page(client, zone):
    client.force_login(operator())
    page = client.post(
        "/warehouse/returns/", {"number": "RT404", "barcodes": "9300001"}, follow=True, **EN
    ).content.decode()
    assert "No approved return has this number: RT404." in page
    assert not Move.objects.filter(kind="return").exists()


def test_only_warehouse_operators_reach_the_returns_page(world, client):
    assert client.get("/warehouse/returns/").status_code == 302  # to sign in
    client.force_login(world.shopper.user, backend="marketplace.auth.PhoneOrUsernameBackend")
    assert client.get("/warehouse/returns/").status_code == 403
    assert client.post("/warehouse/returns/", {"number": "RT1"}).status_code == 403
