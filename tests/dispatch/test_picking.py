"""Waves of pick lists in walk order, barcode scans, wrong-item and short-pick stops, and the
fixes that let picking go on (against the real customs sandbox for the release)."""

import pytest

from dispatch import errors
from dispatch.models import Mismatch, PickLine, Shipment, Wave
from dispatch.selectors import pick_list
from dispatch.services import (
    mismatch_resolve,
    pick_scan,
    pick_short,
    shipment_requeue,
    shipments_sync,
    wave_build,
)
from dispatch.services.picking import next_line
from tests.dispatch.support import released_delivery_order, shipment_in_wave

pytestmark = pytest.mark.django_db


def test_a_released_delivery_order_opens_one_shipment_with_lines_at_its_storage(
    world, client, sandbox
):
    order = released_delivery_order(world, client, (world.paste, 2), (world.shoes, 1))
    assert shipments_sync() == 1
    assert shipments_sync() == 0  # idempotent
    shipment = Shipment.objects.get(order_no=order.number)
    assert shipment.logistics_no == order.logistics_no and shipment.wave is None
    assert shipment.declared_weight_kg == 3 * world.paste.item.gross_weight_kg
    lines = {(x.item_no, x.quantity, x.location_code, x.barcode) for x in shipment.lines.all()}
    assert lines == {
        ("PASTE01", 2, "CW-A", world.paste.item.barcode),
        ("SHOE01", 1, "CW-A", world.shoes.item.barcode),
    }
    assert (shipment.due_at - shipment.released_at).total_seconds() == 24 * 3600


def test_opening_shipments_reads_the_same_for_one_order_or_several(world, client, sandbox):
    from django.db import connection

    def sync_counting_reads() -> tuple[int, list[str]]:
        reads = []

        def count_reads(run, sql, *args):
            if sql.lstrip().upper().startswith("SELECT"):
                reads.append(sql)
            return run(sql, *args)

        with connection.execute_wrapper(count_reads):
            opened = shipments_sync()
        return opened, reads

    released_delivery_order(world, client, (world.paste, 1))
    opened_one, reads_one = sync_counting_reads()
    for _ in range(3):
        released_delivery_order(world, client, (world.paste, 1), (world.shoes, 1))
    opened_three, reads_three = sync_counting_reads()
    assert (opened_one, opened_three) == (1, 3)
    # Only the writes grow with the orders.
    assert len(reads_three) == len(reads_one), "\n".join(reads_three)


def test_pickup_orders_never_become_shipments(world, client, sandbox):
    from marketplace.tasks import clearance_changed
    from tests.customs.support import drive
    from tests.marketplace.support import pay, place

    [order] = place(world, (world.paste, 1))
    pay(client, order)
    clearance_changed(order_no=order.number, state=drive(order.number).state)
    assert shipments_sync() == 0


def _shipment(no, lines, hours_left=20):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    shipment = Shipment.objects.create(
        order_no=no, warehouse_code="CW", logistics_code="4101980001", logistics_no=f"YD{no}",
        declared_weight_kg=1, released_at=now - timedelta(hours=24 - hours_left),
        due_at=now + timedelta(hours=hours_left),
    )  # fmt: skip
    for gnum, (item_no, location, walk, qty) in enumerate(lines, start=1):
        PickLine.objects.create(
            shipment=shipment, gnum=gnum, item_no=item_no, barcode=f"69{item_no}",
            name_zh=item_no, name_en=item_no, location_code=location, walk_order=walk,
            quantity=qty,
        )  # fmt: skip
    return shipment


def test_waves_group_lines_by_location_in_walk_order(db):
    late = _shipment("BP1", [("C", "ZZ-B", 2, 1), ("A", "ZZ-A", 1, 1)], hours_left=10)
    soon = _shipment("BP2", [("B", "ZZ-B", 2, 1), ("A", "ZZ-A", 1, 2)], hours_left=2)
    wave = wave_build(actor="test", size=10)
    assert set(wave.shipments.all()) == {late, soon}
    groups = pick_list(wave)
    assert [g.location_code for g in groups] == ["ZZ-A", "ZZ-B"]
    assert [(x.item_no, x.shipment.order_no) for x in groups[0].lines] == [
        ("A", "BP2"), ("A", "BP1"),  # same item: the order due first
    ]  # fmt: skip
    assert [x.item_no for x in groups[1].lines] == ["B", "C"]
    walk = []
    while (line := next_line(wave)) is not None:
        walk.append((line.location_code, line.item_no, line.shipment.order_no))
        pick_scan(wave_id=wave.pk, barcode=line.barcode, actor="picker")
    assert walk == [("ZZ-A", "A", "BP2"), ("ZZ-A", "A", "BP2"), ("ZZ-A", "A", "BP1"),
                    ("ZZ-B", "B", "BP2"), ("ZZ-B", "C", "BP1")]  # fmt: skip


