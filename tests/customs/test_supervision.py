"""Positive supervision: ex-ante refusals, the platform's three-order pre-check, the sandbox's
authoritative comparison, and tax recomputed from the declared data."""

from dataclasses import replace
from decimal import Decimal

import pytest

from customs import errors, selectors, services
from customs.models import Declaration, Enterprise, PositiveListEntry, RiskHit
from customs.services.supervision import order_payment_problems
from tests.customs.factories import (
    OTHER_ID,
    EntryFactory,
    line,
    order_filing,
    payment_filing,
    rule_set,
    waybill_filing,
)
from tests.customs.support import drive

pytestmark = pytest.mark.django_db


def _file(order, waybill=None):
    return services.declarations_create_for_order(
        order=order, waybill=waybill or waybill_filing(order)
    )


# --- ex-ante ----------------------------------------------------------------------------------
def test_unregistered_or_suspended_party_is_refused(zone):
    order = order_filing(zone, reserve=False, ebc_code="4101969999")
    with pytest.raises(errors.PartyNotRegistered):
        _file(order)
    Enterprise.objects.filter(code="4101980001").update(suspended=True, suspended_reason="audit")
    order = order_filing(zone, reserve=False)
    with pytest.raises(errors.PartySuspended, match="audit"):
        _file(order)
    assert not Declaration.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_precheck_keeps_a_hit_for_each_refusal_even_when_the_order_is_rolled_back(zone):
    from django.db import transaction

    order = order_filing(zone, reserve=False, ebc_code="4101969999")
    with pytest.raises(errors.PartyNotRegistered):
        services.order_precheck(order=order, waybill=waybill_filing(order))
    PositiveListEntry.objects.filter(hs_code="6403990000").delete()
    shoes = order_filing(zone, reserve=False, lines=[line(zone.shoes)])
    with pytest.raises(errors.NotOnPositiveList), transaction.atomic():
        services.order_precheck(order=shoes, waybill=waybill_filing(shoes))
    hits = dict(RiskHit.objects.values_list("order_no", "rule_code"))
    assert hits == {order.order_no: "party_registered"}  # inside a rolled-back transaction: gone
    clean = order_filing(zone, reserve=False)
    services.order_precheck(order=clean, waybill=waybill_filing(clean))  # passes, records nothing
    assert RiskHit.objects.count() == 1
    assert not Declaration.objects.exists()


def test_goods_off_the_positive_list_or_prohibited_are_refused(zone):
    PositiveListEntry.objects.filter(hs_code="6403990000").delete()
    with pytest.raises(errors.NotOnPositiveList):
        _file(order_filing(zone, reserve=False, lines=[line(zone.shoes)]))
    EntryFactory(hs_code="6403990000", description="shoes", prohibited=True)
    with pytest.raises(errors.ProhibitedGoods):
        _file(order_filing(zone, reserve=False, lines=[line(zone.shoes)]))


def test_eight_digit_positive_list_line_covers_its_ten_digit_codes(zone):
    PositiveListEntry.objects.filter(hs_code="6403990000").update(hs_code="64039900")
    view = _file(order_filing(zone, lines=[line(zone.shoes)]))
    assert view.state == "filing"


def test_high_risk_goods_are_flagged_for_inspection_with_a_stored_hit(zone):
    PositiveListEntry.objects.filter(hs_code="3306101000").update(high_risk=True)
    order = order_filing(zone)
    _file(order)
    assert Declaration.objects.get(order_no=order.order_no, kind="order").flagged_for_inspection
    hit = RiskHit.objects.get(rule_code="high_risk_inspection")
    assert hit.order_no == order.order_no and "3306101000" in hit.reason


def test_yearly_cap_counts_earlier_orders_of_the_same_id(zone):
    PositiveListEntry.objects.filter(hs_code="3306101000").update(yearly_cap_qty=3)
    _file(order_filing(zone))  # 2 units
    with pytest.raises(errors.YearlyCapExceeded):
        _file(order_filing(zone, reserve=False))
    # Another person is not affected; a disabled rule is not applied.
    _file(order_filing(zone, buyer_id_number=OTHER_ID))
    rule_set("yearly_cap", enabled=False)
    _file(order_filing(zone))


# --- in-process: the platform's pre-check -------------------------------------------------------
def test_consignee_differing_between_order_and_waybill_is_refused_before_filing(zone):
    order = order_filing(zone, reserve=False)
    for field in ("consignee", "consignee_telephone", "consignee_address"):
        waybill = replace(waybill_filing(order), **{field: "other"})
        with pytest.raises(errors.ThreeOrderMismatch, match=field):
            _file(order, waybill)
    assert not Declaration.objects.exists()


