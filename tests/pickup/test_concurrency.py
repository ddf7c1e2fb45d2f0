"""Two kiosks confirm the same pickup at the same instant: the goods leave once."""

import threading

import pytest
from django.db import connection
from django.test import Client

from bonded.models import Move
from marketplace.models import Order
from pickup.models import Kiosk
from pickup.services import pickup_handover
from tests.pickup.test_flow import ID, file_now, kiosk_client, pay, release, walk_in, world_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_simultaneous_confirms_on_two_kiosks_hand_over_once(settings, sandbox):
    world = world_for(settings)
    desk = kiosk_client("C-ZZ1")
    kiosk_client("C-ZZ1")
    barcode = world.paste.item.barcode
    placed = walk_in(desk, world, [barcode])
    file_now()
    pay(Client(), placed["order_no"])
    release(placed["order_no"])
    kiosks = list(Kiosk.objects.select_related("counter"))
    barrier = threading.Barrier(len(kiosks))
    results: list = []

    def confirm(kiosk):
        try:
            barrier.wait()
            result = pickup_handover(
                kiosk=kiosk, code=placed["pickup_code"], full_id=ID, barcodes=[barcode]
            )
            results.append(result.already)
        except Exception as exc:  # collected and asserted below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(k,)) for k in kiosks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)  # sized for a loaded machine; a hang still fails below
    assert sorted(results) == [False, True]
    assert Move.objects.filter(reference=placed["order_no"], kind="issue").count() == 1
    order = Order.objects.get(number=placed["order_no"])
    assert order.events.filter(to_state="delivered").count() == 1


def test_concurrent_issues_drawing_the_same_digits_give_every_order_its_own_code(monkeypatch):
    """Four orders get their first code at the same instant and all draw the same digits.

    Every thread has passed the "digits free?" check before any inserts (a barrier in front of
    the insert), which is the race a check-then-insert loses: the unique index lets one keep
    the digits and sends the others to draw again."""
    from django.db.models import Manager

    from pickup.models import PickupCode
    from pickup.services import codes
    from pickup.services.codes import code_find, code_for, pickup_code_issue
    from tests.pickup import factories
    from tests.pickup.test_codes import ForcedDigits

    factories.counter("C-ZZ1")
    orders = [
        factories.OrderFactory(state="released", delivery_mode="pickup", counter_code="C-ZZ1")
        for _ in range(4)
    ]
    forced = ForcedDigits({o.number: ["123456"] for o in orders})
    guard = threading.Lock()

    def derive(**kw):
        with guard:
            return forced(**kw)

    monkeypatch.setattr(codes, "code_derive", derive)
    barrier = threading.Barrier(len(orders))
    real_create = Manager.create
    arrived: set[int] = set()

    def create(self, **kw):
        if self.model is PickupCode and threading.get_ident() not in arrived:
            arrived.add(threading.get_ident())
            barrier.wait(timeout=30)  # everyone has checked; now all insert at once
        return real_create(self, **kw)

    monkeypatch.setattr(Manager, "create", create)
    errors: list = []

    def issue(order_pk):
        try:
            pickup_code_issue(order=Order.objects.get(pk=order_pk))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(o.pk,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(arrived) == len(orders)  # every thread really reached the insert together
    rows = list(PickupCode.objects.select_related("order"))
    assert sorted(r.order_id for r in rows) == sorted(o.pk for o in orders)
    digits = [code_for(r) for r in rows]
    assert len(set(digits)) == len(orders), digits
    assert digits.count("123456") == 1  # one kept the contested digits, the rest drew again
    for row, code in zip(rows, digits, strict=True):
        assert code_find(code=code).order_id == row.order_id
