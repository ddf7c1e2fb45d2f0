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


def test_waybill_status_is_filed_once_per_status_valid_and_never_sets_the_clearance(zone):
    from datetime import UTC, datetime

    from customs.errors import IllegalTransition, ThreeOrderMismatch
    from customs.filings import WaybillStatusFiling

    order = _filed(zone)
    at = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)

    def filing(status, logistics_no=None):
        return WaybillStatusFiling(
            order_no=order.order_no, logistics_code="4101980001",
            logistics_no=logistics_no or f"YD{order.order_no}", status=status, at=at,
        )  # fmt: skip

    with pytest.raises(IllegalTransition):  # goods may leave only after release
        services.waybill_status_file(filing=filing("L"))
    OrderClearance.objects.filter(order_no=order.order_no).update(state="released")
    waybill_no = Declaration.objects.get(kind="waybill", order_no=order.order_no).business_no
    with pytest.raises(ThreeOrderMismatch):
        services.waybill_status_file(filing=filing("L", logistics_no="YD-OTHER"))
    left = services.waybill_status_file(filing=filing("L", waybill_no))
    assert services.waybill_status_file(filing=filing("L", waybill_no)).pk == left.pk
    signed = services.waybill_status_file(filing=filing("S", waybill_no))
    assert signed.pk != left.pk and signed.message_type == "CEB513"
    xml = _render([left, signed])
    message_type, _guid, _sender, records = messages.parse(xml)
    assert message_type == "CEB513"
    assert [(r["head"]["logisticsStatus"], r["head"]["logisticsTime"]) for r in records] == [
        ("L", "20260301103000"), ("S", "20260301103000"),  # Asia/Shanghai time
    ]  # fmt: skip
    assert records[0]["head"]["logisticsNo"] == waybill_no
    # A rejected status report never rejects the order's clearance.
    Declaration.objects.filter(pk=left.pk).update(state="rejected")
    services.clearance_recompute(order_no=order.order_no)
    assert OrderClearance.objects.get(order_no=order.order_no).state == "released"
