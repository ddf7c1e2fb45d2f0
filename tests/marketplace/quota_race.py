"""The child side of the quota race: one process, one shopper's checkout and/or payment.

Imported by a spawned process (no Django at import time): `shopper_race` sets the test
database, sets Django up, widens the race window and reports what happened on a queue.
"""

from __future__ import annotations

import contextlib
import os
import threading

# How long the first process in the window waits for the others to reach it. With the quota
# lock held it waits alone (the others are queued on the lock) and goes on when this runs out.
WINDOW_SECONDS = 4.0


def _widened(fn, barrier):
    """`fn` entered only once every racer has read the quota (or the window timed out)."""

    def wrapped(*args, **kwargs):
        # Broken: serialised by the lock, nobody else can be in the window.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(WINDOW_SECONDS)
        return fn(*args, **kwargs)

    return wrapped


def shopper_race(job: dict, start, place_window, pay_window, results) -> None:
    """job: {"db_url", "shopper_id", "listing_id", "quantity"} to place then pay, or
    {"db_url", "order_no"} to pay an order already placed."""
    os.environ["DATABASE_URL"] = job["db_url"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connections

    from bonded import services as bonded_services
    from config.errors import DomainError
    from marketplace import payment_provider, tasks
    from marketplace.models import Order, Payment, SandboxCharge, Shopper
    from marketplace.services import CartLine, PickupDelivery, order_place, payment_start
    from marketplace.services.payments import Notification, payment_notified

    # After the quota was read, before the transaction commits: placing reserves the stock,
    # paying confirms it.
    bonded_services.stock_reserve = _widened(bonded_services.stock_reserve, place_window)
    bonded_services.reservation_confirm = _widened(bonded_services.reservation_confirm, pay_window)
    tasks.send_on_commit = lambda *args, **kwargs: None  # no sandbox notify or refund messages
    outcome: dict = {"pid": os.getpid()}
    try:
        start.wait(120)
        if "order_no" in job:
            order = Order.objects.get(number=job["order_no"])
        else:
            shopper = Shopper.objects.get(pk=job["shopper_id"])
            try:
                [order] = order_place(
                    shopper=shopper,
                    lines=[CartLine(job["listing_id"], job["quantity"])],
                    delivery=PickupDelivery(counter_code="C-ZZ1"),
                    actor="race",
                )
            except DomainError as exc:
                outcome.update(step="place", result="refused", code=exc.code)
                return
        outcome["order_no"] = order.number
        payment = payment_start(order=order)
        charge = payment_provider.sandbox_pay(token=payment.token)
        charge = SandboxCharge.objects.get(pk=charge.pk)
        paid = payment_notified(
            notification=Notification(
                token=charge.token,
                order_no=charge.merchant_order_no,
                transaction_id=charge.transaction_id,
                amount=charge.amount_paid,
                payer_name=charge.payer_name,
                payer_id_number=charge.payer_id_number,
                paid_at=charge.paid_at,
            )
        )
        if paid.state == Payment.State.SUCCEEDED:
            outcome.update(step="pay", result="paid")
        else:
            code = paid.problem.split(":", 1)[0] if ":" in paid.problem else paid.problem
            outcome.update(step="pay", result="refused", code=code)
    except Exception as exc:  # reported, so the test shows it instead of a missing result
        outcome.update(result="error", error=f"{type(exc).__name__}: {exc}")
    finally:
        connections.close_all()
        results.put(outcome)
