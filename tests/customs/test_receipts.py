"""Receipts arrive twice, late or out of order: states never move backwards, release once."""

import json
import uuid

import pytest
from django.conf import settings

from bonded.models import AccountBookEntry, Balance, Move
from bonded.services import reservation_release_from_bond
from customs import selectors, services
from customs.models import Declaration, Receipt
from customs.signing import signed_headers
from tests.customs.factories import order_filing, payment_filing, waybill_filing

pytestmark = pytest.mark.django_db
URL = "/api/v1/customs/receipts"


def _declared(zone):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    Declaration.objects.filter(order_no=order.order_no).update(state="accepted")
    inventory = services.inventory_declare(order_no=order.order_no)
    Declaration.objects.filter(pk=inventory.pk).update(state="sent")
    return order, inventory


def _receipt(decl, status, *, guid=None, info="", invt_no="") -> str:
    ids = services.receipts_record(
        receipts=[
            {
                "guid": guid or str(uuid.uuid4()),
                "authority": decl.authority,
                "declGuid": decl.guid,
                "orderNo": decl.order_no,
                "returnStatus": status,
                "returnInfo": info,
                "invtNo": invt_no,
            }
        ],
        source="push",
    )
    return services.receipt_apply(receipt_id=ids[0]) if ids else "duplicate"


def test_duplicate_receipt_is_recorded_once_and_a_repeat_status_changes_nothing(zone):
    _order, inventory = _declared(zone)
    assert _receipt(inventory, 120, guid="R-1", invt_no="INV1") == "applied"
    assert _receipt(inventory, 120, guid="R-1") == "duplicate"
    assert _receipt(inventory, 120, guid="R-2") == "stale"
    assert Receipt.objects.filter(decl_guid=inventory.guid).count() == 2
    inventory.refresh_from_db()
    assert inventory.state == "accepted"


def test_out_of_order_receipts_never_move_a_state_backwards(zone):
    order, inventory = _declared(zone)
    assert _receipt(inventory, 800, invt_no="INV2") == "applied"
    assert _receipt(inventory, 399) == "stale"
    assert _receipt(inventory, 120) == "stale"
    assert _receipt(inventory, 100, info="late rejection") == "stale"
    inventory.refresh_from_db()
    assert (inventory.state, inventory.return_status) == ("released", 800)
    view = selectors.order_clearance(order.order_no)
    assert view.state == "released" and view.inventory_list_no == "INV2" and view.goods_released


def test_release_writes_off_and_moves_the_goods_exactly_once(zone):
    order, inventory = _declared(zone)
    _receipt(inventory, 120, invt_no="INV3")
    _receipt(inventory, 800)
    _receipt(inventory, 800)
    _receipt(inventory, 899)
    services.clearance_release_goods(order_no=order.order_no)
    reservation_release_from_bond(
        reference=order.order_no, inventory_list_no="INV3", destination_code=zone.counter.code
    )
    assert AccountBookEntry.objects.filter(document_no="INV3").count() == 1
    assert Move.objects.filter(reference=order.order_no, kind="release").count() == 1
    counter = Balance.objects.get(item=zone.paste, location=zone.counter)
    assert counter.on_hand == 2


def test_delivery_order_goes_to_the_outbound_dock(zone):
    order = order_filing(zone, delivery_mode="delivery", destination_code=zone.dock.code)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    Declaration.objects.filter(order_no=order.order_no).update(state="accepted")
    inventory = services.inventory_declare(order_no=order.order_no)
    _receipt(inventory, 800, invt_no="INV4")
    assert Balance.objects.get(item=zone.paste, location=zone.dock).on_hand == 2


def test_a_refused_release_is_kept_and_retried_by_the_sweep(zone, monkeypatch):
    from customs.services import release

    order, inventory = _declared(zone)
    calls = []

    def broken(**kwargs):
        calls.append(kwargs)
        from bonded.errors import ReservationNotFound

        raise ReservationNotFound(reference=kwargs["order_no"])

    monkeypatch.setattr(release, "release_from_bond", broken)
    _receipt(inventory, 800, invt_no="INV5")
    view = selectors.order_clearance(order.order_no)
    assert view.state == "released" and not view.goods_released
    monkeypatch.undo()
    assert services.clearance_release_goods(order_no=order.order_no)
    assert selectors.order_clearance(order.order_no).goods_released
    assert AccountBookEntry.objects.filter(document_no="INV5").count() == 1


def test_payment_receipts_stop_at_accepted(zone):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    payment = Declaration.objects.get(order_no=order.order_no, kind="payment")
    assert _receipt(payment, 120) == "applied"
    assert _receipt(payment, 800) == "stale"


