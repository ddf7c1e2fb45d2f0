"""Platform-side positive supervision: ex-ante checks and the three-order comparison.

Comparisons are pure functions over the snapshots customs keeps (payload dicts), so the same
code runs before filing and again before the inventory list is declared.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from config import refcache
from customs import errors
from customs.models import (
    DeclaredLine,
    Enterprise,
    PositiveListEntry,
    RiskHit,
    RiskRule,
)
from customs.tax import order_tax

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Rules are data; these are the defaults when a rule has no row yet (and what the data
# migration creates). params are thresholds editable in admin.
DEFAULT_RULES: dict[str, tuple[str, str, dict]] = {
    "party_registered": ("ex_ante", "Every party code registered and not suspended", {}),
    "positive_list": ("ex_ante", "Every HS code on the current positive list", {}),
    "prohibited": ("ex_ante", "No prohibited goods", {}),
    "high_risk_inspection": ("ex_ante", "High-risk goods flagged for inspection", {}),
    "yearly_cap": ("ex_ante", "Per-person yearly quantity caps", {}),
    "three_order": ("in_process", "Order, payment, waybill and list agree", {}),
    "tax_recompute": ("in_process", "Tax recomputed from the declared data", {}),
    "frequent_buyer": (
        "ex_post",
        "One ID buying unusually often",
        {"days": 7, "max_orders": 10},
    ),
    "shared_phone": ("ex_post", "Many IDs sharing one phone", {"days": 30, "max_ids": 3}),
    "shared_address": ("ex_post", "Many IDs sharing one address", {"days": 30, "max_ids": 5}),
    "under_priced": (
        "ex_post",
        "Price far under the item's reference price",
        {"days": 30, "ratio": "0.5", "min_samples": 3},
    ),
    "missing_freight": (
        "ex_post",
        "Delivery orders without freight or insurance",
        {"days": 7},
    ),
    "merchant_rejections": (
        "ex_post",
        "Repeated rejections per merchant",
        {"days": 7, "max_rejections": 3},
    ),
    "grade_sampling": (
        "ex_ante",
        "Inspect a share of each merchant's orders by its risk grade",
        {},
    ),
    "enterprise_grade": (
        "ex_post",
        "Grade merchants A-D from rejections, holds and hits",
        {
            "days": 90,
            "a_min_orders": 50,
            "a_rejection_rate": "0.01",
            "a_hits_per_order": "0.02",
            "c_rejection_rate": "0.1",
            "c_held_rate": "0.2",
            "c_hits_per_order": "0.2",
            "d_rejection_rate": "0.2",
            "d_hits_per_order": "0.5",
        },
    ),
}


# Every rule read once per pre-check (rules_snapshot) instead of one query per rule asked.
_snapshot: ContextVar[dict[str, RiskRule] | None] = ContextVar("risk_rules", default=None)


@contextmanager
def rules_snapshot():
    """Within the block, `rule()` answers from one read of all rules (a pre-check asks for
    seven): the same rows the block would have read one by one, in one query, from the
    per-process reference cache (config/refcache.py: a change shows within
    REFERENCE_CACHE_SECONDS)."""
    rules = refcache.cached(
        ("customs.RiskRule",), "risk_rules", lambda: {r.code: r for r in RiskRule.objects.all()}
    )
    token = _snapshot.set(rules)
    try:
        yield
    finally:
        _snapshot.reset(token)


def rule(code: str) -> RiskRule:
    """The rule's row, or an unsaved default (enabled) when nobody has stored one yet."""
    snapshot = _snapshot.get()
    if snapshot is not None:
        found = snapshot.get(code)
    else:
        found = RiskRule.objects.filter(code=code).first()
    if found:
        return found
    stage, description, params = DEFAULT_RULES[code]
    return RiskRule(code=code, stage=stage, description=description, params=dict(params))


def hit_record(
    *, rule_code: str, subject: str, reason: str, order_no: str = "", ebc_code: str = ""
) -> RiskHit:
    """Store a hit once per (rule, subject, reason): re-running a rule adds nothing."""
    fingerprint = hashlib.sha256(f"{rule_code}|{subject}|{reason}".encode()).hexdigest()
    hit, _created = RiskHit.objects.get_or_create(
        fingerprint=fingerprint,
        defaults={
            "rule_code": rule_code,
            "stage": DEFAULT_RULES.get(rule_code, ("ex_post",))[0],
            "subject": subject[:128],
            "reason": reason[:500],
            "order_no": order_no,
            "ebc_code": ebc_code,
        },
    )
    return hit


