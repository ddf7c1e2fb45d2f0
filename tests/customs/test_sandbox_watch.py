"""The sandbox authority reports what a fault scenario needs to prove its fault hit work: the
requests it holds in flight, answers nobody read, resends, "duplicate business key" answers
and second records. Against the real sandbox process."""

from __future__ import annotations

import threading
import uuid

import pytest

from customs import messages, services
from customs.errors import GatewayUnavailable
from customs.gateway import get_transport
from customs.models import Declaration
from customs.records import record_for
from tests.customs.factories import order_filing, payment_filing, waybill_filing
from tests.support import wait_until

pytestmark = pytest.mark.django_db(transaction=True)  # filing runs in a thread of its own


def _send_again(decl: Declaration, **payload) -> dict:
    """A real second send of a declaration under a new guid (optionally with other data), as
    a platform that lost track of its first one would make."""
    decl.guid = str(uuid.uuid4())
    decl.payload = {**decl.payload, **payload}
    guid = str(uuid.uuid4())
    xml = messages.render(
        records=[record_for(decl)], message_type=decl.message_type, guid=guid,
        sender_code="4101260001", sender_name="Bondport",
    )  # fmt: skip
    return (
        get_transport()
        .send(authority=decl.authority, message_guid=guid, xml=xml, order_nos=[decl.order_no])
        .body
    )


def _held(sandbox, order_no: str) -> dict | None:
    return next(
        (r for r in sandbox.state()["in_flight"] if r["held"] and order_no in r["order_nos"]),
        None,
    )


def test_a_held_request_is_reported_in_flight_until_let_go(zone, sandbox):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    before = sandbox.state()
    sandbox.control(hold_next=1, hold_seconds=60, hold_types=["CEB311"])
    done = threading.Event()
    filing = threading.Thread(target=lambda: (services.declarations_file(), done.set()))
    filing.start()

    held = wait_until(lambda: _held(sandbox, order.order_no), timeout=20)
    assert held["kind"] == "CEB311" and held["authority"] == "customs"
    assert not done.is_set()  # our filing is waiting on the authority's answer
    sandbox.control(hold_seconds=0)  # let go
    filing.join(20)
    assert done.is_set()

    after = sandbox.state()
    assert after["in_flight"] == []
    assert after["held"].get("CEB311", 0) == before["held"].get("CEB311", 0) + 1
    assert after["seen"]["CEB311"] == before["seen"].get("CEB311", 0) + 1
    assert after["seen"]["CEB511"] == before["seen"].get("CEB511", 0) + 1
    assert after["abandoned"] == before["abandoned"]  # we read the answer
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")
    assert decl.state == "sent"


def test_an_answer_its_sender_never_read_is_counted_and_the_resend_is_idempotent(
    zone, sandbox, settings
):
    """Our side gives up on the held request (read timeout, as a killed worker would): the
    authority still stores the record, counts the answer as never read, and answers the
    resend of the same guid idempotently (a resend, not a duplicate business key)."""
    settings.CUSTOMS_READ_TIMEOUT = 0.5
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    before = sandbox.state()
    sandbox.control(hold_next=1, hold_seconds=2, hold_types=["CEB311"])
    with pytest.raises(GatewayUnavailable):
        services.declarations_file()
    after = wait_until(
        lambda: (s := sandbox.state())["abandoned"] > before["abandoned"] and s, timeout=20
    )
    wait_until(lambda: sandbox.state()["in_flight"] == [], timeout=20)
    assert after["abandoned_requests"][-1]["order_nos"] == [order.order_no]
    assert after["abandoned_requests"][-1]["kind"] == "CEB311"
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")
    assert decl.state == "pending"  # we never learned the authority took it

    settings.CUSTOMS_READ_TIMEOUT = 5
    assert services.declarations_file().sent == 1
    again = sandbox.state()
    assert again["resends"].get("CEB311", 0) == before["resends"].get("CEB311", 0) + 1
    assert again["duplicate_keys"] == before["duplicate_keys"]
    # The resend's answer is what the authority already had: declaring, or accepted by now.
    assert Declaration.objects.get(pk=decl.pk).state in ("sent", "accepted")


def test_a_second_send_under_a_new_guid_is_counted_as_a_duplicate_business_key(zone, sandbox):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declarations_file()
    before = sandbox.state()

    body = _send_again(Declaration.objects.get(order_no=order.order_no, kind="order"))

    assert body["records"][0]["returnStatus"] == -1
    after = sandbox.state()
    assert after["duplicate_keys"]["CEB311"] == before["duplicate_keys"].get("CEB311", 0) + 1
    answer = after["duplicate_key_answers"][-1]
    assert (answer["authority"], answer["type"], answer["key"]) == (
        "customs", "CEB311", order.order_no
    )  # fmt: skip
    assert after["second_records"] == before["second_records"]  # refused, not stored


def test_a_second_payment_under_another_transaction_id_shows_as_a_second_record(zone, sandbox):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    services.declarations_file()
    assert not [r for r in sandbox.state()["second_records"] if r["order_no"] == order.order_no]

    payment = Declaration.objects.get(order_no=order.order_no, kind="payment")
    body = _send_again(payment, pay_transaction_id=f"PAY2-{order.order_no}")

    assert body["records"][0]["returnStatus"] == 2  # another business key: stored
    second = [r for r in sandbox.state()["second_records"] if r["order_no"] == order.order_no]
    assert second == [
        {"authority": "customs", "type": "CEB411", "order_no": order.order_no, "records": 2}
    ]
