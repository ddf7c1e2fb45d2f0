"""Beat sweeps of the pickup app: take no arguments, re-read the database, call one service."""

from celery import shared_task

from pickup import services


@shared_task(name="pickup.tasks.pickups_mark_overdue")
def pickups_mark_overdue() -> int:
    return services.pickups_mark_overdue()


@shared_task(name="pickup.tasks.pickup_codes_issue")
def pickup_codes_issue() -> int:
    """Issue codes for pickup orders that have none yet (the order page also issues on view)."""
    from pickup.selectors import pickup_orders_without_code

    issued = 0
    for order in pickup_orders_without_code():
        services.pickup_code_issue(order=order)
        issued += 1
    return issued