def test_inventory_list_is_declared_only_when_all_three_are_accepted(zone):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    decls = {d.kind: d for d in Declaration.objects.filter(order_no=order.order_no)}
    _receipt(decls["order"], 120)
    _receipt(decls["waybill"], 120)
    assert not Declaration.objects.filter(kind="inventory").exists()
    _receipt(decls["payment"], 120)
    assert Declaration.objects.filter(kind="inventory", order_no=order.order_no).count() == 1
    _receipt(decls["payment"], 120)  # a late duplicate declares nothing twice
    assert Declaration.objects.filter(kind="inventory", order_no=order.order_no).count() == 1


def test_receipt_for_an_unknown_declaration_is_kept_but_changes_nothing(db):
    ids = services.receipts_record(
        receipts=[{"guid": "X1", "declGuid": "nope", "orderNo": "BP0", "returnStatus": 800}],
        source="poll",
    )
    assert services.receipt_apply(receipt_id=ids[0]) == "unknown declaration"


# --- the signed endpoint -----------------------------------------------------------------------
def _post(client, body: bytes, headers=None):
    headers = headers or signed_headers(
        secret=settings.CUSTOMS_GATEWAY_SECRET, method="POST", path=URL, body=body, sender="GW"
    )
    return client.post(
        URL, data=body, content_type="application/json",
        headers=dict(headers),
    )  # fmt: skip


def test_signed_receipt_push_is_recorded_and_replays_are_refused(zone, client):
    _order, inventory = _declared(zone)
    row = {"guid": "P1", "declGuid": inventory.guid, "orderNo": inventory.order_no,
           "returnStatus": 120, "invtNo": "INV6", "authority": "customs"}  # fmt: skip
    body = json.dumps({"receipts": [row]}).encode()
    headers = signed_headers(
        secret=settings.CUSTOMS_GATEWAY_SECRET, method="POST", path=URL, body=body, sender="GW"
    )
    response = _post(client, body, headers)
    assert response.status_code == 200 and response.json()["recorded"] == 1
    replay = _post(client, body, headers)
    assert replay.status_code == 401 and replay.json()["code"] == "customs_bad_signature"
    again = _post(client, body)  # freshly signed duplicate: accepted, recorded nothing new
    assert again.status_code == 200 and again.json()["recorded"] == 0
    assert services.receipts_apply_pending() == 1
    inventory.refresh_from_db()
    assert inventory.state == "accepted"


def test_unsigned_or_tampered_receipt_push_is_refused(client):
    body = json.dumps({"receipts": []}).encode()
    assert client.post(URL, data=body, content_type="application/json").status_code == 401
    headers = signed_headers(secret="wrong", method="POST", path=URL, body=body, sender="GW")
    assert _post(client, body, headers).status_code == 401
    assert not Receipt.objects.exists()


def test_a_pushed_batch_is_one_task_applied_in_arrival_order(zone, client, monkeypatch):
    from customs import apis, tasks

    sent = []
    monkeypatch.setattr(apis, "send_on_commit", lambda name, args: sent.append((name, args)))
    _order, inventory = _declared(zone)
    rows = [
        {"guid": f"B{status}", "declGuid": inventory.guid, "orderNo": inventory.order_no,
         "returnStatus": status, "invtNo": "INV7", "authority": "customs"}
        for status in (120, 399)
    ]  # fmt: skip
    response = _post(client, json.dumps({"receipts": rows}).encode())
    assert response.status_code == 200 and response.json()["recorded"] == 2
    [(name, (ids,))] = sent
    assert name == "customs.tasks.receipts_process" and len(ids) == 2
    assert tasks.receipts_process(ids) == 2
    inventory.refresh_from_db()
    assert inventory.state == "concluded"  # 120 then 399, in that order
    assert not Receipt.objects.filter(applied_at__isnull=True).exists()


def test_recording_a_batch_keeps_each_guid_once_in_arrival_order(db):
    rows = [
        {"guid": g, "declGuid": "d", "orderNo": "BP1", "returnStatus": 2}
        for g in ("R2", "R1", "R2", "R3")
    ]
    ids = services.receipts_record(receipts=rows, source="push")
    assert [Receipt.objects.get(pk=pk).guid for pk in ids] == ["R2", "R1", "R3"]
    assert services.receipts_record(receipts=[*rows, {**rows[0], "guid": "R4"}], source="push")
    assert Receipt.objects.count() == 4


def test_a_malformed_receipt_in_a_batch_records_nothing(db):
    from customs.errors import InvalidMessage

    rows = [{"guid": "OK1", "returnStatus": 2}, {"guid": "BAD", "returnStatus": "x"}]
    with pytest.raises(InvalidMessage):
        services.receipts_record(receipts=rows, source="push")
    assert not Receipt.objects.exists()
