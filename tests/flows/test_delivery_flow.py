"""A delivery order from checkout to the door, through real processes: the customs sandbox
authority (its own process), Celery workers, the payment sandbox and the courier sandbox, both
posting their signed callbacks over real HTTP to the live server. The warehouse picks, packs
and dispatches through the operator's pages; the goods leave the zone once, CEB513 is filed
and accepted, and the courier's callback delivers the order."""

import re
from decimal import Decimal

import pytest
import requests

from bonded.models import Balance, Move
from customs import selectors as customs_selectors
from dispatch.models import SandboxParcel, Shipment
from dispatch.services.picking import next_line
from marketplace.models import Order
from marketplace.selectors.orders import order_by_no, order_timeline
from tests.customs.support import SandboxProcess
from tests.dispatch.support import operator
from tests.support import wait_until

QUEUES = "default,customs_filing,customs_receipts"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_delivery_order_from_checkout_to_delivered_through_real_processes(
    world, live_server, celery_worker_process, tmp_path, settings
):
    authority = SandboxProcess(
        tmp_path / "authority.sqlite3",
        callback_url=f"{live_server.url}/api/v1/customs/receipts",
    ).start()
    try:
        settings.CUSTOMS_GATEWAY_URL = authority.customs_url
        settings.CUSTOMS_CIQ_URL = authority.ciq_url
        settings.PAYMENT_SANDBOX_URL = f"{live_server.url}/sandbox/pay"
        settings.PAYMENT_NOTIFY_URL = f"{live_server.url}/payments/notify/"
        settings.COURIER_CALLBACK_URL = f"{live_server.url}/courier/callback/"
        settings.COURIER_CALLBACK_SECRET = "test-only-courier-callback-secret"
        celery_worker_process(
            QUEUES,
            extra_env={
                "CUSTOMS_GATEWAY_URL": authority.customs_url,
                "CUSTOMS_CIQ_URL": authority.ciq_url,
                "CUSTOMS_RETRY_BASE_SECONDS": "0.3",
                "PAYMENT_PROVIDER_SECRET": settings.PAYMENT_PROVIDER_SECRET,
                "COURIER_CALLBACK_URL": settings.COURIER_CALLBACK_URL,
                "COURIER_CALLBACK_SECRET": settings.COURIER_CALLBACK_SECRET,
                "COURIER_SANDBOX_DELIVERY_SECONDS": "0",
            },
        ).start()
        _flow(world, live_server)
    finally:
        authority.stop()


def _flow(world, live_server):
    from django.test import Client

    shopper = Client()
    shopper.force_login(world.shopper.user, backend="marketplace.auth.PhoneOrUsernameBackend")
    shopper.post("/cart/", {"listing": world.paste.pk, "quantity": "2"})
    response = shopper.post("/checkout/", {
        "mode": "delivery", "consignee": "张三", "phone": "13800000009",
        "address": "郑州市金水路 1 号 2 单元", "district": "金水区", "confirm": "1",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[-1500:]
    number = re.search(r"/orders/(BP\d+)/", response["Location"]).group(1)
    assert Order.objects.get(number=number).delivery_mode == "delivery"
    # Filed by the worker; then paid on the sandbox page over real HTTP.
    wait_until(lambda: order_timeline(order_by_no(number))[2].at, timeout=60, interval=0.2)
    pay_url = shopper.post(f"/orders/{number}/pay/")["Location"]
    phone = requests.Session()
    phone.get(pay_url, timeout=10)
    phone.post(pay_url, data={"csrfmiddlewaretoken": phone.cookies["csrftoken"]}, timeout=10)
    wait_until(lambda: Order.objects.get(number=number).state == "released", timeout=90,
               interval=0.25)  # fmt: skip
    dock = Balance.objects.get(location=world.dock, item=world.paste.item)
    assert (dock.on_hand, dock.reserved) == (2, 2)

    # The warehouse: a new wave, scan both units, weigh, hand over.
    desk = Client()
    desk.force_login(operator())
    response = desk.post("/warehouse/waves/new")
    assert response.status_code == 302
    shipment = Shipment.objects.get(order_no=number)
    wave_url = f"/warehouse/waves/{shipment.wave.number}/"
    assert response["Location"] == wave_url
    while (line := next_line(shipment.wave)) is not None:
        desk.post(wave_url, {"action": "scan", "barcode": line.barcode})
    ship_url = f"/warehouse/shipments/{number}/"
    desk.post(ship_url, {"action": "pack", "weight": "1.79"})
    desk.post(ship_url, {"action": "dispatch"})
    desk.post(ship_url, {"action": "dispatch"})  # confirmed twice
    order = Order.objects.get(number=number)
    assert order.state in ("dispatched", "delivered") and order.dispatched_at is not None

    # The worker hands the parcel to the courier, who delivers and calls back over HTTP.
    # 120 s: under a second full suite on the same 2 cores the hand-over took over 60 s.
    wait_until(lambda: Order.objects.get(number=number).state == "delivered", timeout=120,
               interval=0.25)  # fmt: skip
    order = Order.objects.get(number=number)
    assert order.released_at <= order.dispatched_at <= order.delivered_at
    assert Move.objects.filter(reference=number, kind="issue").count() == 1
    dock.refresh_from_db()
    assert (dock.on_hand, dock.reserved) == (0, 0)
    assert SandboxParcel.objects.get(order_no=number).notified_at is not None
    shipment.refresh_from_db()
    assert shipment.state == "delivered" and shipment.measured_weight_kg == Decimal("1.790")
    # Both waybill statuses were filed and accepted by the authority process.
    wait_until(
        lambda: customs_selectors.waybill_for(number).status_state("S") == "accepted",
        timeout=60, interval=0.25,
    )  # fmt: skip
    assert customs_selectors.waybill_for(number).status_state("L") == "accepted"
    # The shopper's page: delivered, with courier and waybill number.
    page = shopper.get(f"/orders/{number}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert order.logistics_no in page and 'class="delivered"' in page