def test_tax_that_does_not_recompute_is_refused(zone):
    order = order_filing(zone, reserve=False)
    wrong = replace(order, tax_total=order.tax_total - Decimal("0.01"),
                    actural_paid=order.actural_paid - Decimal("0.01"))  # fmt: skip
    with pytest.raises(errors.TaxMismatch, match="recomputed"):
        _file(wrong)
    cosmetics = order_filing(
        zone, reserve=False,
        lines=[line(zone.paste, price="1000.00", consumption_tax_rate=Decimal("0.15"))],
        freight="0.00",
    )  # fmt: skip
    assert cosmetics.tax_total == Decimal("230.59")  # DOMAIN.md worked example


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        ({"amount_paid": Decimal("1.00")}, "amountPaid"),
        ({"payer_name": "李四"}, "payer is not the buyer"),
        ({"payer_id_number": OTHER_ID}, "payer is not the buyer"),
    ],
)
def test_payment_mismatch_is_blocked_not_sent_and_rejects_the_order(zone, change, finding):
    order = order_filing(zone)
    _file(order)
    view = services.declaration_create_payment(payment=payment_filing(order, **change))
    assert view.state == "rejected" and finding in view.reason
    payment = Declaration.objects.get(order_no=order.order_no, kind="payment")
    assert payment.state == "blocked" and payment.message is None
    assert RiskHit.objects.filter(rule_code="three_order", order_no=order.order_no).exists()
    # Nothing of a rejected order goes out any more.
    states = Declaration.objects.filter(order_no=order.order_no).values_list("state", flat=True)
    assert set(states) <= {"blocked", "cancelled"}


def test_comparison_is_exact_to_the_fen():
    order = {"order_no": "A", "actural_paid": "100.00", "buyer_name": "x", "pay_code": "P"}
    pay = {"order_no": "A", "amount_paid": "100.01", "payer_name": "x", "pay_code": "P"}
    assert order_payment_problems(order, "h", pay, "h")
    assert not order_payment_problems(order, "h", {**pay, "amount_paid": "100.00"}, "h")


# --- in-process: the sandbox's authoritative comparison -------------------------------------
def _through_sandbox(zone, settings, *, waybill_change=None, payment_change=None, lines=None):
    settings.CUSTOMS_PRECHECK = False
    order = order_filing(zone, lines=lines)
    waybill = replace(waybill_filing(order), **(waybill_change or {}))
    _file(order, waybill)
    services.declaration_create_payment(payment=payment_filing(order, **(payment_change or {})))
    return drive(order.order_no)


@pytest.mark.parametrize(
    ("kwargs", "finding"),
    [
        ({"payment_change": {"amount_paid": Decimal("1.00")}}, "differs from amountPaid"),
        ({"payment_change": {"payer_id_number": OTHER_ID}}, "payer is not the buyer"),
        ({"waybill_change": {"consignee_address": "elsewhere"}}, "consigneeAddress differs"),
        ({"waybill_change": {"consignee_telephone": "139"}}, "consigneeTelephone differs"),
    ],
)
def test_sandbox_catches_each_mismatch_the_platform_let_through(zone, sandbox, settings, kwargs,
                                                                finding):  # fmt: skip
    view = _through_sandbox(zone, settings, **kwargs)
    assert view.state == "rejected"
    assert finding in view.reason
    inventory = [d for d in view.declarations if d.message_type == "CEB621"]
    assert inventory[0].return_status == 100


def test_sandbox_catches_list_lines_differing_from_the_order(zone, sandbox, settings):
    settings.CUSTOMS_PRECHECK = False
    order = order_filing(zone)
    _file(order)
    services.declaration_create_payment(payment=payment_filing(order))
    drive(order.order_no, until=("declared",))
    inventory = Declaration.objects.get(order_no=order.order_no, kind="inventory")
    assert inventory.state == "pending"  # declared, not yet sent: alter what will be sent
    inventory.payload["lines"][0]["qty"] = 5
    inventory.save(update_fields=["payload"])
    view = drive(order.order_no)
    assert view.state == "rejected" and "lines differ" in view.reason


def test_sandbox_refuses_hs_codes_off_its_positive_list(zone, sandbox, settings):
    sandbox.control(reject_hs_codes=["3306101000"])
    view = _through_sandbox(zone, settings)
    assert view.state == "rejected" and "refused by rule" in view.reason
    assert selectors.order_clearance(view.order_no).reason.startswith("CEB621")
