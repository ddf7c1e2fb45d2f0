from celery import shared_task

from bonded.services import reservations_expire


@shared_task(name="bonded.tasks.expire_reservations")
def expire_reservations() -> int:
    """Beat: free the stock of unpaid orders whose hold ran out."""
    return reservations_expire()
