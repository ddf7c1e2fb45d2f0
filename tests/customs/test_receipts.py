"""Receipts arrive twice, late or out of order: states never move backwards, release once."""

import json
import uuid

import pytest
from django.conf import settings

from bonded.models import AccountBookEntry, Balance, LedgerOperation, Move, Reservation
from bonded.services import reservation_release_from_bond
from customs import selectors, services
from customs.models import Declaration, OrderClearance, Receipt
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
    assert selectors.order_clearance(order.order_no).state == "released"
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


def _pushed(inventory, statuses, *, invt_no: str, prefix: str) -> list[dict]:
    """The authority's receipts for the inventory list, one per status, as a push carries them."""
    return [
        {"guid": f"{prefix}{status}", "declGuid": inventory.guid, "orderNo": inventory.order_no,
         "returnStatus": status, "invtNo": invt_no, "authority": "customs"}
        for status in statuses
    ]  # fmt: skip


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
    assert replay.status_code == 403 and replay.json()["code"] == "replayed"
    inventory.refresh_from_db()
    assert inventory.state == "accepted"  # applied in the push's own request
    again = _post(client, body)  # freshly signed duplicate: accepted, recorded nothing new
    assert again.status_code == 200 and again.json()["recorded"] == 0
    assert services.receipts_apply_pending() == 0


def test_unsigned_or_tampered_receipt_push_is_refused(client):
    body = json.dumps({"receipts": []}).encode()
    unsigned = client.post(URL, data=body, content_type="application/json")
    assert unsigned.status_code == 403 and unsigned.json()["code"] == "bad_signature"
    headers = signed_headers(secret="wrong", method="POST", path=URL, body=body, sender="GW")
    tampered = _post(client, body, headers)
    assert tampered.status_code == 403 and tampered.json()["code"] == "bad_signature"
    assert not Receipt.objects.exists()


def test_a_pushed_batch_is_applied_in_its_request_in_arrival_order_without_a_task(
    zone, client, monkeypatch
):
    """CUSTOMS_RECEIPTS_APPLY_INLINE (the default, issue #19): the push's receipts are stored,
    then applied before the authority gets its answer; no task, no queue wait."""
    from customs.services import receipts as receipt_services

    sent = []
    monkeypatch.setattr(receipt_services, "send_coalesced_on_commit", sent.append)
    _order, inventory = _declared(zone)
    rows = _pushed(inventory, (120, 399), invt_no="INV7", prefix="B")
    response = _post(client, json.dumps({"receipts": rows}).encode())
    assert response.status_code == 200 and response.json()["recorded"] == 2
    assert sent == []
    inventory.refresh_from_db()
    assert (inventory.state, inventory.return_status) == ("concluded", 399)  # 120, then 399
    assert list(Receipt.objects.values_list("outcome", flat=True).order_by("id")) == [
        "applied",
        "applied",
    ]
    assert not Receipt.objects.filter(applied_at__isnull=True).exists()


def test_a_push_that_cannot_be_applied_is_kept_for_the_task_and_the_sweep(
    zone, client, monkeypatch
):
    from customs import tasks
    from customs.services import receipts as receipt_services

    sent = []
    monkeypatch.setattr(receipt_services, "send_coalesced_on_commit", sent.append)
    _order, inventory = _declared(zone)
    rows = _pushed(inventory, (120,), invt_no="INV8", prefix="F")
    real_apply = receipt_services._Batch.apply

    def broken(self):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(receipt_services._Batch, "apply", broken)
    response = _post(client, json.dumps({"receipts": rows}).encode())
    # stored and acknowledged: the authority must not send it again, and nothing is lost
    assert response.status_code == 200 and response.json()["recorded"] == 1
    assert Receipt.objects.filter(guid="F120", applied_at__isnull=True).exists()
    assert sent == ["customs.tasks.receipts_due"]
    inventory.refresh_from_db()
    assert inventory.state == "sent"
    monkeypatch.setattr(receipt_services._Batch, "apply", real_apply)
    assert tasks.receipts_due() == 1  # the task (or the sweep) applies it
    inventory.refresh_from_db()
    assert inventory.state == "accepted"


