"""Differentiated management: grade each merchant A-D from its history; the grade picks the
share of its orders the pre-audit flags for inspection.

Thresholds live in the `enterprise_grade` RiskRule (admin-editable); the inspection share per
grade in the setting CUSTOMS_INSPECTION_RATE_BY_GRADE. Staff may override a grade in admin.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customs.models import ClearanceEvent, Enterprise, OrderClearance, RiskHit
from customs.services.supervision import enterprises, hit_record, rule

G = Enterprise.Grade


def grade_for(
    *, orders: int, rejected: int, held: int, hits: int, suspended: bool, params: dict
) -> tuple[str, str]:
    """(grade, why) from counts over the rule's window. Pure, so the thresholds are testable."""
    if suspended:
        return G.D, "suspended"
    if not orders:
        return G.B, "no orders in the window"
    rej, hold, hit = rejected / orders, held / orders, hits / orders
    why = f"{orders} orders: {rej:.1%} rejected, {hold:.1%} held, {hit:.2f} hits per order"
    if rej >= float(params.get("d_rejection_rate", 0.2)) or hit >= float(
        params.get("d_hits_per_order", 0.5)
    ):
        return G.D, why
    if (
        rej >= float(params.get("c_rejection_rate", 0.1))
        or hold >= float(params.get("c_held_rate", 0.2))
        or hit >= float(params.get("c_hits_per_order", 0.2))
    ):
        return G.C, why
    if (
        orders >= int(params.get("a_min_orders", 50))
        and rej <= float(params.get("a_rejection_rate", 0.01))
        and hit <= float(params.get("a_hits_per_order", 0.02))
    ):
        return G.A, why
    return G.B, why


def enterprise_grades_recompute(*, now=None) -> int:
    """Recompute every merchant's grade from the rule's window; returns how many changed.

    Three grouped queries whatever the number of merchants.
    """
    current = rule("enterprise_grade")
    if not current.enabled:
        return 0
    params = current.params or {}
    since = (now or timezone.now()) - timedelta(days=int(params.get("days", 90)))
    window = OrderClearance.objects.filter(created_at__gte=since).order_by()
    counts = {
        r["ebc_code"]: r
        for r in window.values("ebc_code").annotate(
            n=Count("id"), rejected=Count("id", filter=Q(state=OrderClearance.State.REJECTED))
        )
    }
    held = dict(
        ClearanceEvent.objects.filter(
            to_state=OrderClearance.State.HELD, clearance__created_at__gte=since
        )
        .order_by()
        .values("clearance__ebc_code")
        .annotate(n=Count("clearance_id", distinct=True))
        .values_list("clearance__ebc_code", "n")
    )
    hits = dict(
        RiskHit.objects.filter(created_at__gte=since)
        .exclude(ebc_code="")
        .exclude(rule_code="grade_sampling")  # our own sampling is not the merchant's fault
        .order_by()
        .values("ebc_code")
        .annotate(n=Count("id"))
        .values_list("ebc_code", "n")
    )
    changed = 0
    for enterprise in Enterprise.objects.filter(role=Enterprise.Role.MERCHANT):
        row = counts.get(enterprise.code, {"n": 0, "rejected": 0})
        grade, why = grade_for(
            orders=row["n"],
            rejected=row["rejected"],
            held=held.get(enterprise.code, 0),
            hits=hits.get(enterprise.code, 0),
            suspended=enterprise.suspended,
            params=params,
        )
        changed += grade != enterprise.risk_grade
        enterprise.risk_grade, enterprise.risk_grade_reason = grade, why[:300]
        enterprise.risk_graded_at = timezone.now()
        enterprise.save(update_fields=["risk_grade", "risk_grade_reason", "risk_graded_at"])
    return changed


def merchant_grade(ebc_code: str) -> str:
    """The merchant's grade as the pre-audit sees it (reference cache: an override or a
    re-grade shows within REFERENCE_CACHE_SECONDS)."""
    enterprise = enterprises({ebc_code}).get((Enterprise.Role.MERCHANT, ebc_code))
    return enterprise.effective_grade if enterprise else G.B


def inspection_rate(grade: str) -> float:
    rates = settings.CUSTOMS_INSPECTION_RATE_BY_GRADE
    return float(rates.get(grade, rates.get("B", 0.0)))


def sampled_for_inspection(order_no: str, rate: float) -> bool:
    """A deterministic draw from the order number: the same order always draws the same, so
    a re-run pre-audit agrees with itself and an auditor can reproduce the sample."""
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    draw = int(hashlib.sha256(order_no.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return draw < rate


def grade_sampling(*, order_no: str, ebc_code: str) -> bool:
    """The pre-audit's random inspection at the merchant grade's rate; a hit records why."""
    if not rule("grade_sampling").enabled:
        return False
    grade = merchant_grade(ebc_code)
    rate = inspection_rate(grade)
    if not sampled_for_inspection(order_no, rate):
        return False
    hit_record(
        rule_code="grade_sampling",
        subject=order_no,
        reason=f"merchant grade {grade}: sampled for inspection at {rate:.0%}",
        order_no=order_no,
        ebc_code=ebc_code,
    )
    return True


def enterprise_grade_override(*, code: str, grade: str, reason: str = "") -> Enterprise:
    """Staff set (or with grade "" clear) a merchant's grade; the pre-audit uses it at once in
    this process, everywhere within REFERENCE_CACHE_SECONDS."""
    from customs import errors

    if grade and grade not in G.values:
        raise errors.CustomsError(_("Choose a grade A, B, C or D."), code="customs_bad_grade")
    enterprise = Enterprise.objects.filter(role=Enterprise.Role.MERCHANT, code=code).first()
    if enterprise is None:
        raise errors.CustomsError(
            _("Merchant %(code)s is not registered with customs.") % {"code": code},
            code="customs_unknown_enterprise",
            http_status=404,
        )
    enterprise.risk_grade_override = grade
    if reason:
        enterprise.risk_grade_reason = reason[:300]
    enterprise.save(update_fields=["risk_grade_override", "risk_grade_reason"])
    return enterprise
