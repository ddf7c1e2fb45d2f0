"""The periodic sweep: durable state, not the broker, guarantees progress."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings

from customs.errors import GatewayUnavailable
from customs.models import Declaration, OrderClearance
from customs.services.clearance import clearance_release_goods
from customs.services.declarations import inventory_declare, nudge_filing
from customs.services.filing import declarations_due
from customs.services.overdue import declarations_overdue_check
from customs.services.receipts import receipts_apply_pending, receipts_poll

logger = logging.getLogger(__name__)


def sweep(*, now: datetime) -> dict:
    stuck_before = now - timedelta(seconds=settings.CUSTOMS_STUCK_AFTER_SECONDS)
    report = {"receipts": receipts_apply_pending()}
    waiting = Declaration.objects.filter(
        state__in=["sent", "accepted", "review", "concluded", "inspection"],
        state_changed_at__lt=stuck_before,
    ).exclude(kind="payment", state="accepted")
    if waiting.exists():
        for authority in ("customs", "ciq"):
            try:
                report["polled_" + authority] = receipts_poll(authority=authority)
            except GatewayUnavailable as exc:
                logger.info("sweep poll of %s failed: %s", authority, exc)
    report["overdue"] = _overdue(now=now)
    declared = 0
    for order_no in OrderClearance.objects.filter(state="filing").values_list(
        "order_no", flat=True
    ):
        declared += inventory_declare(order_no=order_no) is not None
    report["declared"] = declared
    report["released"] = sum(
        clearance_release_goods(order_no=order_no)
        for order_no in OrderClearance.objects.filter(
            state="released", goods_released_at__isnull=True
        ).values_list("order_no", flat=True)
    )
    report["due"] = declarations_due().count()
    if report["due"]:
        from django.db import transaction

        with transaction.atomic():
            nudge_filing()
    return report


def _overdue(*, now: datetime) -> dict:
    """Accepted but unanswered declarations: status query, idempotent re-send, then staff."""
    return declarations_overdue_check(now=now)
