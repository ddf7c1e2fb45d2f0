"""The open-platform courier adapter (SF Express style) against its local stand-in, which
checks the request digest the way the courier does and allocates from its own range: the
waybill filed with customs and printed is the courier's; a bad digest is refused; route pushes
are verified (a tampered one gets 403), and the same push twice is applied once."""

import secrets
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from customs.models import Declaration
from dispatch.courier import CourierError, ParcelRequest
from dispatch.courier_openapi import OpenApiCourier, msg_digest
from dispatch.courier_standin import CourierStandIn
from dispatch.models import CourierEvent, WaybillAllocation
from dispatch.services import shipment_collect, shipment_dispatch
from dispatch.services.waybills import CourierUnavailable, waybills_release
from marketplace.models import Order
from tests.dispatch.support import HOME, operator
from tests.dispatch.test_parcels import packed
from tests.marketplace.support import place

pytestmark = pytest.mark.django_db
PARTNER, CHECKWORD = "BONDPORT-TEST", "test-only-courier-check-word"


@pytest.fixture
def standin(settings):
    # Its own range, a fresh part per test (the customs sandbox remembers the session's).
    start = 1_400_000_000_000 + secrets.randbelow(10**11)
    server = CourierStandIn(partner_id=PARTNER, checkword=CHECKWORD, prefix="SF", start=start)
    server.first = f"SF{start:013d}"
    base = server.serve()
    settings.COURIER_PROVIDER = "dispatch.courier_openapi.OpenApiCourier"
    settings.COURIER_NAME = "SF Express (stand-in)"
    settings.COURIER_OPENAPI_URL = f"{base}/std/service"
    settings.COURIER_OPENAPI_PARTNER_ID = PARTNER
    settings.COURIER_OPENAPI_CHECKWORD = CHECKWORD
    yield server
    server.stop()


def parcel(order_no="BP20261203000001") -> ParcelRequest:
    return ParcelRequest(order_no=order_no, consignee="张三", phone="13800000009",
                         address="广东省深圳市南山区科技园 1 号", weight_kg=1)  # fmt: skip


def test_the_digest_follows_the_published_recipe():
    # base64(md5(quote_plus(msgData + timestamp + checkword))), computed by hand here.
    import base64
    import hashlib
    from urllib.parse import quote_plus

    plain = quote_plus('{"a":"中 文"}' + "1700000000000" + "cw").encode()
    expected = base64.b64encode(hashlib.md5(plain).digest()).decode()  # noqa: S324
    assert msg_digest('{"a":"中 文"}', "1700000000000", "cw") == expected


def test_the_courier_allocates_from_its_range_and_answers_label_data(world, standin):
    [order] = place(world, (world.paste, 1), delivery=HOME)
    assert order.logistics_no == standin.first  # the stand-in's first number
    assert standin.orders[order.number]["waybillNo"] == order.logistics_no
    assert standin.requests[-1] == {**standin.requests[-1], "serviceCode":
                                    "EXP_RECE_CREATE_ORDER", "apiResultCode": "A1000"}  # fmt: skip
    label = standin._label(standin.orders[order.number])["routeLabelInfo"][0]["routeLabelData"]
    allocation = WaybillAllocation.objects.get(order_no=order.number)
    assert allocation.sort_code == label["destRouteLabel"]
    assert allocation.destination_code == label["destDeptCode"]
    assert allocation.route == f"{label['sourceTransferCode']}-{label['destTransferCode']}"
    assert allocation.logistics_name == "SF Express (stand-in)"
    waybill = Declaration.objects.get(order_no=order.number, kind="waybill")
    assert waybill.payload["logistics_no"] == standin.first
    assert waybill.payload["sender_name"] == "SF Express (stand-in)"
    [second] = place(world, (world.paste, 1), delivery=HOME)
    assert int(second.logistics_no[2:]) == int(standin.first[2:]) + 1


def test_a_bad_digest_is_refused_by_the_courier_and_no_order_is_placed(world, standin, settings):
    wrong = OpenApiCourier(checkword="not-the-check-word")
    with pytest.raises(CourierError) as refused:
        wrong.allocate(parcel=parcel())
    assert "A1006" in refused.value.message and not refused.value.transient
    assert standin.orders == {}
    settings.COURIER_OPENAPI_CHECKWORD = "not-the-check-word"
    with pytest.raises(CourierUnavailable):
        place(world, (world.paste, 1), delivery=HOME)
    assert not Order.objects.exists() and not WaybillAllocation.objects.exists()


