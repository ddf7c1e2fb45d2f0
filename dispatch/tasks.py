"""Celery entry points of the warehouse: take ids, re-read the database, call one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from config.tasks import send_on_commit

logger = logging.getLogger(__name__)


@shared_task(
    name="dispatch.tasks.shipment_collect",
    bind=True,
    max_retries=10,
    retry_backoff=1,
    retry_backoff_max=120,
    retry_jitter=True,
)
def shipment_collect(self, shipment_id: int) -> bool:
    """Hand a dispatched parcel to the courier (the courier may be a remote service)."""
    from dispatch.services import shipment_collect as collect

    try:
        return collect(shipment_id=shipment_id)
    except Exception as exc:  # courier unreachable: retry with backoff; the sweep catches up
        raise self.retry(exc=exc) from exc


@shared_task(
    name="dispatch.tasks.courier_sandbox_deliver",
    bind=True,
    max_retries=10,
    retry_backoff=1,
    retry_backoff_max=120,
    retry_jitter=True,
)
def courier_sandbox_deliver(self, parcel_id: int) -> bool:
    """The sandbox courier's side: deliver, then POST the signed callback until we answer 200."""
    from dispatch.courier import sandbox_deliver

    try:
        ok = sandbox_deliver(parcel_id=parcel_id)
    except Exception as exc:  # network error: retry with backoff
        raise self.retry(exc=exc) from exc
    if not ok:
        raise self.retry()
    return ok


@shared_task(name="dispatch.tasks.dispatch_sweep")
def dispatch_sweep() -> dict:
    """Beat: open shipments for newly released delivery orders, hand dispatched parcels the
    courier has not collected yet, let the sandbox courier deliver what is due, and give back
    the waybills of orders that never left."""
    from dispatch.courier import sandbox_parcels_due
    from dispatch.models import Shipment
    from dispatch.services import shipment_collect, shipments_sync

    opened = shipments_sync()
    collected = 0
    for shipment_id in Shipment.objects.filter(
        dispatched_at__isnull=False, courier_collected_at__isnull=True
    ).values_list("id", flat=True)[:200]:
        try:
            collected += shipment_collect(shipment_id=shipment_id)
        except Exception:  # one unreachable courier call must not stop the others
            logger.exception("courier collection of shipment %s failed", shipment_id)
    due = 0
    # The sandbox courier's own deliveries, only where sandboxes may run at all.
    due_ids = (
        sandbox_parcels_due().values_list("id", flat=True)[:200]
        if settings.SANDBOXES_ENABLED
        else []
    )
    for parcel_id in due_ids:
        send_on_commit("dispatch.tasks.courier_sandbox_deliver", kwargs={"parcel_id": parcel_id})
        due += 1
    from dispatch.services.waybills import shipments_track, waybills_release

    released = tracked = 0
    try:
        released = waybills_release()
        tracked = shipments_track()
    except Exception:  # the courier unreachable: the next sweep tries again
        logger.exception("giving back unused waybills / the status query failed")
    return {"opened": opened, "collected": collected, "deliveries": due, "released": released,
            "tracked": tracked}  # fmt: skip


@shared_task(name="dispatch.tasks.courier_nonces_prune")
def courier_nonces_prune() -> int:
    """Beat (NONCE_PRUNE_SECONDS): forget courier callback nonces past the replay window."""
    from dispatch.services import courier_nonces_prune as prune

    return prune()
