"""The courier's signed delivery callback: good ones deliver the order (once), bad signature,
stale timestamp, replayed nonce and malformed bodies get 403 and change nothing; and the
sandbox courier posts it over real HTTP."""

import json
import time

import pytest
from django.utils import timezone

from customs.models import Declaration
from dispatch import courier
from dispatch.models import CourierNonce, SandboxParcel, Shipment
from dispatch.services import shipment_collect, shipment_dispatch
from marketplace.models import Order
from tests.dispatch.test_parcels import packed
from tests.marketplace.support import headers_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def parcel(world, client, sandbox, settings):
    settings.COURIER_SANDBOX_DELIVERY_SECONDS = 3600  # deliver only when the test says so
    shipment = packed(world, client, (world.paste, 1))
    shipment_dispatch(shipment_id=shipment.pk, actor="packer")
    shipment_collect(shipment_id=shipment.pk)
    parcel = SandboxParcel.objects.get(logistics_no=shipment.logistics_no)
    parcel.delivered_at = timezone.now()
    parcel.save()
    return parcel


def post(client, body: bytes, headers: dict):
    return client.post(
        "/courier/callback/", data=body, content_type="application/json", **headers_for(headers)
    )


def test_a_signed_callback_delivers_the_order_once(client, parcel):
    body, headers = courier.signed_callback(parcel)
    response = post(client, body, headers)
    assert response.status_code == 200 and response.content == b"success"
    order = Order.objects.get(number=parcel.order_no)
    shipment = Shipment.objects.get(order_no=parcel.order_no)
    assert order.state == "delivered" and shipment.state == "delivered"
    assert order.delivered_at == shipment.delivered_at >= order.dispatched_at
    signed = Declaration.objects.get(kind="waybill_status", business_no__endswith=":S")
    assert signed.payload["status"] == "S"
    # The courier sends it again (new nonce): accepted, nothing changes.
    body, headers = courier.signed_callback(parcel)
    assert post(client, body, headers).status_code == 200
    assert order.events.filter(to_state="delivered").count() == 1
    assert Declaration.objects.filter(kind="waybill_status").count() == 2


def test_a_bad_signature_is_refused(client, parcel):
    body, headers = courier.signed_callback(parcel)
    forged = json.dumps({**json.loads(body), "logistics_no": "YD-OTHER"}).encode()
    assert post(client, forged, headers).status_code == 403
    headers["X-Courier-Signature"] = "0" * 64
    response = post(client, body, headers)
    assert response.status_code == 403 and response.json()["code"] == "bad_signature"
    assert Order.objects.get(number=parcel.order_no).state == "dispatched"


def test_a_stale_callback_is_refused(client, parcel, settings):
    body = courier.callback_body(parcel)
    old = str(int(time.time()) - settings.COURIER_CALLBACK_MAX_AGE_SECONDS - 5)
    nonce = "a" * 32
    signature = courier.sign(
        secret=settings.COURIER_CALLBACK_SECRET, timestamp=old, nonce=nonce, body=body
    )
    headers = {"X-Courier-Timestamp": old, "X-Courier-Nonce": nonce,
               "X-Courier-Signature": signature}  # fmt: skip
    response = post(client, body, headers)
    assert response.status_code == 403 and response.json()["code"] == "stale"
    assert Order.objects.get(number=parcel.order_no).state == "dispatched"


def test_a_replayed_callback_is_refused(client, parcel):
    body, headers = courier.signed_callback(parcel)
    assert post(client, body, headers).status_code == 200
    replay = post(client, body, headers)
    assert replay.status_code == 403 and replay.json()["code"] == "replayed"