def test_a_pushed_batch_is_one_task_applied_in_arrival_order(zone, client, monkeypatch, settings):
    from customs import tasks
    from customs.services import receipts as receipt_services

    settings.CUSTOMS_RECEIPTS_APPLY_INLINE = False  # receipts applied by a worker
    sent = []
    monkeypatch.setattr(receipt_services, "send_coalesced_on_commit", sent.append)
    _order, inventory = _declared(zone)
    rows = _pushed(inventory, (120, 399), invt_no="INV7", prefix="B")
    response = _post(client, json.dumps({"receipts": rows}).encode())
    assert response.status_code == 200 and response.json()["recorded"] == 2
    assert sent == ["customs.tasks.receipts_due"]  # coalesced: takes every receipt due
    assert tasks.receipts_due() == 2
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


# --- batches -----------------------------------------------------------------------------------
def _record(decl, *statuses, invt_no="") -> list[int]:
    return services.receipts_record(
        receipts=[
            {"guid": str(uuid.uuid4()), "authority": decl.authority, "declGuid": decl.guid,
             "orderNo": decl.order_no, "returnStatus": status, "invtNo": invt_no}
            for status in statuses
        ],
        source="push",
    )  # fmt: skip


def test_a_batch_applies_in_arrival_order_and_marks_repeats_stale(zone):
    order, inventory = _declared(zone)
    ids = _record(inventory, 2, 120, 120, 399, 120, 800, invt_no="INV8")
    outcomes = services.receipts_apply(receipt_ids=ids)
    assert [outcomes[i] for i in ids] == ["stale", "applied", "stale", "applied", "stale",
                                          "applied"]  # fmt: skip
    inventory.refresh_from_db()
    assert (inventory.state, inventory.return_status) == ("released", 800)
    assert selectors.order_clearance(order.order_no).state == "released"
    view = selectors.order_clearance(order.order_no)
    assert view.state == "released" and view.goods_released and view.inventory_list_no == "INV8"
    assert [e[1] for e in view.history] == ["declared", "released"]
    assert services.receipts_apply(receipt_ids=ids) == {}  # applied once
    assert not Receipt.objects.filter(pk__in=ids, applied_at__isnull=True).exists()
    assert Move.objects.filter(reference=order.order_no, kind="release").count() == 1


def test_a_batch_takes_the_clearance_through_every_state_it_passes(zone):
    """Re-derived after each receipt that moves a declaration, as one receipt at a time did:
    held, then released, both recorded and announced."""
    order, inventory = _declared(zone)
    ids = _record(inventory, 120, 500, 800, invt_no="INV9")
    services.receipts_apply(receipt_ids=ids)
    view = selectors.order_clearance(order.order_no)
    assert [e[1] for e in view.history] == ["declared", "held", "released"]


def test_a_stale_batch_locks_no_clearance(zone):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _order, inventory = _declared(zone)
    services.receipts_apply(receipt_ids=_record(inventory, 120, invt_no="INV10"))
    repeats = _record(inventory, 2, 2, 120)
    with CaptureQueriesContext(connection) as queries:
        outcomes = services.receipts_apply(receipt_ids=repeats)
    assert set(outcomes.values()) == {"stale"}
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if "customs_orderclearance" in s]
    # the receipts and their declarations locked, the receipts marked: three statements
    assert len([s for s in sql if not s.startswith(("SAVEPOINT", "RELEASE"))]) == 3


def test_a_batch_cut_short_loses_nothing_and_the_sweep_finishes_it(zone, monkeypatch):
    from customs import tasks
    from customs.services import receipts

    order, inventory = _declared(zone)
    ids = _record(inventory, 120, 399, 800, invt_no="INV11")

    def crash(**kwargs):
        raise RuntimeError("worker died")

    monkeypatch.setattr(receipts, "clearance_derive", crash)
    with pytest.raises(RuntimeError):
        tasks.receipts_process(ids)
    assert Receipt.objects.filter(pk__in=ids, applied_at__isnull=True).count() == 3
    inventory.refresh_from_db()
    assert inventory.state == "sent"  # nothing half-applied

    monkeypatch.undo()
    assert services.receipts_apply_pending() == 3
    assert selectors.order_clearance(order.order_no).goods_released
    assert AccountBookEntry.objects.filter(document_no="INV11").count() == 1


