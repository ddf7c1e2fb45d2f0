"""Every message type renders valid against its XSD; invalid XML never leaves."""

from decimal import Decimal

import pytest
from lxml import etree

from customs import messages, services
from customs.errors import InvalidMessage
from customs.filings import ReturnFiling, ReturnLineFiling
from customs.models import Declaration, OrderClearance
from customs.records import record_for
from tests.customs.factories import BUYER_ID, order_filing, payment_filing, waybill_filing

pytestmark = pytest.mark.django_db


def _render(decls, masked=False) -> bytes:
    return messages.render(
        message_type=decls[0].message_type,
        guid="A" * 36,
        records=[record_for(d, masked=masked) for d in decls],
        sender_code="4101260001",
        sender_name="Bondport",
    )


def _accept_all(order_no: str) -> None:
    Declaration.objects.filter(order_no=order_no).update(state="accepted")


def _filed(zone):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    return order


def test_order_payment_waybill_inventory_cancel_and_return_are_valid(zone):
    order = _filed(zone)
    _accept_all(order.order_no)
    inventory = services.inventory_declare(order_no=order.order_no)
    assert inventory is not None
    Declaration.objects.filter(pk=inventory.pk).update(state="sent")
    services.declarations_cancel_for_order(order_no=order.order_no, reason="expired")
    OrderClearance.objects.filter(order_no=order.order_no).update(state="released")
    services.declaration_create_return(
        filing=ReturnFiling(
            order_no=order.order_no,
            return_no="R1",
            reason="damaged",
            location_code=zone.storage.code,
            lines=(ReturnLineFiling(gnum=1, item_no=zone.paste.item_no, qty=1),),
        )
    )
    seen = set()
    for decl in Declaration.objects.filter(order_no=order.order_no):
        xml = _render([decl])
        assert messages.validate(xml) == decl.message_type
        seen.add(decl.message_type)
    assert seen == {"CEB311", "CEB411", "CEB511", "CEB621", "CEB623", "CEB625"}


def test_one_message_carries_a_batch_and_parses_back(zone):
    orders = [_filed(zone) for _ in range(3)]
    decls = list(Declaration.objects.filter(kind="order").order_by("id"))
    xml = _render(decls)
    message_type, guid, sender, records = messages.parse(xml)
    assert (message_type, guid, sender) == ("CEB311", "A" * 36, "4101260001")
    assert [r["head"]["orderNo"] for r in records] == [o.order_no for o in orders]
    head = records[0]["head"]
    assert head["buyerIdNumber"] == BUYER_ID and head["acturalPaid"] == "120.01"
    assert records[0]["lines"][0]["totalPrice"] == "100.00"


def test_money_has_two_decimals_and_ids_can_be_masked(zone):
    _filed(zone)
    decl = Declaration.objects.get(kind="order")
    root = etree.fromstring(_render([decl], masked=True))
    ns = {"ceb": messages.NS}
    assert root.findtext(".//ceb:freight", namespaces=ns) == "10.00"
    assert root.findtext(".//ceb:buyerIdNumber", namespaces=ns) == "00000000000000" + BUYER_ID[-4:]


def test_invalid_message_is_refused_before_sending(zone):
    _filed(zone)
    decl = Declaration.objects.get(kind="order")
    record = record_for(decl)
    record["head"]["buyerIdNumber"] = "12345"
    xml = messages.render(
        message_type="CEB311", guid="B" * 36, records=[record], sender_code="4101260001",
        sender_name="Bondport",
    )  # fmt: skip
    with pytest.raises(InvalidMessage, match="not valid"):
        messages.validate(xml)
    with pytest.raises(InvalidMessage):
        messages.validate(b"<not-xml")
    with pytest.raises(InvalidMessage, match="not an amount"):
        messages.money("abc")
    with pytest.raises(InvalidMessage, match="required"):
        record["head"]["orderNo"] = ""
        messages.render(
            message_type="CEB311", guid="B" * 36, records=[record], sender_code="x", sender_name="x"
        )


def test_money_is_rounded_half_up_to_the_fen():
    assert messages.money(Decimal("1.005")) == "1.01"
    assert messages.money("2") == "2.00"
