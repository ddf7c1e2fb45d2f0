"""The whole walk-in journey through the kiosk API, against the real customs sandbox:
register, order by scanning, pay, filing and release, collect; plus the handover's refusals."""

import pytest

from bonded.models import Move
from customs import selectors as customs_selectors
from marketplace import payment_provider
from marketplace.models import Order, Payment, SandboxCharge
from marketplace.tasks import clearance_changed
from pickup.models import Attempt, PickupCode
from pickup.services import kiosk_create
from tests.customs.support import drive
from tests.marketplace.factories import OrderWorld
from tests.marketplace.support import notify

pytestmark = pytest.mark.django_db
ID = "11010519491231002X"


def world_for(settings) -> OrderWorld:
    settings.DELIVERY_DOCK_CODE = "CW-DOCK"
    settings.PAYMENT_PROVIDER_SECRET = "test-only-payment-provider-secret"
    return OrderWorld()


@pytest.fixture
def world(db, settings):
    return world_for(settings)


def kiosk_client(counter_code: str):
    from rest_framework.test import APIClient

    _kiosk, key = kiosk_create(name=counter_code, counter_code=counter_code, actor="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Kiosk {key}")
    return client


@pytest.fixture
def desk(world):
    return kiosk_client("C-ZZ1")


def file_now():
    from customs import services

    services.declarations_file()
    services.receipts_poll(authority="customs")


def pay(client, order_no: str) -> None:
    payment = Payment.objects.filter(order__number=order_no).latest("pk")
    payment_provider.sandbox_pay(token=payment.token)
    assert notify(client, SandboxCharge.objects.get(token=payment.token)).status_code == 200


def release(order_no: str) -> None:
    drive(order_no)
    view = customs_selectors.order_clearance(order_no)
    clearance_changed(order_no=order_no, state=view.state)


def walk_in(desk, world, barcodes) -> dict:
    body = {"real_name": "王芳", "resident_id": ID, "mobile": "13912345678"}
    assert desk.post("/api/v1/kiosk/walkin/shoppers", body).status_code == 201
    response = desk.post("/api/v1/kiosk/walkin/orders", {"resident_id": ID, "barcodes": barcodes})
    assert response.status_code == 201, response.data
    [placed] = response.data
    return placed


def test_walk_in_shopper_registers_orders_pays_and_collects(world, desk, sandbox, client):
    paste = world.paste.item.barcode
    placed = walk_in(desk, world, [paste, paste])
    order_no, code = placed["order_no"], placed["pickup_code"]
    assert placed["pay_url"].startswith("http") and "<svg" in placed["pay_qr_svg"]
    order = Order.objects.get(number=order_no)
    assert (order.delivery_mode, order.counter_code) == ("pickup", "C-ZZ1")
    assert order.lines.get().quantity == 2

    status = desk.get(f"/api/v1/kiosk/orders/{order_no}")
    assert status.data["state"] == "placed"
    # before release the code opens nothing
    assert desk.post("/api/v1/kiosk/pickups/lookup", {"code": code}).data["code"] == "not_ready"

    file_now()
    pay(client, order_no)
    release(order_no)
    status = desk.get(f"/api/v1/kiosk/orders/{order_no}")
    assert status.data["state"] == "released"

    found = desk.post("/api/v1/kiosk/pickups/lookup", {"code": code})
    assert found.status_code == 200, found.data
    assert found.data["shopper_masked_id"].endswith("002X") and ID not in str(found.data)
    assert [i["quantity"] for i in found.data["items"]] == [2]
    ok = desk.post("/api/v1/kiosk/pickups/identity", {"code": code, "id_last6": "31002X"})
    assert ok.status_code == 200 and ok.data["identity_ok"] is True
    body = {"code": code, "id_last6": "31002X", "barcodes": [paste, paste]}
    done = desk.post("/api/v1/kiosk/pickups/handover", body, format="json")
    assert done.status_code == 200, done.data
    assert done.data["state"] == "delivered" and done.data["already"] is False
    assert Move.objects.filter(reference=order_no, kind="issue").count() == 1
    row = PickupCode.objects.get(order__number=order_no)
    assert row.used_at is not None and row.used_by is not None

    # the journey: all five steps stamped, in order
    steps = done.data["journey"]
    assert [s["key"] for s in steps] == [
        "registration", "ordering", "filing", "payment", "delivery",
    ]  # fmt: skip
    times = [s["at"] for s in steps]
    assert all(times) and times == sorted(times)


@pytest.fixture
def released(world, desk, sandbox, client):
    """A walk-in order paid and released at C-ZZ1: (order number, code, barcode)."""
    paste = world.paste.item.barcode
    placed = walk_in(desk, world, [paste])
    file_now()
    pay(client, placed["order_no"])
    release(placed["order_no"])
    return placed["order_no"], placed["pickup_code"], paste


