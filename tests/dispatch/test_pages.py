"""The operator's pages: warehouse staff only; scan, stop and fix, pack and dispatch through
the forms (as a scanner drives them); the shopper's order page shows courier and waybill."""

import pytest
from django.contrib.auth.models import Group

from dispatch.models import Mismatch, Shipment
from dispatch.services.picking import next_line
from marketplace.models import Order
from tests.dispatch.support import operator, shipment_in_wave
from tests.marketplace.factories import UserFactory

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def picker(client):
    client.force_login(operator())
    return client


def test_anonymous_users_are_sent_to_sign_in(client):
    for url in ("/warehouse/", "/warehouse/waves/W1/", "/warehouse/shipments/BP1/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.post("/warehouse/waves/new").status_code == 302


def test_shoppers_and_other_staff_get_403(world, client):
    client.force_login(world.shopper.user, backend="marketplace.auth.PhoneOrUsernameBackend")
    assert client.get("/warehouse/").status_code == 403
    assert client.post("/warehouse/waves/new").status_code == 403
    customs = UserFactory(username="liaison", is_staff=True)
    customs.groups.add(Group.objects.get_or_create(name="Customs liaison")[0])
    client.force_login(customs)
    assert client.get("/warehouse/").status_code == 403
    # In the group but not staff (a deactivated colleague's leftover membership): refused too.
    lapsed = operator("lapsed")
    lapsed.is_staff = False
    lapsed.save()
    client.force_login(lapsed)
    assert client.get("/warehouse/").status_code == 403


def test_operators_and_superusers_see_todays_waves(client, admin_user):
    client.force_login(operator())
    page = client.get("/warehouse/", **EN)
    assert page.status_code == 200 and "Today's waves" in page.content.decode()
    client.force_login(admin_user)
    assert client.get("/warehouse/").status_code == 200


def test_an_operator_picks_packs_and_dispatches_through_the_pages(world, client, sandbox, picker):
    shipment = shipment_in_wave(world, client, (world.paste, 2))
    picker.force_login(operator())
    wave = shipment.wave
    url = f"/warehouse/waves/{wave.number}/"
    page = picker.get(url, **EN).content.decode()
    assert 'id="barcode"' in page and "autofocus" in page and "CW-A" in page
    # A wrong scan: the page shows the stop and nothing else to scan.
    response = picker.post(url, {"action": "scan", "barcode": world.milk.item.barcode},
                           follow=True, **EN)  # fmt: skip
    page = response.content.decode()
    assert 'id="stop"' in page and 'id="barcode"' not in page and "Wrong item" in page
    stop = Mismatch.objects.get(shipment=shipment)
    picker.post(url, {"action": "fix", "mismatch": stop.pk, "resolution": "put_back"})
    # A short pick, then found.
    line = next_line(wave)
    picker.post(url, {"action": "short", "line": line.pk, "on_shelf": "1"})
    short = Mismatch.objects.get(shipment=shipment, resolved_at__isnull=True)
    assert short.kind == "short_pick"
    assert 'id="fix-hold"' in picker.get(url).content.decode()
    picker.post(url, {"action": "fix", "mismatch": short.pk, "resolution": "found"})
    for _ in range(2):
        picker.post(url, {"action": "scan", "barcode": line.barcode})
    assert 'id="wave-done"' in picker.get(url).content.decode()
    shipment.refresh_from_db()
    assert shipment.state == "picked"
    # Pack (out of tolerance, then right) and dispatch twice.
    ship_url = f"/warehouse/shipments/{shipment.order_no}/"
    response = picker.post(ship_url, {"action": "pack", "weight": "9"}, follow=True, **EN)
    assert "weigh again" in response.content.decode()
    weight_stop = Mismatch.objects.get(shipment=shipment, resolved_at__isnull=True)
    picker.post(ship_url, {"action": "fix", "mismatch": weight_stop.pk, "resolution": "reweigh"})
    picker.post(ship_url, {"action": "pack", "weight": "1.82"})
    assert 'id="dispatch"' in picker.get(ship_url).content.decode()
    first = picker.post(ship_url, {"action": "dispatch"}, follow=True, **EN).content.decode()
    second = picker.post(ship_url, {"action": "dispatch"}, follow=True, **EN).content.decode()
    assert "Dispatched" in first and "Already dispatched" in second
    assert Shipment.objects.get(pk=shipment.pk).state == "dispatched"
    assert Order.objects.get(number=shipment.order_no).state == "dispatched"


def test_the_shopper_sees_courier_and_waybill_number(world, client, sandbox, settings):
    from dispatch.services import shipment_dispatch, shipment_pack
    from tests.dispatch.test_parcels import picked

    shipment = picked(world, client, (world.paste, 1))
    client.force_login(world.shopper.user, backend="marketplace.auth.PhoneOrUsernameBackend")
    page = client.get(f"/orders/{shipment.order_no}/", **EN).content.decode()
    assert 'id="dispatch"' in page and "packing it for the courier" in page
    shipment_pack(shipment_id=shipment.pk, weight_kg="0.9", actor="packer")
    shipment_dispatch(shipment_id=shipment.pk, actor="packer")
    page = client.get(f"/orders/{shipment.order_no}/", **EN).content.decode()
    assert settings.COURIER_NAME in page and shipment.logistics_no in page
    status = client.get(f"/orders/{shipment.order_no}/status.json").json()
    assert status["state"] == "dispatched"


def test_the_admin_lists_shipments_with_their_timeliness(world, client, sandbox, admin_client):
    shipment = shipment_in_wave(world, client, (world.paste, 1))
    at_risk = admin_client.get("/admin/dispatch/shipment/?timeliness=at_risk", **EN)
    assert at_risk.status_code == 200
    assert shipment.order_no not in at_risk.content.decode()  # just released: on time
    page = admin_client.get("/admin/dispatch/shipment/", **EN).content.decode()
    assert shipment.order_no in page and "on time" in page
    assert (
        admin_client.get(f"/admin/dispatch/shipment/{shipment.pk}/change/", **EN).status_code == 200
    )


def test_forged_or_stale_ids_in_the_forms_give_404_or_a_message_never_500(
    world, client, sandbox, picker
):
    shipment = shipment_in_wave(world, client, (world.paste, 1))
    url = f"/warehouse/waves/{shipment.wave.number}/"
    ship_url = f"/warehouse/shipments/{shipment.order_no}/"
    assert (
        picker.post(url, {"action": "fix", "mismatch": "999999", "resolution": "found"}).status_code
        == 404
    )
    assert (
        picker.post(url, {"action": "short", "line": "999999", "on_shelf": "0"}).status_code == 404
    )
    response = picker.post(
        url, {"action": "short", "line": "x1", "on_shelf": "0"}, follow=True, **EN
    )
    assert response.status_code == 200 and "how many units" in response.content.decode()
    assert picker.post(ship_url, {"action": "fix", "mismatch": "999999"}).status_code == 404
    assert Mismatch.objects.filter(shipment=shipment).count() == 0