def test_a_malformed_or_unknown_callback_changes_nothing(client, parcel, settings):
    def signed(body: bytes) -> dict:
        ts, nonce = str(int(time.time())), f"{time.monotonic_ns():032d}"
        sig = courier.sign(secret=settings.COURIER_CALLBACK_SECRET, timestamp=ts, nonce=nonce,
                           body=body)  # fmt: skip
        return {"X-Courier-Timestamp": ts, "X-Courier-Nonce": nonce, "X-Courier-Signature": sig}

    assert post(client, b"not json", signed(b"not json")).status_code == 403
    unknown = json.dumps({"logistics_no": "YD000", "status": "delivered"}).encode()
    response = post(client, unknown, signed(unknown))
    assert response.status_code == 409 and response.json()["code"] == "shipment_not_found"
    assert client.get("/courier/callback/").status_code == 405
    assert Order.objects.get(number=parcel.order_no).state == "dispatched"


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_courier_posts_its_callback_over_real_http(
    world, client, sandbox, live_server, settings
):
    settings.COURIER_CALLBACK_URL = f"{live_server.url}/courier/callback/"
    shipment = packed(world, client, (world.paste, 1))
    shipment_dispatch(shipment_id=shipment.pk, actor="packer")
    shipment_collect(shipment_id=shipment.pk)
    parcel = SandboxParcel.objects.get()
    assert parcel.callback_url == settings.COURIER_CALLBACK_URL
    assert courier.sandbox_deliver(parcel_id=parcel.pk) is True
    assert courier.sandbox_deliver(parcel_id=parcel.pk) is True  # already told: no new post
    parcel.refresh_from_db()
    assert parcel.notified_at is not None and parcel.notify_attempts == 1
    assert Order.objects.get(number=shipment.order_no).state == "delivered"


def test_without_a_secret_every_callback_is_refused(client, parcel, settings):
    body, headers = courier.signed_callback(parcel)
    settings.COURIER_CALLBACK_SECRET = ""
    assert post(client, body, headers).status_code == 403


# --- #15: verification by the configured courier adapter; nonces pruned ---------------------


def test_the_configured_courier_verifies_callbacks_not_the_app(client, parcel, settings):
    from tests import adapters

    settings.COURIER_PROVIDER = "tests.adapters.RefusingCourier"
    adapters.CONSULTED.clear()
    body, headers = courier.signed_callback(parcel)  # signed the sandbox's way
    response = post(client, body, headers)
    assert response.status_code == 403
    assert set(response.json()) == {"code", "message", "extra"}
    assert response.json()["code"] == "bad_signature"
    assert adapters.CONSULTED == ["courier"]
    assert Order.objects.get(number=parcel.order_no).state == "dispatched"
    assert not CourierNonce.objects.exists()


def test_a_courier_with_another_signature_scheme_is_configuration_only(client, parcel, settings):
    from tests.adapters import token_signature

    settings.COURIER_PROVIDER = "tests.adapters.OtherSchemeCourier"
    body, headers = courier.signed_callback(parcel)
    assert post(client, body, headers).json()["code"] == "bad_signature"
    response = post(client, body, {"X-Other-Signature": token_signature(body)})
    assert response.status_code == 200 and response.content == b"success"
    shipment = Shipment.objects.get(order_no=parcel.order_no)
    assert shipment.state == "delivered"
    assert Order.objects.get(number=parcel.order_no).state == "delivered"


def test_old_courier_nonces_are_pruned_and_a_fresh_one_still_blocks_its_replay(
    client, parcel, settings
):
    from datetime import timedelta

    from dispatch.tasks import courier_nonces_prune

    window = timedelta(seconds=2 * settings.COURIER_CALLBACK_MAX_AGE_SECONDS)
    old = CourierNonce.objects.create(
        nonce="o" * 32, received_at=timezone.now() - window - timedelta(seconds=1)
    )
    body, headers = courier.signed_callback(parcel)
    assert post(client, body, headers).status_code == 200
    assert courier_nonces_prune() == 1  # the beat task (NONCE_PRUNE_SECONDS)
    assert list(CourierNonce.objects.values_list("nonce", flat=True)) == [
        headers["X-Courier-Nonce"]
    ]
    assert not CourierNonce.objects.filter(pk=old.pk).exists()
    replay = post(client, body, headers)
    assert replay.status_code == 403 and replay.json()["code"] == "replayed"
    schedule = settings.CELERY_BEAT_SCHEDULE["dispatch-courier-nonces-prune"]
    assert schedule["task"] == "dispatch.tasks.courier_nonces_prune"
    assert schedule["schedule"] == settings.NONCE_PRUNE_SECONDS
