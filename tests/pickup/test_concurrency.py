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
