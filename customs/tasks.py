"""Celery entry points: thin wrappers over services, safe to run twice, state in the database.

Routed to the customs_filing and customs_receipts queues (CELERY_TASK_ROUTES). acks_late with
reject_on_worker_lost: a killed worker's task goes back to the queue.
"""

from __future__ import annotations

import logging
import random

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from config.tasks import coalesced_task_started
from customs import services
from customs.errors import GatewayUnavailable

logger = logging.getLogger(__name__)
DURABLE = {"acks_late": True, "reject_on_worker_lost": True}


def backoff(retries: int) -> float:
    """Exponential backoff with full jitter, capped."""
    ceiling = min(
        settings.CUSTOMS_RETRY_BACKOFF_MAX, settings.CUSTOMS_RETRY_BASE_SECONDS * 2**retries
    )
    return random.uniform(ceiling / 2, ceiling)


@shared_task(bind=True, name="customs.tasks.declarations_push", max_retries=None, **DURABLE)
def declarations_push(self) -> int:
    """Send every due declaration, batched; transient gateway failures retry with backoff."""
    coalesced_task_started("customs.tasks.declarations_push")
    try:
        return services.declarations_file().sent
    except GatewayUnavailable as exc:
        if self.request.retries >= settings.CUSTOMS_MAX_RETRIES:
            logger.warning("gateway still unavailable; the sweep will try again: %s", exc)
            return 0
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(name="customs.tasks.inventory_declare", **DURABLE)
def inventory_declare(order_no: str) -> bool:
    return services.inventory_declare(order_no=order_no) is not None


@shared_task(name="customs.tasks.receipts_process", **DURABLE)
def receipts_process(receipt_ids: list[int]) -> int:
    """A pushed batch, applied in arrival order in one transaction: a crash rolls the whole
    batch back, and the redelivery or the sweep applies it (each receipt once)."""
    services.receipts_apply(receipt_ids=receipt_ids)
    return len(receipt_ids)


@shared_task(name="customs.tasks.receipts_due", **DURABLE)
def receipts_due() -> int:
    """Coalesced (config.tasks.send_coalesced_on_commit): every receipt not yet applied, in
    batches of 100 per transaction; at saturation many pushes share one task."""
    coalesced_task_started("customs.tasks.receipts_due")
    return services.receipts_apply_due()


@shared_task(bind=True, name="customs.tasks.receipts_poll", **DURABLE)
def receipts_poll(self) -> int:
    applied = 0
    for authority in ("customs", "ciq"):
        try:
            applied += services.receipts_poll(authority=authority)
        except GatewayUnavailable as exc:
            logger.info("receipt poll of %s failed: %s", authority, exc)
    return applied


@shared_task(name="customs.tasks.declarations_cancel", **DURABLE)
def declarations_cancel(order_no: str, reason: str) -> None:
    services.declarations_cancel_for_order(order_no=order_no, reason=reason)


@shared_task(bind=True, name="customs.tasks.inspection_decision_send", max_retries=None,
             **DURABLE)  # fmt: skip
def inspection_decision_send(self, decision_id: int) -> str:
    """An officer's inspection decision to the authority, retried while it is down; after
    the retries it stays pending (listed in the admin) and the sweep sends it again."""
    try:
        return services.inspection_decision_send(decision_id=decision_id)
    except GatewayUnavailable as exc:
        if self.request.retries >= settings.CUSTOMS_MAX_RETRIES:
            logger.warning("authority unreachable; decision %s left for the sweep: %s",
                           decision_id, exc)  # fmt: skip
            return "pending"
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(name="customs.tasks.declarations_sweep", **DURABLE)
def declarations_sweep() -> dict:
    """Catch anything a lost message missed: unsent declarations, unapplied receipts,
    lists not yet declared, releases not yet written off, receipts we never got."""
    from customs.services.sweep import sweep

    return sweep(now=timezone.now())


@shared_task(name="customs.tasks.ex_post_rules_run", **DURABLE)
def ex_post_rules_run() -> int:
    from customs.services.ex_post import ex_post_rules_run as run

    return run()


@shared_task(name="customs.tasks.clearance_days_roll_up")
def clearance_days_roll_up() -> int:
    """Keep the dashboard's daily rollup current (idempotent: it rebuilds whole days)."""
    from customs.services.rollup import clearance_days_catch_up

    return clearance_days_catch_up()


@shared_task(name="customs.tasks.eport_inbox_process", **DURABLE)
def eport_inbox_process() -> dict:
    """Receipt files from the E-Port client's inbox (nothing to do while it is empty)."""
    from customs.services.exchange import eport_inbox_process as run

    report = run()
    return {"applied": report.applied, "duplicates": report.duplicates,
            "quarantined": report.quarantined, "receipts": report.receipts}  # fmt: skip


@shared_task(bind=True, name="customs.tasks.realtime_data_upload", max_retries=None, **DURABLE)
def realtime_data_upload(self, query_id: int) -> str:
    """Customs asked for an order's original data: upload it signed, retried while customs
    cannot be reached (the beat catches up what is left)."""
    from customs.services.realtime import realtime_data_upload as upload

    try:
        return upload(query_id=query_id)
    except GatewayUnavailable as exc:
        if self.request.retries >= settings.CUSTOMS_MAX_RETRIES:
            return "pending"
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(name="customs.tasks.realtime_uploads_pending", **DURABLE)
def realtime_uploads_pending() -> int:
    from customs.services.realtime import realtime_uploads_pending as run

    return run()
