"""Order -> payment -> inventory list -> release, against the real sandbox process."""

import time

import pytest

from bonded.models import AccountBookEntry, Balance, Move
from customs import selectors, services
from customs.models import Declaration, Receipt
from tests.customs.factories import (
    line,
    order_filing,
    payment_filing,
    tenpay_record,
    waybill_filing,
)
from tests.customs.support import drive

pytestmark = pytest.mark.django_db


def test_pickup_order_is_released_written_off_and_moved_to_the_counter(zone, sandbox):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))

    view = drive(order.order_no)

    assert view.state == "released"
    assert view.goods_released and view.inventory_list_no.startswith("4601")
    kinds = {(d.message_type, d.state) for d in view.declarations}
    assert kinds == {
        ("CEB311", "accepted"),
        ("CEB511", "accepted"),
        ("CEB411", "accepted"),
        ("CEB621", "released"),
    }
    entry = AccountBookEntry.objects.get(document_no=view.inventory_list_no)
    assert entry.kind == "write_off" and entry.quantity == 2
    counter = Balance.objects.get(item=zone.paste, location=zone.counter)
    assert (counter.on_hand, counter.reserved) == (2, 2)
    assert [e[1] for e in view.history] == ["declared", "released"]


def test_quarantine_goods_need_ciq_release_as_well(zone, sandbox):
    order = order_filing(zone, lines=[line(zone.milk, price="300.00")])
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))

    view = drive(order.order_no)

    assert view.ciq_required
    assert {(d.message_type, d.authority, d.state) for d in view.declarations if
            d.message_type == "CEB621"} == {("CEB621", "customs", "released"),
                                            ("CEB621", "ciq", "released")}  # fmt: skip


def test_ciq_inspection_holds_the_order_until_an_officer_decides(zone, sandbox):
    from customs.roles import officer_group
    from tests.customs.test_inspection_decisions import _user

    sandbox.control(ciq_inspection_rate=1.0)
    order = order_filing(zone, lines=[line(zone.milk, price="300.00")])
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))

    view = drive(order.order_no, until=("held",))
    assert "inspection" in view.reason
    assert not view.goods_released
    held = selectors.inspection_queue().get(order_no=order.order_no)
    assert held.authority == "ciq"

    officer = _user("ciq-officer")
    officer.groups.add(officer_group())
    decision = services.inspection_decision_record(
        declaration_id=held.pk, decision="release", reason="sampled, compliant", officer=officer
    )
    assert services.inspection_decision_send(decision_id=decision.pk) == "acknowledged"
    # CIQ's receipt comes back; once customs has released too, the goods move.
    view = drive(order.order_no)
    assert view.state == "released" and view.goods_released
    ciq = held.receipts.get(return_status=800)
    assert ciq.source == "poll" and "sampled, compliant" in ciq.return_info


def test_gateway_messages_carry_masked_ids_only(zone, sandbox):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declarations_file()
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")
    assert order.buyer_id_number not in decl.message.xml
    assert "0014</ceb:buyerIdNumber>" in decl.message.xml
    assert Receipt.objects.filter(declaration=decl, return_status=2).exists()
    assert Move.objects.filter(reference=order.order_no, kind="release").count() == 0


def test_resending_after_a_lost_confirmation_is_harmless(zone, sandbox):
    """A worker killed after the gateway took the message but before our commit: the lease
    lapses, the declaration goes again, and the authority answers idempotently."""
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declarations_file()
    records = sandbox.state()["stats"]["records"]
    Declaration.objects.filter(order_no=order.order_no).update(state="pending", lease_until=None)
    report = services.declarations_file()
    assert report.sent == 2 and report.rejected == 0
    assert sandbox.state()["stats"]["records"] == records
    services.declaration_create_payment(payment=payment_filing(order))
    assert drive(order.order_no).state == "released"


def test_cancelling_a_declared_order_files_ceb623_and_cancels(zone, sandbox):
    sandbox.control(latency_ms=300)  # keep the list from being released before we cancel
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    drive(order.order_no, until=("declared",))
    services.declarations_file()
    services.declarations_cancel_for_order(order_no=order.order_no, reason="shopper cancelled")
    view = drive(order.order_no, until=("cancelled",))
    assert "shopper cancelled" in view.reason
    assert {d.message_type for d in view.declarations} >= {"CEB623"}
    assert not Move.objects.filter(reference=order.order_no, kind="release").exists()