@dataclass(frozen=True)
class ExAnteResult:
    ciq_required: bool
    flagged_for_inspection: bool
    entries: dict[str, PositiveListEntry]  # hs_code -> matching entry


def current_entries(hs_codes: set[str], *, on: datetime | None = None) -> dict[str, object]:
    """Entries of the editions valid today matching each code (10 digits, or 8-digit lines);
    from the per-process reference cache (config/refcache.py)."""
    today = (on or timezone.now()).astimezone(SHANGHAI).date()
    codes = frozenset(hs_codes)

    def load() -> dict[str, PositiveListEntry]:
        prefixes = {code[:8] for code in codes}
        entries = (
            PositiveListEntry.objects.filter(edition__valid_from__lte=today)
            .filter(Q(edition__valid_to__isnull=True) | Q(edition__valid_to__gte=today))
            .filter(Q(hs_code__in=codes) | Q(hs_code__in=prefixes))
            .order_by("-edition__valid_from")
        )
        found: dict[str, PositiveListEntry] = {}
        for entry in entries:
            for code in codes:
                if code not in found and (entry.hs_code == code or entry.hs_code == code[:8]):
                    found[code] = entry
        return found

    return refcache.cached(
        ("customs.PositiveListEntry", "customs.PositiveListEdition"),
        ("positive_list", codes, today),
        load,
    )


def enterprises(codes: set[str]) -> dict[tuple[str, str], Enterprise]:
    """(role, code) -> the registered enterprise, for these codes; from the per-process
    reference cache (a suspension shows within REFERENCE_CACHE_SECONDS)."""
    wanted = frozenset(codes)
    return refcache.cached(
        ("customs.Enterprise",),
        ("enterprises", wanted),
        lambda: {(e.role, e.code): e for e in Enterprise.objects.filter(code__in=wanted)},
    )


def parties_check(*, parties: dict[str, str]) -> None:
    """parties: role -> code. Refuses unregistered or suspended codes."""
    if not rule("party_registered").enabled:
        return
    registered = enterprises(set(parties.values()))
    for role, code in parties.items():
        enterprise = registered.get((role, code))
        if enterprise is None:
            raise errors.PartyNotRegistered(
                _("The %(role)s code %(code)s is not registered with customs.")
                % {"role": role, "code": code},
                extra={"role": role, "code": code},
            )
        if enterprise.suspended:
            raise errors.PartySuspended(
                _("The %(role)s code %(code)s is suspended: %(why)s")
                % {"role": role, "code": code, "why": enterprise.suspended_reason},
                extra={"role": role, "code": code},
            )


def goods_check(*, order_no: str, ebc_code: str, lines: list[dict], buyer_hash: str):
    """Positive list, prohibited goods, high-risk flag and yearly caps for one order."""
    codes = {line["hs_code"] for line in lines}
    entries = current_entries(codes)
    if rule("positive_list").enabled:
        missing = sorted(codes - entries.keys())
        if missing:
            raise errors.NotOnPositiveList(
                _("HS code %(codes)s is not on the current positive list; it cannot be sold.")
                % {"codes": ", ".join(missing)},
                extra={"hs_codes": missing},
            )
    if rule("prohibited").enabled:
        banned = sorted(code for code, entry in entries.items() if entry.prohibited)
        if banned:
            raise errors.ProhibitedGoods(
                _("HS code %(codes)s may not be imported this way.") % {"codes": ", ".join(banned)},
                extra={"hs_codes": banned},
            )
    flagged = False
    if rule("high_risk_inspection").enabled:
        for code, entry in entries.items():
            if entry.high_risk:
                flagged = True
                hit_record(
                    rule_code="high_risk_inspection",
                    subject=order_no,
                    reason=f"HS {code} ({entry.description}) is high risk: inspect",
                    order_no=order_no,
                    ebc_code=ebc_code,
                )
    if rule("yearly_cap").enabled:
        _caps_check(lines=lines, entries=entries, buyer_hash=buyer_hash)
    if not flagged:
        from customs.services.grading import grade_sampling

        flagged = grade_sampling(order_no=order_no, ebc_code=ebc_code)
    return ExAnteResult(
        ciq_required=any(entry.quarantine for entry in entries.values()),
        flagged_for_inspection=flagged,
        entries=entries,
    )


