"""The pipeline's figures, read at the moment they are asked for (a scrape or the staff page)
through each app's selectors: any node answers the same, whatever ran where."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from bonded.selectors_pipeline import ReservationsExpiring, reservations_expiring
from config.health import worker_last_seen
from customs.selectors_pipeline import (
    DeclarationCounts,
    InspectionQueueFigures,
    declaration_counts,
    inspection_queue_figures,
    oldest_unapplied_receipt_at,
    oldest_unfiled_declaration_at,
)
from dispatch.selectors_pipeline import DispatchAtRisk, dispatch_at_risk
from marketplace.selectors import pipeline as orders
from ops.models import SweepTally
from ops.queues import queue_depths

logger = logging.getLogger(__name__)


def age_seconds(since: datetime | None, now: datetime) -> float:
    """0 when there is nothing waiting: the alert reads "older than", never "missing"."""
    return max((now - since).total_seconds(), 0.0) if since else 0.0


@dataclass
class PipelineFigures:
    now: datetime
    orders_by_state: dict[str, int]
    paid_not_final: dict[str, int]
    paid_not_final_minutes: int
    declarations: list[DeclarationCounts]
    failed_window_hours: int
    oldest_unfiled_at: datetime | None
    oldest_unapplied_receipt_at: datetime | None
    inspection: InspectionQueueFigures
    reservations: ReservationsExpiring
    reservations_window_minutes: int
    sweeps: list[SweepTally]
    sweep_marks: dict[str, datetime]
    clearance_sync_retrying: int
    clearance_sync_gave_up: int
    queue_depths: dict[str, int] | None  # None: the broker could not be read
    worker_seconds_ago: float | None  # None: no heartbeat recorded
    notifications_unacknowledged: int
    oldest_unacknowledged_at: datetime | None
    payments_flagged: int
    dispatch: DispatchAtRisk

    @property
    def oldest_unfiled_seconds(self) -> float:
        return age_seconds(self.oldest_unfiled_at, self.now)

    @property
    def oldest_unapplied_receipt_seconds(self) -> float:
        return age_seconds(self.oldest_unapplied_receipt_at, self.now)

    @property
    def oldest_inspection_seconds(self) -> float:
        return age_seconds(self.inspection.oldest_at, self.now)

    @property
    def oldest_unacknowledged_seconds(self) -> float:
        return age_seconds(self.oldest_unacknowledged_at, self.now)

    @property
    def paid_not_final_total(self) -> int:
        return sum(self.paid_not_final.values())


def _queue_depths() -> dict[str, int] | None:
    try:
        return queue_depths()
    except Exception:  # the broker down is a figure too (none), never an error page
        logger.warning("queue depths unavailable: broker unreachable")
        return None


def pipeline_figures(*, now: datetime | None = None) -> PipelineFigures:
    now = now or timezone.now()
    minutes = settings.METRICS_PAID_NOT_FINAL_MINUTES
    window = settings.METRICS_RESERVATIONS_EXPIRING_MINUTES
    failed_hours = settings.METRICS_FAILED_WINDOW_HOURS
    unacked, unacked_at = orders.payment_notifications_unacknowledged()
    retrying, gave_up = orders.clearance_sync_failures()
    return PipelineFigures(
        now=now,
        orders_by_state=orders.orders_by_state(),
        paid_not_final=orders.paid_orders_not_final(paid_before=now - timedelta(minutes=minutes)),
        paid_not_final_minutes=minutes,
        declarations=declaration_counts(failed_since=now - timedelta(hours=failed_hours)),
        failed_window_hours=failed_hours,
        oldest_unfiled_at=oldest_unfiled_declaration_at(),
        oldest_unapplied_receipt_at=oldest_unapplied_receipt_at(),
        inspection=inspection_queue_figures(),
        reservations=reservations_expiring(now=now, until=now + timedelta(minutes=window)),
        reservations_window_minutes=window,
        sweeps=list(SweepTally.objects.all()),
        sweep_marks=orders.sweep_marks(),
        clearance_sync_retrying=retrying,
        clearance_sync_gave_up=gave_up,
        queue_depths=_queue_depths(),
        worker_seconds_ago=worker_last_seen()["seconds_ago"],
        notifications_unacknowledged=unacked,
        oldest_unacknowledged_at=unacked_at,
        payments_flagged=orders.payments_flagged(),
        dispatch=dispatch_at_risk(now=now),
    )
