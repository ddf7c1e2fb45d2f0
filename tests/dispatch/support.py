"""Helpers: a delivery order released by the real customs sandbox, and its shipment."""

from decimal import Decimal

from django.contrib.auth.models import Group

from customs import services as customs_services
from dispatch.models import Shipment
from dispatch.services import shipments_sync, wave_build
from marketplace.models import Order
from marketplace.services import HomeDelivery
from marketplace.tasks import clearance_changed
from tests.customs.support import drive
from tests.marketplace.factories import UserFactory
from tests.marketplace.support import pay, place

HOME = HomeDelivery(consignee="张三", phone="13800000009", address="郑州市金水路 1 号 2 单元")


def file_now():
    customs_services.declarations_file()
    customs_services.receipts_poll(authority="customs")


def released_delivery_order(world, client, *lines) -> Order:
    [order] = place(world, *(lines or ((world.paste, 2),)), delivery=HOME)
    file_now()
    pay(client, order)
    view = drive(order.number)
    assert view.state == "released", view
    clearance_changed(order_no=order.number, state=view.state)
    order = Order.objects.get(pk=order.pk)
    assert order.state == "released" and order.released_at is not None
    return order


def shipment_in_wave(world, client, *lines) -> Shipment:
    order = released_delivery_order(world, client, *lines)
    shipments_sync()
    wave = wave_build(actor="test")
    assert wave is not None
    return Shipment.objects.get(order_no=order.number)


def declared(shipment) -> Decimal:
    return shipment.declared_weight_kg


def operator(username="picker"):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Warehouse operator")[0])
    return user