def test_one_bad_receipt_holds_back_no_other_in_its_batch(zone, monkeypatch):
    from customs.services import receipts

    first, first_inventory = _declared(zone)
    second, second_inventory = _declared(zone)
    ids = [*_record(first_inventory, 800, invt_no="INV12"),
           *_record(second_inventory, 800, invt_no="INV13")]  # fmt: skip
    real = receipts.clearance_derive

    def broken_for_the_second(*, clearance, declarations, **kwargs):
        if clearance.order_no == second.order_no:
            raise RuntimeError("bug")
        return real(clearance=clearance, declarations=declarations, **kwargs)

    monkeypatch.setattr(receipts, "clearance_derive", broken_for_the_second)
    with pytest.raises(RuntimeError):
        services.receipts_apply(receipt_ids=ids)
    assert selectors.order_clearance(first.order_no).goods_released
    assert Receipt.objects.get(pk=ids[1]).applied_at is None  # left for the sweep


def _at_once(jobs: dict) -> dict:
    """Run the jobs in threads released together; each one's result, or the exception."""
    import threading

    from django.db import connections

    barrier = threading.Barrier(len(jobs))
    results: dict = {}

    def run(name, job):
        try:
            barrier.wait()
            results[name] = job()
        except Exception as exc:  # a deadlock or anything else: reported, not swallowed
            results[name] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in jobs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)  # sized for a loaded machine; a hang still fails below
    return results


def _one_by_one(ids: list[int]) -> dict[int, str]:
    """As the sweep applied them before batches: each receipt its own transaction."""
    outcomes: dict[int, str] = {}
    for receipt_id in ids:
        outcomes.update(services.receipts_apply(receipt_ids=[receipt_id]))
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_over_the_same_orders_never_deadlock_nor_apply_twice(zone, caplog):
    """Two workers, each with receipts of both orders in opposite orders, and a third applying
    them one at a time: locks are taken by id (receipts, declarations, clearances), so none
    waits for another in a cycle."""
    for _round in range(4):
        (a, a_inv), (b, b_inv) = _declared(zone), _declared(zone)
        a_order, b_order = (
            Declaration.objects.get(order_no=o.order_no, kind="order") for o in (a, b)
        )
        # different declarations of the same two orders, the orders in opposite order
        first = [*_record(a_order, 399), *_record(b_inv, 800, invt_no=f"B{b.order_no}")]
        second = [*_record(b_order, 399), *_record(a_inv, 800, invt_no=f"A{a.order_no}")]
        results = _at_once(
            {
                "first": lambda ids=first: services.receipts_apply(receipt_ids=ids),
                "second": lambda ids=second: services.receipts_apply(receipt_ids=ids),
                "sweep": lambda ids=[*second, *first][::-1]: _one_by_one(ids),
            }
        )
        assert not [r for r in results.values() if isinstance(r, Exception)], results
        assert "receipt batch failed" not in caplog.text
        # each receipt applied by exactly one worker (a worker reports what it applied)
        applied = [set(outcomes) for outcomes in results.values()]
        assert sum(map(len, applied)) == len(set().union(*applied)) == len(first + second)
        for order, letter in ((a, "A"), (b, "B")):
            view = selectors.order_clearance(order.order_no)
            assert view.state == "released" and view.goods_released
            assert Move.objects.filter(reference=order.order_no, kind="release").count() == 1
            assert (
                AccountBookEntry.objects.filter(document_no=f"{letter}{order.order_no}").count()
                == 1
            )
        assert not Receipt.objects.filter(applied_at__isnull=True).exists()


# --- #15: an empty key is no key; the configured transport verifies pushes ---------------


def _release_push(inventory, guid: str) -> bytes:
    row = {"guid": guid, "declGuid": inventory.guid, "orderNo": inventory.order_no,
           "returnStatus": 800, "invtNo": "INV-FORGED", "authority": "customs"}  # fmt: skip
    return json.dumps({"receipts": [row]}).encode()


def _nothing_released(order, inventory) -> None:
    assert services.receipts_apply_pending() == 0
    inventory.refresh_from_db()
    assert inventory.state == "sent" and inventory.return_status != 800
    assert not selectors.order_clearance(order.order_no).goods_released
    assert not Move.objects.filter(reference=order.order_no, kind="release").exists()
    assert not AccountBookEntry.objects.filter(document_no="INV-FORGED").exists()


