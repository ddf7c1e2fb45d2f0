"""Ex-post supervision: rules over the declaration history, on a schedule and on demand.

Each rule reads its thresholds from its RiskRule row (admin-editable); every hit is stored
once with its reason (re-running adds nothing).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from statistics import median

from django.db.models import Count
from django.utils import timezone

from customs.models import Declaration, DeclaredLine
from customs.services.supervision import hit_record, rule


def _since(params: dict):
    return timezone.now() - timedelta(days=int(params.get("days", 30)))


def _orders(params: dict):
    return Declaration.objects.filter(kind="order", created_at__gte=_since(params)).exclude(
        state__in=["cancelled"]
    )


def frequent_buyer(params: dict) -> int:
    hits = 0
    rows = (
        _orders(params)
        .values("id_hash")
        .annotate(orders=Count("id"))
        .filter(orders__gt=int(params.get("max_orders", 10)))
    )
    for row in rows:
        hit_record(
            rule_code="frequent_buyer",
            subject=f"buyer {row['id_hash'][:12]}",
            reason=f"{row['orders']} orders in {params.get('days', 7)} days from one ID",
        )
        hits += 1
    return hits


def _sharing(code: str, field: str, params: dict, limit_key: str) -> int:
    ids: dict[str, set[str]] = defaultdict(set)
    for payload, id_hash in _orders(params).values_list("payload", "id_hash"):
        ids[payload.get(field, "")].add(id_hash)
    hits = 0
    for value, holders in ids.items():
        if value and len(holders) > int(params.get(limit_key, 3)):
            hit_record(
                rule_code=code,
                subject=f"{field} {value[-4:]}",
                reason=f"{len(holders)} resident IDs share one {field.replace('_', ' ')}",
            )
            hits += 1
    return hits


def under_priced(params: dict) -> int:
    prices: dict[str, list[Decimal]] = defaultdict(list)
    lines = list(
        DeclaredLine.objects.filter(declared_at__gte=_since(params)).select_related("declaration")
    )
    for line in lines:
        prices[line.item_no].append(line.price)
    ratio = Decimal(str(params.get("ratio", "0.5")))
    hits = 0
    for line in lines:
        sample = prices[line.item_no]
        if len(sample) < int(params.get("min_samples", 3)):
            continue
        reference = Decimal(str(median(sample)))
        if line.price < reference * ratio:
            decl = line.declaration
            hit_record(
                rule_code="under_priced",
                subject=decl.order_no,
                reason=f"item {line.item_no} at {line.price}, reference {reference:.2f}",
                order_no=decl.order_no,
                ebc_code=decl.ebc_code,
            )
            hits += 1
    return hits


def missing_freight(params: dict) -> int:
    hits = 0
    for decl in _orders(params).filter(kind="order"):
        p = decl.payload
        if p.get("delivery_mode") != "delivery":
            continue
        missing = [
            name
            for name, key in (("freight", "freight"), ("insurance", "insured_fee"))
            if Decimal(str(p.get(key, "0"))) == 0
        ]
        if missing:
            hit_record(
                rule_code="missing_freight",
                subject=decl.order_no,
                reason=f"delivery order without {' or '.join(missing)}",
                order_no=decl.order_no,
                ebc_code=decl.ebc_code,
            )
            hits += 1
    return hits


def merchant_rejections(params: dict) -> int:
    hits = 0
    rows = (
        Declaration.objects.filter(state="rejected", state_changed_at__gte=_since(params))
        .values("ebc_code")
        .annotate(rejected=Count("id"))
        .filter(rejected__gt=int(params.get("max_rejections", 3)))
    )
    for row in rows:
        hit_record(
            rule_code="merchant_rejections",
            subject=row["ebc_code"],
            reason=f"{row['rejected']} rejected declarations in {params.get('days', 7)} days",
            ebc_code=row["ebc_code"],
        )
        hits += 1
    return hits


RULES = {
    "frequent_buyer": frequent_buyer,
    "shared_phone": lambda p: _sharing("shared_phone", "buyer_telephone", p, "max_ids"),
    "shared_address": lambda p: _sharing("shared_address", "consignee_address", p, "max_ids"),
    "under_priced": under_priced,
    "missing_freight": missing_freight,
    "merchant_rejections": merchant_rejections,
    "enterprise_grade": lambda p: _grades(),
}


def _grades() -> int:
    from customs.services.grading import enterprise_grades_recompute

    enterprise_grades_recompute()
    return 0  # grading records no hits


def ex_post_rules_run(*, codes: list[str] | None = None) -> int:
    """Run the enabled ex-post rules (all, or the given codes); returns the hits found."""
    total = 0
    for code, check in RULES.items():
        if codes and code not in codes:
            continue
        current = rule(code)
        if current.enabled:
            total += check(current.params or {})
    return total