def test_cancel_and_status_query(world, standin, settings):
    [order] = place(world, (world.paste, 1), delivery=HOME)
    courier = OpenApiCourier()
    standin.route(order.logistics_no, "30", remark="在途")
    [event] = courier.status(logistics_no=order.logistics_no)
    assert event.status == "in_transit" and event.logistics_no == order.logistics_no
    Order.objects.filter(pk=order.pk).update(state="expired")
    later = timezone.now() + timedelta(seconds=settings.COURIER_WAYBILL_RELEASE_SECONDS + 1)
    assert waybills_release(now=later) == 1
    assert standin.orders[order.number]["cancelled"] is True
    assert WaybillAllocation.objects.get(order_no=order.number).cancelled_at is not None


def post_push(client, fields: dict):
    return client.post("/courier/callback/", data=urlencode(fields),
                       content_type="application/x-www-form-urlencoded")  # fmt: skip


def test_route_pushes_verified_tampered_refused_duplicates_applied_once(
    world, client, sandbox, standin
):
    shipment = packed(world, client, (world.paste, 1))
    assert shipment.logistics_no == standin.first
    client.force_login(operator())
    label = client.get(f"/warehouse/shipments/{shipment.order_no}/label/").content.decode()
    allocation = WaybillAllocation.objects.get(logistics_no=shipment.logistics_no)
    assert allocation.sort_code in label and shipment.logistics_no in label
    shipment_dispatch(shipment_id=shipment.pk, actor="packer")
    shipment_collect(shipment_id=shipment.pk)
    client.logout()

    push = standin.route(shipment.logistics_no, "80")
    tampered = {**push, "msgData": push["msgData"].replace("80", "70")}
    response = post_push(client, tampered)
    assert response.status_code == 403 and response.json()["code"] == "bad_signature"
    assert post_push(client, {**push, "partnerID": "SOMEONE"}).status_code == 403
    assert Order.objects.get(number=shipment.order_no).state == "dispatched"

    response = post_push(client, push)
    assert response.status_code == 200 and response.json()["return_code"] == "0000"
    order = Order.objects.get(number=shipment.order_no)
    assert order.state == "delivered"
    again = post_push(client, push)  # the courier did not hear us: pushes the same again
    assert again.status_code == 200
    assert order.events.filter(to_state="delivered").count() == 1
    assert CourierEvent.objects.filter(logistics_no=shipment.logistics_no).count() == 1
    signed = Declaration.objects.get(kind="waybill_status", business_no__endswith=":S")
    assert signed.payload["sender_code"] == allocation.logistics_code
    assert signed.payload["logistics_name"] == "SF Express (stand-in)"


def test_the_stand_in_runs_as_its_own_process(settings):
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "dispatch.courier_standin", "--port", str(port),
         "--partner-id", PARTNER, "--checkword", CHECKWORD, "--prefix", "ZT"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert "courier stand-in on" in process.stdout.readline()
        courier = OpenApiCourier(url=f"http://127.0.0.1:{port}/std/service", partner_id=PARTNER,
                                 checkword=CHECKWORD)  # fmt: skip
        allocation = courier.allocate(parcel=parcel())  # it listens before it says so
        assert allocation.logistics_no == "ZT1400000000001" and allocation.sort_code
        assert courier.allocate(parcel=parcel()).logistics_no == "ZT1400000000001"  # same order
        with pytest.raises(CourierError, match="A1006"):
            OpenApiCourier(url=courier.url, partner_id=PARTNER, checkword="x").allocate(
                parcel=parcel("BP20261203000002")
            )
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_the_stand_in_pushes_a_delivered_route_over_real_http(
    world, client, sandbox, standin, live_server
):
    standin.push_url = f"{live_server.url}/courier/callback/"
    shipment = packed(world, client, (world.paste, 1))
    shipment_dispatch(shipment_id=shipment.pk, actor="packer")
    shipment_collect(shipment_id=shipment.pk)
    assert standin.push(standin.route(shipment.logistics_no, "50")) == 200
    assert Order.objects.get(number=shipment.order_no).state == "dispatched"  # collected only
    assert standin.push(standin.route(shipment.logistics_no, "80")) == 200
    assert Order.objects.get(number=shipment.order_no).state == "delivered"
    statuses = set(CourierEvent.objects.values_list("status", flat=True))
    assert statuses == {"collected", "delivered"}