def test_a_receipt_signed_with_an_empty_key_is_refused_when_the_secret_is_unset(
    zone, client, settings
):
    """Today's main accepted it (HMAC with b"" matches when the secret is "") and the forged
    "released" receipt took the goods out of bond."""
    import hashlib
    import hmac
    import time

    from customs.signing import _string_to_sign

    order, inventory = _declared(zone)
    settings.CUSTOMS_GATEWAY_SECRET = ""
    body = _release_push(inventory, "FORGED-1")
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
    forged = hmac.new(
        b"", _string_to_sign("POST", URL, body, timestamp, nonce), hashlib.sha256
    ).hexdigest()
    headers = {"X-Ceb-Sender": "GW", "X-Ceb-Timestamp": timestamp, "X-Ceb-Nonce": nonce,
               "X-Ceb-Signature": forged}  # fmt: skip
    response = _post(client, body, headers)
    assert response.status_code == 403 and response.json()["code"] == "bad_signature"
    assert not Receipt.objects.filter(guid="FORGED-1").exists()
    _nothing_released(order, inventory)


def test_signing_refuses_an_empty_key_on_both_sides():
    from config import callbacks
    from customs.signing import SignatureError, sign, verify

    with pytest.raises(SignatureError):
        sign(secret="", method="POST", path=URL, body=b"{}", timestamp="1", nonce="n")
    with pytest.raises(SignatureError, match="no signing key"):
        verify(secret="", method="POST", path=URL, body=b"{}", headers={})
    with pytest.raises(ValueError):
        callbacks.sign(secret="", timestamp="1", nonce="n" * 16, body=b"{}")


def test_the_configured_transport_verifies_receipt_pushes_not_the_app(zone, client, settings):
    from tests import adapters

    settings.CUSTOMS_TRANSPORT = "tests.adapters.RefusingTransport"
    adapters.CONSULTED.clear()
    order, inventory = _declared(zone)
    response = _post(client, _release_push(inventory, "PUSH-R"))  # correctly signed HMAC
    assert response.status_code == 403
    assert set(response.json()) == {"code", "message", "extra"}
    assert response.json()["code"] == "bad_signature"
    assert adapters.CONSULTED == ["customs"]
    assert not Receipt.objects.filter(guid="PUSH-R").exists()
    _nothing_released(order, inventory)


def test_a_gateway_with_another_signature_scheme_is_configuration_only(zone, client, settings):
    from tests.adapters import token_signature

    settings.CUSTOMS_TRANSPORT = "tests.adapters.OtherSchemeTransport"
    order, inventory = _declared(zone)
    body = _release_push(inventory, "PUSH-O")
    assert _post(client, body).json()["code"] == "bad_signature"  # our HMAC: not theirs
    response = _post(client, body, {"X-Other-Signature": token_signature(body)})
    assert response.status_code == 200 and response.json()["recorded"] == 1
    assert services.receipts_apply_pending() == 0  # applied in the push's request
    inventory.refresh_from_db()
    assert (inventory.state, inventory.return_status) == ("released", 800)
    assert selectors.order_clearance(order.order_no).state == "released"


def _released_together(zone, n: int):
    """n declared orders and one batch of their inventory lists' "800", recorded, not applied."""
    orders = [_declared(zone) for _ in range(n)]
    ids = [
        receipt_id
        for k, (_order, inventory) in enumerate(orders)
        for receipt_id in _record(inventory, 800, invt_no=f"INV2{k:02d}")
    ]
    return [order for order, _ in orders], ids


def test_a_batch_releasing_several_orders_moves_their_goods_out_of_bond_in_one_go(zone):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    orders, ids = _released_together(zone, 3)
    with CaptureQueriesContext(connection) as queries:
        services.receipts_apply(receipt_ids=ids)
    claims = [q for q in queries.captured_queries if "INTO bonded_ledgeroperation" in q["sql"]]
    assert len(claims) == 1  # one claim of the three inventory lists, not one per order
    stamps = [q for q in queries.captured_queries if '"goods_released_at" =' in q["sql"]]
    assert len(stamps) == 1
    for k, order in enumerate(orders):
        view = selectors.order_clearance(order.order_no)
        assert (view.state, view.goods_released) == ("released", True)
        assert Move.objects.get(reference=order.order_no, kind="release").note == f"INV2{k:02d}"
        assert AccountBookEntry.objects.filter(
            kind="write_off", document_no=f"INV2{k:02d}"
        ).exists()
    assert not OrderClearance.objects.exclude(release_error="").exists()