def test_a_double_confirm_hands_over_once(desk, released):
    order_no, code, barcode = released
    body = {"code": code, "id_full": ID, "barcodes": [barcode]}
    first = desk.post("/api/v1/kiosk/pickups/handover", body, format="json")
    second = desk.post("/api/v1/kiosk/pickups/handover", body, format="json")
    assert first.status_code == second.status_code == 200
    assert (first.data["already"], second.data["already"]) == (False, True)
    assert first.data["handed_over_at"] == second.data["handed_over_at"]
    assert Move.objects.filter(reference=order_no, kind="issue").count() == 1
    assert Order.objects.get(number=order_no).events.filter(to_state="delivered").count() == 1
    # a later lookup of the used code is told the goods are gone
    assert desk.post("/api/v1/kiosk/pickups/lookup", {"code": code}).data["code"] == "code_used"


def test_missing_or_extra_item_blocks_the_handover(world, desk, released):
    order_no, code, barcode = released
    url = "/api/v1/kiosk/pickups/handover"
    extra = {"code": code, "id_last6": "31002X", "barcodes": [barcode, world.milk.item.barcode]}
    response = desk.post(url, extra, format="json")
    assert response.status_code == 400 and response.data["code"] == "items_mismatch"
    assert response.data["extra"]["extra"] == {world.milk.item.barcode: 1}
    twice = {"code": code, "id_last6": "31002X", "barcodes": [barcode, barcode]}
    assert desk.post(url, twice, format="json").data["extra"]["extra"] == {barcode: 1}
    assert Order.objects.get(number=order_no).state == "released"
    assert Attempt.objects.filter(kind="handover", reason="items_mismatch").count() == 2


def test_wrong_identity_blocks_the_handover(desk, released):
    order_no, code, barcode = released
    body = {"code": code, "id_last6": "000000", "barcodes": [barcode]}
    response = desk.post("/api/v1/kiosk/pickups/handover", body, format="json")
    assert response.data["code"] == "identity_mismatch"
    assert Order.objects.get(number=order_no).state == "released"


def test_another_counter_is_refused_and_told_where_the_goods_are(world, released):
    from tests.marketplace.factories import LocationFactory

    LocationFactory(
        code="C-ZZ2", kind="counter", warehouse=world.warehouse, inside_supervision_zone=True
    )
    other = kiosk_client("C-ZZ2")
    order_no, code, barcode = released
    body = {"code": code, "id_last6": "31002X", "barcodes": [barcode]}
    response = other.post("/api/v1/kiosk/pickups/handover", body, format="json")
    assert response.status_code == 409 and response.data["code"] == "wrong_counter"
    assert response.data["extra"]["counter_code"] == "C-ZZ1"
    assert Order.objects.get(number=order_no).state == "released"
    assert other.get(f"/api/v1/kiosk/orders/{order_no}").status_code == 404  # not its counter


def test_handover_before_release_is_refused(world, desk, sandbox, client):
    paste = world.paste.item.barcode
    placed = walk_in(desk, world, [paste])
    file_now()
    pay(client, placed["order_no"])  # paid, not yet released
    body = {"code": placed["pickup_code"], "id_last6": "31002X", "barcodes": [paste]}
    response = desk.post("/api/v1/kiosk/pickups/handover", body, format="json")
    assert response.status_code == 409 and response.data["code"] == "not_ready"
    assert Move.objects.filter(reference=placed["order_no"], kind="issue").count() == 0


def test_overdue_uncollected_orders_go_to_staff(released, settings, admin_client):
    from datetime import timedelta

    from django.utils import timezone

    from pickup.tasks import pickups_mark_overdue

    order_no, _code, _barcode = released
    assert pickups_mark_overdue() == 0
    Order.objects.filter(number=order_no).update(
        released_at=timezone.now() - timedelta(days=settings.PICKUP_DEADLINE_DAYS, hours=1)
    )
    assert pickups_mark_overdue() == 1
    assert pickups_mark_overdue() == 0  # idempotent
    page = admin_client.get("/admin/pickup/pickupcode/?return_due=yes").content.decode()
    assert order_no in page


def test_order_page_shows_the_code_only_once_released(world, sandbox, client):
    """A web order for pickup: the marketplace order page renders pickup's panel."""
    from marketplace.services import payment_start
    from tests.marketplace.support import place

    [order] = place(world, (world.paste, 1))
    client.force_login(world.shopper.user, backend="marketplace.auth.PhoneOrUsernameBackend")
    before = client.get(f"/orders/{order.number}/").content.decode()
    assert "pickup-panel" in before and 'data-testid="pickup-code"' not in before
    file_now()
    payment_start(order=order)
    pay(client, order.number)
    release(order.number)
    page = client.get(f"/orders/{order.number}/").content.decode()
    from pickup.services.codes import code_for

    code = code_for(PickupCode.objects.get(order__number=order.number))
    assert f'data-testid="pickup-code">{code}<' in page and "<svg" in page


def test_the_sweep_issues_codes_for_web_pickup_orders(world):
    from marketplace.services import HomeDelivery
    from pickup.tasks import pickup_codes_issue
    from tests.marketplace.support import place

    [pickup] = place(world, (world.paste, 1))
    [home] = place(
        world,
        (world.paste, 1),
        delivery=HomeDelivery(
            consignee="张三", phone="13800000009", district="郑州市", address="经开区 1 号"
        ),
    )
    assert pickup_codes_issue() == 1
    assert pickup_codes_issue() == 0
    assert PickupCode.objects.filter(order=pickup).exists()
    assert not PickupCode.objects.filter(order=home).exists()
