"""Every change of an order's clearance is announced to CUSTOMS_CLEARANCE_LISTENERS."""

import uuid

import pytest
from celery import current_app

from customs import services
from customs.models import Declaration
from tests.customs.factories import order_filing, payment_filing, waybill_filing

pytestmark = pytest.mark.django_db
LISTENER = "marketplace.tasks.order_clearance_sync"


@pytest.fixture
def announced(settings, monkeypatch):
    settings.CUSTOMS_CLEARANCE_LISTENERS = [LISTENER]
    calls = []

    def send_task(name, kwargs=None, **options):
        calls.append((name, kwargs["order_no"], kwargs["state"]))

    monkeypatch.setattr(current_app, "send_task", send_task)
    return calls


def _receipt(decl, status, invt_no=""):
    ids = services.receipts_record(
        receipts=[{"guid": str(uuid.uuid4()), "declGuid": decl.guid, "orderNo": decl.order_no,
                   "returnStatus": status, "invtNo": invt_no, "returnInfo": f"status {status}"}],
        source="push",
    )  # fmt: skip
    services.receipt_apply(receipt_id=ids[0])


def test_listeners_hear_declared_held_and_released_after_commit(
    zone, announced, django_capture_on_commit_callbacks
):
    order = order_filing(zone)
    with django_capture_on_commit_callbacks(execute=True):
        services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
        services.declaration_create_payment(payment=payment_filing(order))
        for decl in Declaration.objects.filter(order_no=order.order_no):
            _receipt(decl, 120)
        inventory = Declaration.objects.get(order_no=order.order_no, kind="inventory")
        _receipt(inventory, 500)
        _receipt(inventory, 500)  # duplicate: no second announcement
        _receipt(inventory, 800, invt_no="INVL")
    assert announced == [
        (LISTENER, order.order_no, "declared"),
        (LISTENER, order.order_no, "held"),
        (LISTENER, order.order_no, "released"),
    ]


def test_listeners_hear_rejection_and_nothing_before_commit(
    zone, announced, django_capture_on_commit_callbacks
):
    order = order_filing(zone)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
        decl = Declaration.objects.get(order_no=order.order_no, kind="order")
        _receipt(decl, 100)
    assert announced == []  # only on commit
    for callback in callbacks:
        callback()
    assert (LISTENER, order.order_no, "rejected") in announced


def test_listeners_hear_cancellation(zone, announced, django_capture_on_commit_callbacks):
    order = order_filing(zone)
    with django_capture_on_commit_callbacks(execute=True):
        services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
        services.declarations_cancel_for_order(order_no=order.order_no, reason="expired unpaid")
    assert announced == [(LISTENER, order.order_no, "cancelled")]
    assert set(Declaration.objects.values_list("state", flat=True)) == {"cancelled"}