def test_a_batch_where_one_release_is_refused_releases_the_others_and_records_the_refusal(zone):
    orders, ids = _released_together(zone, 3)
    refused = orders[1].order_no
    Reservation.objects.filter(reference=refused).delete()  # its hold is gone: nothing to move
    services.receipts_apply(receipt_ids=ids)
    assert Receipt.objects.filter(pk__in=ids, applied_at__isnull=True).count() == 0
    for order in orders:
        clearance = OrderClearance.objects.get(order_no=order.order_no)
        assert clearance.state == "released"
        if order.order_no == refused:
            assert clearance.goods_released_at is None
            assert clearance.release_error.startswith("ReservationNotFound")
            assert not Move.objects.filter(reference=refused).exists()
        else:
            assert clearance.goods_released_at is not None and clearance.release_error == ""
            assert Move.objects.filter(reference=order.order_no, kind="release").count() == 1
    # The refused list was not claimed: the sweep's retry releases it once its hold is back.
    assert not LedgerOperation.objects.filter(kind="release", reference="INV201").exists()


def test_orders_released_together_each_keep_their_release_span_under_their_receipt(zone):
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from config import tracing

    orders, ids = _released_together(zone, 3)
    exporter = InMemorySpanExporter()
    tracing.setup(exporter=exporter, simple=True)
    try:
        services.receipts_apply(receipt_ids=ids)
    finally:
        tracing.teardown()
    spans = exporter.get_finished_spans()
    receipts = {s.context.span_id: s for s in spans if s.name == "customs.receipt.apply"}
    releases = [s for s in spans if s.name == "customs.release"]
    assert sorted(s.attributes["bondport.order_no"] for s in releases) == sorted(
        o.order_no for o in orders
    )
    for span in releases:
        parent = receipts[span.parent.span_id]
        assert parent.attributes["bondport.order_no"] == span.attributes["bondport.order_no"]


def _three_filed(zone):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    return order, {d.kind: d for d in Declaration.objects.filter(order_no=order.order_no)}


def test_one_batch_accepting_all_three_declares_the_inventory_list_on_the_rows_it_holds(zone):
    """Order, waybill and payment accepted by one batch (issue #19: written in one UPDATE, the
    list declared without reading them again): all three stored accepted with the status the
    authority sent, one inventory list, the clearance declared, a repeat declares nothing."""
    order, decls = _three_filed(zone)
    ids = [*_record(decls["order"], 2, 120), *_record(decls["waybill"], 120),
           *_record(decls["payment"], 120)]  # fmt: skip
    outcomes = services.receipts_apply(receipt_ids=ids)
    assert list(outcomes.values()) == ["applied"] * 4
    stored = {d.kind: (d.state, d.return_status) for d in Declaration.objects.filter(
        order_no=order.order_no)}  # fmt: skip
    assert stored == {
        "order": ("accepted", 120), "waybill": ("accepted", 120),
        "payment": ("accepted", 120), "inventory": ("pending", None),
    }  # fmt: skip
    view = selectors.order_clearance(order.order_no)
    assert view.state == "declared" and [e[1] for e in view.history] == ["declared"]
    services.receipts_apply(receipt_ids=_record(decls["payment"], 120))
    assert Declaration.objects.filter(order_no=order.order_no, kind="inventory").count() == 1


def test_a_three_order_refusal_inside_a_batch_keeps_what_the_batch_moved(zone):
    """The waybill on file no longer matches the order when the list is due: the list is not
    declared and the order is rejected, and the acceptances the batch held in memory are
    written before the refusal writes (none is lost or overwritten)."""
    order, decls = _three_filed(zone)
    waybill = decls["waybill"]
    waybill.payload = {**waybill.payload, "consignee": "王五"}
    waybill.save(update_fields=["payload"])
    ids = [*_record(decls["order"], 120), *_record(waybill, 120), *_record(decls["payment"], 120)]
    services.receipts_apply(receipt_ids=ids)
    stored = {d.kind: d.state for d in Declaration.objects.filter(order_no=order.order_no)}
    assert stored == {"order": "accepted", "waybill": "accepted", "payment": "blocked"}
    view = selectors.order_clearance(order.order_no)
    assert view.state == "rejected" and "consignee differs" in view.reason
    assert not Receipt.objects.filter(pk__in=ids, applied_at__isnull=True).exists()
