"""Differentiated management: merchants graded A-D from their history; the grade sets the share
of their orders the pre-audit flags for inspection. Also the facts clearances keep for the
supervision dashboard."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from customs import errors, services
from customs.models import (
    ClearanceEvent,
    Declaration,
    Enterprise,
    OrderClearance,
    RiskHit,
    RiskRule,
)
from customs.services.clearance import clearance_transition
from customs.services.grading import (
    enterprise_grade_override,
    enterprise_grades_recompute,
    grade_for,
    sampled_for_inspection,
)
from customs.services.supervision import DEFAULT_RULES
from tests.customs.factories import MERCHANT, order_filing, payment_filing, waybill_filing

pytestmark = pytest.mark.django_db
PARAMS = DEFAULT_RULES["enterprise_grade"][2]


@pytest.mark.parametrize(
    ("counts", "grade"),
    [
        ({"orders": 0, "rejected": 0, "held": 0, "hits": 0}, "B"),
        ({"orders": 60, "rejected": 0, "held": 1, "hits": 1}, "A"),
        ({"orders": 40, "rejected": 0, "held": 0, "hits": 0}, "B"),  # too few orders for A
        ({"orders": 100, "rejected": 2, "held": 0, "hits": 0}, "B"),  # 2% rejected: not A
        ({"orders": 10, "rejected": 1, "held": 0, "hits": 0}, "C"),  # 10% rejected
        ({"orders": 10, "rejected": 0, "held": 2, "hits": 0}, "C"),  # 20% held
        ({"orders": 10, "rejected": 2, "held": 0, "hits": 0}, "D"),  # 20% rejected
        ({"orders": 10, "rejected": 0, "held": 0, "hits": 5}, "D"),  # 0.5 hits per order
    ],
)
def test_grade_thresholds(counts, grade):
    assert grade_for(**counts, suspended=False, params=PARAMS)[0] == grade


def test_suspended_merchant_is_graded_d():
    assert grade_for(orders=0, rejected=0, held=0, hits=0, suspended=True, params=PARAMS)[0] == "D"


def _clearances(code: str, n: int, *, rejected: int = 0, held: int = 0, days_ago: int = 1):
    created = timezone.now() - dt.timedelta(days=days_ago)
    for i in range(n):
        row = OrderClearance.objects.create(
            order_no=f"{code}-{days_ago}-{i}",
            ebc_code=code,
            state="rejected" if i < rejected else "released",
            delivery_mode="pickup",
            destination_code="C1",
            created_at=created,
        )
        if rejected <= i < rejected + held:
            ClearanceEvent.objects.create(clearance=row, from_state="declared", to_state="held")


def test_recompute_grades_every_merchant_from_the_window():
    for code in ("4101960011", "4101960012", "4101960013", "4101960014"):
        Enterprise.objects.create(role="merchant", code=code, name=code)
    _clearances("4101960011", 60)  # clean, enough orders: A
    _clearances("4101960012", 10, rejected=3)  # 30% rejected: D
    _clearances("4101960013", 10, held=3)  # 30% held: C
    _clearances("4101960014", 10, rejected=5, days_ago=200)  # outside the 90-day window: B
    assert enterprise_grades_recompute() == 3  # B is the default: three changed
    grades = dict(Enterprise.objects.values_list("code", "risk_grade"))
    assert grades == {"4101960011": "A", "4101960012": "D", "4101960013": "C", "4101960014": "B"}
    assert "30.0% rejected" in Enterprise.objects.get(code="4101960012").risk_grade_reason


def test_staff_override_wins_and_can_be_cleared():
    Enterprise.objects.create(role="merchant", code="4101960021", name="x", risk_grade="A")
    enterprise_grade_override(code="4101960021", grade="D", reason="audit")
    assert Enterprise.objects.get(code="4101960021").effective_grade == "D"
    enterprise_grades_recompute()  # recomputing keeps the override
    assert Enterprise.objects.get(code="4101960021").effective_grade == "D"
    enterprise_grade_override(code="4101960021", grade="")
    assert Enterprise.objects.get(code="4101960021").effective_grade == "B"
    with pytest.raises(errors.CustomsError):
        enterprise_grade_override(code="4101960021", grade="Z")
    with pytest.raises(errors.CustomsError):
        enterprise_grade_override(code="4109999999", grade="A")


def test_sampling_is_deterministic_and_close_to_the_rate():
    orders = [f"BP2026{n:08d}" for n in range(10_000)]
    drawn = [o for o in orders if sampled_for_inspection(o, 0.1)]
    assert 900 < len(drawn) < 1100
    assert drawn == [o for o in orders if sampled_for_inspection(o, 0.1)]
    assert not any(sampled_for_inspection(o, 0) for o in orders[:100])
    assert all(sampled_for_inspection(o, 1) for o in orders[:100])


def _file(zone):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    return order, Declaration.objects.get(order_no=order.order_no, kind="order")


def test_pre_audit_flags_orders_at_the_merchant_grades_rate(zone, settings):
    settings.CUSTOMS_INSPECTION_RATE_BY_GRADE = {"A": 0.0, "B": 0.0, "C": 0.0, "D": 1.0}
    _order, decl = _file(zone)
    assert not decl.flagged_for_inspection
    enterprise_grade_override(code=MERCHANT, grade="D")
    order, decl = _file(zone)
    assert decl.flagged_for_inspection
    hit = RiskHit.objects.get(rule_code="grade_sampling", order_no=order.order_no)
    assert "grade D" in hit.reason and hit.ebc_code == MERCHANT


def test_grade_sampling_rule_can_be_switched_off(zone, settings):
    settings.CUSTOMS_INSPECTION_RATE_BY_GRADE = {"A": 1.0, "B": 1.0, "C": 1.0, "D": 1.0}
    RiskRule.objects.update_or_create(
        code="grade_sampling", defaults={"stage": "ex_ante", "enabled": False, "description": "x"}
    )
    _order, decl = _file(zone)
    assert not decl.flagged_for_inspection


def test_clearance_keeps_value_payment_declaration_and_release_times(zone):
    order, _decl = _file(zone)
    clearance = OrderClearance.objects.get(order_no=order.order_no)
    assert clearance.goods_value == Decimal("100.00")
    assert clearance.paid_at is None and clearance.declared_at is None
    payment = payment_filing(order)
    services.declaration_create_payment(payment=payment)
    clearance.refresh_from_db()
    assert clearance.paid_at == payment.paid_at
    clearance_transition(clearance=clearance, to="declared", reason="test")
    declared = clearance.declared_at
    assert declared is not None
    clearance_transition(clearance=clearance, to="held", reason="test")
    assert clearance.declared_at == declared  # the first declaration time stays


def test_the_hourly_ex_post_run_regrades_merchants():
    from customs.services.ex_post import ex_post_rules_run

    Enterprise.objects.create(role="merchant", code="4101960031", name="x")
    _clearances("4101960031", 10, rejected=5)
    ex_post_rules_run(codes=["enterprise_grade"])
    assert Enterprise.objects.get(code="4101960031").risk_grade == "D"
