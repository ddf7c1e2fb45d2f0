"""Celery entry points of the marketplace: take order numbers or ids, call one service."""

from __future__ import annotations

import logging

from celery import shared_task

from config.tasks import send_on_commit

logger = logging.getLogger(__name__)


def enqueue(name: str, **kwargs) -> None:
    """Send after commit; with the broker down the durable state waits for the sweeps."""
    send_on_commit(name, kwargs=kwargs)


@shared_task(name="marketplace.tasks.clearance_changed", acks_late=True)
def clearance_changed(order_no: str, state: str = "") -> str:
    """Listener named in CUSTOMS_CLEARANCE_LISTENERS: re-read the clearance and apply it."""
    from marketplace.services.clearance import order_sync_clearance

    order = order_sync_clearance(order_no=order_no)
    return order.state if order else "unknown"


@shared_task(name="marketplace.tasks.clearances_sweep")
def clearances_sweep() -> int:
    """Catch what a lost announcement missed; progress is kept in the database."""
    from marketplace.services.clearance import clearances_sweep as sweep

    return sweep()


@shared_task(name="marketplace.tasks.orders_expire")
def orders_expire() -> int:
    from marketplace.services.orders import orders_expire as expire

    return expire()


@shared_task(
    name="marketplace.tasks.refund_execute",
    bind=True,
    max_retries=8,
    autoretry_for=(Exception,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
)
def refund_execute(self, refund_id: int) -> str:
    from marketplace.services.payments import refund_execute as execute

    return execute(refund_id=refund_id).state


@shared_task(name="marketplace.tasks.refunds_sweep")
def refunds_sweep() -> int:
    from marketplace.models import Refund
    from marketplace.services.payments import refund_execute as execute

    done = 0
    for refund_id in Refund.objects.filter(state=Refund.State.REQUESTED).values_list(
        "pk", flat=True
    )[:200]:
        try:
            execute(refund_id=refund_id)
            done += 1
        except Exception:
            logger.warning("refund %s still failing", refund_id)
    return done


@shared_task(
    name="marketplace.tasks.sandbox_notify",
    bind=True,
    max_retries=10,
    retry_backoff=1,
    retry_backoff_max=120,
    retry_jitter=True,
)
def sandbox_notify(self, token: str) -> bool:
    """The sandbox provider's side: POST the signed notification until we answer 200."""
    from marketplace.payment_provider import sandbox_notify as notify

    try:
        ok = notify(token=token)
    except Exception as exc:  # network error: retry with backoff
        raise self.retry(exc=exc) from exc
    if not ok:
        raise self.retry()
    return ok


@shared_task(name="marketplace.tasks.sandbox_notify_sweep")
def sandbox_notify_sweep() -> int:
    """The sandbox provider re-sends notifications nobody acknowledged (lost messages)."""
    from django.conf import settings

    from marketplace.payment_provider import sandbox_notify_sweep as sweep

    return sweep(older_than_seconds=settings.PAYMENT_NOTIFY_SWEEP_SECONDS)


@shared_task(name="marketplace.tasks.journey_days_roll_up")
def journey_days_roll_up() -> int:
    """Keep the supervision dashboard's daily journey rollup current (rebuilds whole days)."""
    from marketplace.services.journey_rollup import journey_days_catch_up

    return journey_days_catch_up()


@shared_task(name="marketplace.tasks.quota_bands_warm")
def quota_bands_warm() -> int:
    """Recompute this year's quota bands for the dashboard before the cached ones expire."""
    from marketplace.selectors.quota import quota_usage_distribution, quota_year_bounds

    year = quota_year_bounds()[0].year
    return sum(n for _bound, n in quota_usage_distribution(year=year, fresh=True))


@shared_task(name="marketplace.tasks.notification_nonces_prune")
def notification_nonces_prune() -> int:
    """Beat (NONCE_PRUNE_SECONDS): forget payment notification nonces past the replay window."""
    from marketplace.services.payments import notification_nonces_prune as prune

    return prune()


@shared_task(name="marketplace.tasks.placement_keys_prune")
def placement_keys_prune() -> int:
    """Beat (hourly): forget placement Idempotency-Keys past IDEMPOTENCY_KEY_TTL_HOURS."""
    from marketplace.services.idempotency import placement_keys_prune as prune

    return prune()


@shared_task(name="marketplace.tasks.payment_customs_declare", acks_late=True)
def payment_customs_declare(payment_id: int) -> str:
    """Ask the payment company to file the payment record with customs (WeChat Pay, Alipay)."""
    from marketplace.services.payments import payment_customs_declare as declare

    return str(declare(payment_id=payment_id).customs_answer.get("state", ""))


@shared_task(name="marketplace.tasks.payment_customs_declare_sweep")
def payment_customs_declare_sweep() -> int:
    from marketplace.services.payments import payment_customs_declare_sweep as sweep

    return sweep()