def _caps_check(*, lines: list[dict], entries: dict, buyer_hash: str) -> None:
    year_start = (
        timezone.now()
        .astimezone(SHANGHAI)
        .replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    )
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line["hs_code"]] = wanted.get(line["hs_code"], 0) + int(line["qty"])
    for code, qty in wanted.items():
        cap = entries[code].yearly_cap_qty if code in entries else None
        if cap is None:
            continue
        bought = (
            DeclaredLine.objects.filter(
                buyer_hash=buyer_hash, hs_code=code, declared_at__gte=year_start
            )
            .exclude(declaration__state__in=["rejected", "cancelled"])
            .aggregate(total=Sum("qty"))["total"]
            or 0
        )
        if bought + qty > cap:
            raise errors.YearlyCapExceeded(
                _("HS %(code)s is capped at %(cap)s per person a year; %(bought)s already bought.")
                % {"code": code, "cap": cap, "bought": bought},
                extra={"hs_code": code, "cap": cap, "bought": bought},
            )


def _d(value) -> Decimal:
    return Decimal(str(value))


def order_problems(order: dict) -> list[str]:
    """The order's own arithmetic: line totals, goods value, acturalPaid, recomputed tax."""
    problems = []
    for line in order["lines"]:
        if _d(line["price"]) * int(line["qty"]) != _d(line["total_price"]):
            problems.append(f"line {line['gnum']}: totalPrice is not qty x price")
    goods = sum((_d(line["total_price"]) for line in order["lines"]), Decimal("0"))
    if goods != _d(order["goods_value"]):
        problems.append(f"goodsValue {order['goods_value']} is not the sum of lines {goods}")
    paid = _d(order["goods_value"]) + _d(order["freight"]) + _d(order["tax_total"])
    if paid - _d(order["discount"]) != _d(order["actural_paid"]):
        problems.append("acturalPaid is not goodsValue + freight + taxTotal - discount")
    if rule("tax_recompute").enabled:
        tax = order_tax(
            lines=order["lines"], freight=_d(order["freight"]), insured_fee=_d(order["insured_fee"])
        )
        if tax != _d(order["tax_total"]):
            problems.append(f"taxTotal {order['tax_total']} differs from recomputed {tax}")
    return problems


def order_waybill_problems(order: dict, waybill: dict) -> list[str]:
    problems = []
    for field in ("consignee", "consignee_telephone", "consignee_address"):
        if order[field] != waybill[field]:
            problems.append(f"{field} differs between order and waybill")
    if order["logistics_code"] != waybill["logistics_code"]:
        problems.append("logisticsCode differs between order and waybill")
    if _d(order["freight"]) != _d(waybill["freight"]):
        problems.append("freight differs between order and waybill")
    return problems


def order_payment_problems(
    order: dict, order_id_hash: str, payment: dict, payment_id_hash: str
) -> list[str]:
    problems = []
    if order["order_no"] != payment["order_no"]:
        problems.append("orderNo differs between order and payment")
    if _d(order["actural_paid"]).quantize(Decimal("0.01")) != _d(payment["amount_paid"]).quantize(
        Decimal("0.01")
    ):
        problems.append(
            f"acturalPaid {order['actural_paid']} differs from amountPaid {payment['amount_paid']}"
        )
    if order["buyer_name"] != payment["payer_name"] or order_id_hash != payment_id_hash:
        problems.append("the payer is not the buyer (name or resident ID differ)")
    if order["pay_code"] != payment["pay_code"]:
        problems.append("payCode differs between order and payment")
    return problems


def list_problems(order: dict, inventory_lines: list[dict]) -> list[str]:
    """Inventory list lines must match the order lines by gnum, item and quantity."""
    ordered = {(int(x["gnum"]), x["item_no"], int(x["qty"])) for x in order["lines"]}
    listed = {(int(x["gnum"]), x["item_no"], int(x["qty"])) for x in inventory_lines}
    return [] if ordered == listed else ["inventory list lines differ from the order lines"]


def precheck_enabled() -> bool:
    return bool(settings.CUSTOMS_PRECHECK)