def test_released_goods_come_back_into_bond_through_a_return_request(zone, sandbox):
    from customs.filings import ReturnFiling, ReturnLineFiling

    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    assert drive(order.order_no).state == "released"
    services.declaration_create_return(
        filing=ReturnFiling(
            order_no=order.order_no,
            return_no=f"RET{order.order_no}",
            reason="unopened, changed mind",
            location_code=zone.storage.code,
            lines=(ReturnLineFiling(gnum=1, item_no=zone.paste.item_no, qty=2),),
        )
    )
    from customs.models import ReturnIntake

    for _ in range(200):  # approval comes back with the next polls
        if ReturnIntake.objects.filter(return_no=f"RET{order.order_no}").exists():
            break
        drive(order.order_no, until=("released",))
    assert not Move.objects.filter(reference=order.order_no, kind="return").exists()
    services.return_scan_in(
        return_no=f"RET{order.order_no}", barcodes=[zone.paste.barcode] * 2, actor="op"
    )
    view = drive(order.order_no, until=("returned",))
    assert view.state == "returned"
    [back] = Move.objects.filter(reference=order.order_no, kind="return")
    assert (back.quantity, back.to_location.code) == (2, zone.storage.code)


def test_gateway_outage_keeps_declarations_pending_until_it_ends(zone, sandbox):
    from customs.errors import GatewayUnavailable

    sandbox.control(outage=True)
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    with pytest.raises(GatewayUnavailable, match="503"):
        services.declarations_file()
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")
    assert decl.state == "pending" and decl.attempts == 1 and "503" in decl.last_error
    sandbox.control(outage=False)
    assert services.declarations_file().sent == 2


def _sent_without_a_payment_record(order) -> None:
    """Order and waybill filed and accepted, the payment filed by the payment company (so we
    send no CEB411), our inventory list sent."""
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(
        payment=payment_filing(order, filed_by="wechatpay", filed_answer="SUBMITTED")
    )
    for _ in range(200):
        services.declarations_file()
        services.receipts_poll(authority="customs")
        if Declaration.objects.filter(
            order_no=order.order_no, kind="inventory", sent_at__isnull=False
        ).exists():
            return
    raise AssertionError("the inventory list was not sent")


def test_an_inventory_list_waits_for_the_payment_companys_ceb411(zone, sandbox, settings):
    """The payment company files the CEB411 under its own code and sender, possibly after our
    inventory list: the list waits for it, and nothing refuses a sender that is not us."""
    from marketplace.standins.customs_filing import CustomsFiler

    order = order_filing(zone)
    _sent_without_a_payment_record(order)
    time.sleep(1.5)  # three rechecks
    held = sandbox.records(order.order_no)
    assert held["customs:CEB621"]["status"] == 2 and "customs:CEB411" not in held
    payment = payment_filing(order)
    filer = CustomsFiler(customs_url=sandbox.customs_url, secret=settings.CUSTOMS_GATEWAY_SECRET)
    filer.submit(tenpay_record(order, payment))

    view = drive(order.order_no)

    assert view.state == "released"
    held = sandbox.records(order.order_no)
    assert held["customs:CEB411"]["data"]["head"]["payCode"] == "4403169D3W" != order.pay_code
    assert held["customs:CEB411"]["status"] == 120


def test_an_inventory_list_whose_payment_never_comes_is_refused_after_the_wait(zone, sandbox):
    sandbox.control(documents_wait_seconds=0.5)
    order = order_filing(zone)
    _sent_without_a_payment_record(order)

    view = drive(order.order_no)

    assert view.state == "rejected"
    assert "no accepted payment" in sandbox.records(order.order_no)["customs:CEB621"]["info"]


def test_sandbox_refuses_unsigned_requests(sandbox):
    import requests

    response = requests.post(f"{sandbox.customs_url}/messages", data=b"<x/>", timeout=5)
    assert response.status_code == 401
