"""The courier allocates the waybill (the sandbox from its own range, never from our order
number); that number is the one filed with customs (CEB511 logisticsNo) under the courier's own
code, and printed on the label with the courier's label data. Counter pickup keeps the
platform's waybill. Waybills of orders that never left are given back."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import DomainError
from customs import messages
from customs.models import Declaration
from customs.services.filing import render_batch
from dispatch.courier import ParcelRequest, SandboxCourier
from dispatch.models import SandboxWaybill, WaybillAllocation
from dispatch.services.waybills import waybills_release
from tests.dispatch.support import HOME, operator
from tests.dispatch.test_parcels import packed
from tests.marketplace.support import place

pytestmark = pytest.mark.django_db


def filed(decl: Declaration) -> tuple[str, dict]:
    """(sender code, first record) of the message this declaration would be sent in."""
    xml, _masked = render_batch([decl], message_type="CEB511", guid="0" * 36)
    _type, _guid, sender, records = messages.parse(xml)
    return sender, records[0]


def test_the_courier_allocates_delivery_waybills_from_its_own_range(world, settings):
    settings.COURIER_SANDBOX_WAYBILL_PREFIX = "BX"
    first, second = (place(world, (world.paste, 1), delivery=HOME)[0] for _ in range(2))
    for order in (first, second):
        assert order.logistics_no.startswith("BX") and len(order.logistics_no) == 14
        assert order.number[2:] not in order.logistics_no  # not made from our number
        sandbox = SandboxWaybill.objects.get(order_no=order.number)
        assert sandbox.logistics_no == order.logistics_no  # the courier's own record
    assert int(second.logistics_no[2:]) == int(first.logistics_no[2:]) + 1
    allocation = WaybillAllocation.objects.get(order_no=first.number)
    assert allocation.logistics_no == first.logistics_no
    assert allocation.logistics_code == settings.COURIER_LOGISTICS_CODE
    assert allocation.sort_code and allocation.route.startswith(settings.COURIER_ORIGIN_CODE)
    with pytest.raises(IntegrityError), transaction.atomic():
        SandboxWaybill.objects.create(logistics_no=first.logistics_no, order_no="BP-OTHER")


def test_the_same_order_asked_twice_gets_the_same_waybill(world):
    parcel = ParcelRequest(order_no="BP20261203000001", consignee="张三", phone="13800000009",
                           address="郑州市金水路 1 号", weight_kg=1)  # fmt: skip
    courier = SandboxCourier()
    assert courier.allocate(parcel=parcel) == courier.allocate(parcel=parcel)
    assert SandboxWaybill.objects.count() == 1


def test_the_courier_files_its_waybill_under_its_own_code(world, settings):
    settings.COURIER_NAME = "Zhengzhou Test Express"
    [order] = place(world, (world.paste, 1), delivery=HOME)
    waybill = Declaration.objects.get(order_no=order.number, kind="waybill")
    sender, record = filed(waybill)
    head = record["head"]
    assert head["logisticsNo"] == order.logistics_no == waybill.business_no
    assert head["logisticsCode"] == settings.COURIER_LOGISTICS_CODE
    assert head["logisticsName"] == "Zhengzhou Test Express"
    assert sender == settings.COURIER_LOGISTICS_CODE != settings.CUSTOMS_SENDER_CODE
    # The order names the same logistics company (three-order comparison).
    assert (
        Declaration.objects.get(order_no=order.number, kind="order").payload["logistics_code"]
        == settings.COURIER_LOGISTICS_CODE
    )


def test_counter_pickup_keeps_the_platforms_waybill(world, settings):
    [order] = place(world, (world.paste, 1))
    assert order.logistics_no == f"YD{order.number[2:]}"
    assert not WaybillAllocation.objects.exists() and not SandboxWaybill.objects.exists()
    sender, record = filed(Declaration.objects.get(order_no=order.number, kind="waybill"))
    assert sender == settings.CUSTOMS_SENDER_CODE
    assert record["head"]["logisticsCode"] == settings.LOGISTICS_COMPANY_CODE


def test_waybills_of_orders_that_never_left_are_given_back(world, settings):
    [kept] = place(world, (world.paste, 1), delivery=HOME)
    with pytest.raises(DomainError):  # over the 5,000 per order: refused after allocating
        place(world, (world.shoes, 6), delivery=HOME)
    orphan = WaybillAllocation.objects.exclude(order_no=kept.number).get()
    assert waybills_release() == 0  # a checkout may still be running: not yet
    later = timezone.now() + timedelta(seconds=settings.COURIER_WAYBILL_RELEASE_SECONDS + 1)
    assert waybills_release(now=later) == 1
    orphan.refresh_from_db()
    assert orphan.cancelled_at is not None
    assert SandboxWaybill.objects.get(logistics_no=orphan.logistics_no).cancelled_at is not None
    kept_allocation = WaybillAllocation.objects.get(order_no=kept.number)
    assert kept_allocation.cancelled_at is None


def test_the_label_prints_the_couriers_number_and_label_data(world, client, sandbox):
    shipment = packed(world, client, (world.paste, 1))
    allocation = WaybillAllocation.objects.get(order_no=shipment.order_no)
    assert shipment.logistics_no == allocation.logistics_no
    client.force_login(operator())
    page = client.get(f"/warehouse/shipments/{shipment.order_no}/label/").content.decode()
    assert allocation.logistics_no in page
    assert allocation.sort_code in page and allocation.route in page
    assert allocation.destination_code in page


def test_the_admin_shows_the_couriers_allocation(world, admin_client):
    [order] = place(world, (world.paste, 1), delivery=HOME)
    allocation = WaybillAllocation.objects.get(order_no=order.number)
    page = admin_client.get("/admin/dispatch/waybillallocation/").content.decode()
    assert allocation.logistics_no in page and allocation.sort_code in page
    assert allocation.route in page and order.number in page


def test_a_lost_callback_is_caught_up_by_the_status_query(world, client, sandbox, settings):
    from dispatch.models import CourierEvent, SandboxParcel, Shipment
    from dispatch.services import shipment_collect, shipment_dispatch
    from dispatch.services.waybills import shipments_track
    from marketplace.models import Order

    settings.COURIER_SANDBOX_DELIVERY_SECONDS = 3600  # it delivers, its callback is lost
    shipment = packed(world, client, (world.paste, 1))
    shipment_dispatch(shipment_id=shipment.pk, actor="packer")
    shipment_collect(shipment_id=shipment.pk)
    later = timezone.now() + timedelta(seconds=settings.COURIER_STATUS_QUERY_SECONDS + 1)
    assert shipments_track(now=later) == 0  # collected only: nothing to deliver
    SandboxParcel.objects.filter(logistics_no=shipment.logistics_no).update(
        delivered_at=timezone.now()
    )
    assert shipments_track() == 0  # not due yet
    assert shipments_track(now=later) == 1
    assert shipments_track(now=later) == 0  # the same events again: applied once
    assert Order.objects.get(number=shipment.order_no).state == "delivered"
    assert Shipment.objects.get(pk=shipment.pk).state == "delivered"
    assert CourierEvent.objects.filter(logistics_no=shipment.logistics_no).count() == 2


def test_the_shipment_admin_shows_the_couriers_label_data(admin_client):
    from dispatch.models import Shipment

    now = timezone.now()
    shipment = Shipment.objects.create(
        order_no="BP20261203000009", warehouse_code="CW", logistics_code="4101980001",
        logistics_no="BX700000000042", declared_weight_kg=1, released_at=now,
        due_at=now + timedelta(hours=24),
    )  # fmt: skip
    WaybillAllocation.objects.create(
        order_no=shipment.order_no, provider="dispatch.courier.SandboxCourier",
        logistics_code="4101980001", logistics_name="Test Express",
        logistics_no=shipment.logistics_no, sort_code="755Q-17", destination_code="755",
        route="371-755",
    )  # fmt: skip
    page = admin_client.get(f"/admin/dispatch/shipment/{shipment.pk}/change/").content.decode()
    assert "Test Express (4101980001) · 755Q-17 · 755 · 371-755" in page


def test_waybills_of_different_filers_go_in_different_messages(world, sandbox, settings):
    from customs.models import GatewayMessage
    from customs.services import declarations_file

    place(world, (world.paste, 1))  # counter pickup: the platform files it
    place(world, (world.paste, 1), delivery=HOME)  # delivery: the courier files it
    declarations_file()
    senders = set()
    for message in GatewayMessage.objects.filter(message_type="CEB511"):
        _type, _guid, sender, records = messages.parse(message.xml.encode())
        assert len(records) == 1
        senders.add((sender, records[0]["head"]["logisticsNo"][:2]))
    platform, courier = settings.CUSTOMS_SENDER_CODE, settings.COURIER_LOGISTICS_CODE
    assert senders == {(platform, "YD"), (courier, "BX")}