def test_a_wave_takes_the_orders_due_first_up_to_its_size(db):
    for n, hours in enumerate([20, 3, 12], start=1):
        _shipment(f"BP{n}", [("A", "ZZ-A", 1, 1)], hours_left=hours)
    first = wave_build(actor="test", size=2)
    assert sorted(first.shipments.values_list("order_no", flat=True)) == ["BP2", "BP3"]
    second = wave_build(actor="test", size=2)
    assert list(second.shipments.values_list("order_no", flat=True)) == ["BP1"]
    assert first.number != second.number and first.day == second.day


def test_scanning_the_right_barcodes_picks_the_order_and_closes_the_wave(world, client, sandbox):
    shipment = shipment_in_wave(world, client, (world.paste, 2), (world.shoes, 1))
    wave = shipment.wave
    seen = []
    while (line := next_line(wave)) is not None:
        seen.append(line.item_no)
        pick_scan(wave_id=wave.pk, barcode=f" {line.barcode} ", actor="picker")
    assert seen == ["PASTE01", "PASTE01", "SHOE01"]  # walk order, then item number
    shipment.refresh_from_db()
    wave.refresh_from_db()
    assert shipment.state == "picked" and shipment.picked_at is not None
    assert wave.state == Wave.State.DONE
    with pytest.raises(errors.NothingToPick):
        pick_scan(wave_id=wave.pk, barcode=world.paste.item.barcode, actor="picker")


def test_a_wrong_scan_stops_the_order_until_the_item_is_put_back(world, client, sandbox):
    shipment = shipment_in_wave(world, client, (world.paste, 1))
    wave = shipment.wave
    with pytest.raises(errors.WrongItemScanned) as refused:
        pick_scan(wave_id=wave.pk, barcode=world.milk.item.barcode, actor="picker")
    assert refused.value.code == "wrong_item"
    shipment.refresh_from_db()
    stop = Mismatch.objects.get(shipment=shipment)  # recorded, despite the refusal
    assert shipment.state == "stopped" and stop.kind == "wrong_item"
    assert stop.found == world.milk.item.barcode and stop.expected == world.paste.item.barcode
    assert PickLine.objects.get(shipment=shipment).picked == 0
    # While stopped, even the right item is refused: fix first.
    with pytest.raises(errors.ShipmentStopped):
        pick_scan(wave_id=wave.pk, barcode=world.paste.item.barcode, actor="picker")
    with pytest.raises(errors.BadResolution):
        mismatch_resolve(mismatch_id=stop.pk, resolution="found", actor="picker")
    mismatch_resolve(mismatch_id=stop.pk, resolution="put_back", actor="picker")
    with pytest.raises(errors.MismatchAlreadyFixed):
        mismatch_resolve(mismatch_id=stop.pk, resolution="put_back", actor="picker")
    pick_scan(wave_id=wave.pk, barcode=world.paste.item.barcode, actor="picker")
    shipment.refresh_from_db()
    assert shipment.state == "picked"


def test_a_short_pick_stops_the_order_and_found_units_let_picking_go_on(world, client, sandbox):
    shipment = shipment_in_wave(world, client, (world.paste, 3))
    wave = shipment.wave
    line = shipment.lines.get()
    pick_scan(wave_id=wave.pk, barcode=line.barcode, actor="picker")
    with pytest.raises(errors.BadShortCount):
        pick_short(line_id=line.pk, on_shelf=2, actor="picker")  # 2 are still needed: not short
    stop = pick_short(line_id=line.pk, on_shelf=1, actor="picker")
    assert (stop.kind, stop.expected, stop.found) == ("short_pick", "2", "1")
    shipment.refresh_from_db()
    assert shipment.state == "stopped"
    with pytest.raises(errors.ShipmentStopped):
        pick_scan(wave_id=wave.pk, barcode=line.barcode, actor="picker")
    mismatch_resolve(mismatch_id=stop.pk, resolution="found", actor="lead", note="on B shelf")
    pick_scan(wave_id=wave.pk, barcode=line.barcode, actor="picker")
    pick_scan(wave_id=wave.pk, barcode=line.barcode, actor="picker")
    shipment.refresh_from_db()
    assert shipment.state == "picked" and shipment.lines.get().picked == 3


def test_a_short_pick_held_for_a_stock_check_leaves_the_wave_and_comes_back(world, client, sandbox):
    shipment = shipment_in_wave(world, client, (world.paste, 2))
    wave = shipment.wave
    line = shipment.lines.get()
    stop = pick_short(line_id=line.pk, on_shelf=0, actor="picker")
    mismatch_resolve(mismatch_id=stop.pk, resolution="hold", actor="lead")
    shipment.refresh_from_db()
    wave.refresh_from_db()
    assert shipment.wave is None and shipment.state == "stopped"
    assert wave.state == Wave.State.DONE  # nothing left to pick in it
    shipment_requeue(shipment_id=shipment.pk, actor="lead")
    again = wave_build(actor="test")
    assert again is not None and again.pk != wave.pk
    assert again.shipments.get().pk == shipment.pk
