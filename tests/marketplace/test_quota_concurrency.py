"""The annual quota under concurrency: several processes, one shopper, more than the year allows.

Each process places and pays (or only pays) an order for the same shopper; a barrier inside the
transaction (after the quota is read, before the commit) holds every racer until all have read
it, so without a per-shopper lock they all see the same room. With the lock the first waits
alone, the window times out and the rest go one by one: exactly what fits is accepted.
"""

import multiprocessing
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from marketplace.models import Order, Payment
from marketplace.services.tax import ANNUAL_LIMIT
from tests.marketplace.factories import OrderFactory
from tests.marketplace.quota_race import WINDOW_SECONDS, shopper_race
from tests.support import test_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 5
QUANTITY = 4  # shoes at 1,000.00: 4,000.00 an order, within the 5,000 per-order limit


def _race(jobs: list[dict]) -> list[dict]:
    """Start one spawned process per job, release them together, collect what each saw."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(len(jobs))
    place_window, pay_window = ctx.Barrier(len(jobs)), ctx.Barrier(len(jobs))
    results = ctx.Queue()
    connections.close_all()  # the children open their own
    procs = [
        ctx.Process(target=shopper_race, args=(job, start, place_window, pay_window, results))
        for job in jobs
    ]
    for proc in procs:
        proc.start()
    # Each child reports once, even on error; the deadline covers start-up and two windows.
    outcomes = [results.get(timeout=120 + 2 * WINDOW_SECONDS) for _ in jobs]
    for proc in procs:
        proc.join(30)
    assert not [o for o in outcomes if o["result"] == "error"], outcomes
    return outcomes


def _paid_value(shopper) -> Decimal:
    orders = Order.objects.filter(shopper=shopper, state__in=Order.QUOTA_STATES)
    return sum((o.customs_value for o in orders), Decimal("0.00"))


def _year_so_far(world, used: Decimal) -> None:
    """An earlier paid order this year: the room left is ANNUAL_LIMIT - used."""
    OrderFactory(shopper=world.shopper, state="paid", goods_value=used, paid_at=timezone.now())


def test_processes_placing_and_paying_for_one_shopper_get_exactly_what_fits(world):
    used = Decimal("10000.01")  # 15,999.99 left: three orders of 4,000.00 fit, not four
    _year_so_far(world, used)
    order_value = world.shoes.price * QUANTITY
    fits = int((ANNUAL_LIMIT - used) // order_value)
    assert fits == 3

    outcomes = _race(
        [
            {"db_url": test_database_url(), "shopper_id": world.shopper.pk,
             "listing_id": world.shoes.pk, "quantity": QUANTITY}
            for _ in range(RACERS)
        ]
    )  # fmt: skip

    paid = [o for o in outcomes if o["result"] == "paid"]
    refused = [o for o in outcomes if o["result"] == "refused"]
    assert len(paid) == fits, outcomes
    assert len(refused) == RACERS - fits
    assert {o["code"] for o in refused} == {"annual_quota_exceeded"}, refused
    # The year's use, to the fen, within the limit, and every accepted order paid.
    assert _paid_value(world.shopper) == used + fits * order_value == Decimal("22000.01")
    assert _paid_value(world.shopper) <= ANNUAL_LIMIT
    assert Order.objects.filter(shopper=world.shopper, state="paid").count() == fits + 1
    # Nothing left placed-but-unpaid that would still hold room (or be paid past the limit).
    assert not Order.objects.filter(shopper=world.shopper, state="placed").exists()


def test_processes_paying_orders_placed_in_parallel_cannot_pay_past_the_limit(world, monkeypatch):
    """Orders that were placed while they fitted one by one (here the limit is lifted while
    placing, as for orders placed in the old year and paid in the new): paying them at the
    same moment, exactly what fits is paid; the rest are refused, refunded and flagged."""
    from tests.marketplace.support import place

    used = Decimal("14000.00")  # 12,000.00 left: exactly three orders of 4,000.00
    _year_so_far(world, used)
    with monkeypatch.context() as patched:
        patched.setattr("marketplace.services.quota.ANNUAL_LIMIT", Decimal("1000000"))
        orders = [place(world, (world.shoes, QUANTITY))[0] for _ in range(RACERS)]
    order_value = world.shoes.price * QUANTITY
    fits = int((ANNUAL_LIMIT - used) // order_value)
    assert fits == 3

    outcomes = _race([{"db_url": test_database_url(), "order_no": o.number} for o in orders])

    paid = [o for o in outcomes if o["result"] == "paid"]
    refused = [o for o in outcomes if o["result"] == "refused"]
    assert len(paid) == fits and len(refused) == RACERS - fits, outcomes
    assert {o["code"] for o in refused} == {"annual_quota_exceeded"}, refused
    assert _paid_value(world.shopper) == used + fits * order_value == ANNUAL_LIMIT
    for outcome in refused:
        order = Order.objects.get(number=outcome["order_no"])
        assert order.state == "placed" and order.flagged
        payment = Payment.objects.get(order=order)
        assert payment.state == "flagged" and payment.refunds.get().amount == order.total


def test_the_quota_lock_is_a_row_lock_on_the_shopper_taken_before_the_order(world):
    """What the processes show, in SQL: checkout locks the shopper row first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.marketplace.support import place

    with CaptureQueriesContext(connection) as queries:
        place(world, (world.paste, 1))
    sql = [q["sql"] for q in queries.captured_queries]
    lock = next(i for i, s in enumerate(sql) if "FOR UPDATE" in s)
    assert '"marketplace_shopper"' in sql[lock].split("FOR UPDATE")[0]
    insert = 'INSERT INTO "marketplace_order"'
    assert lock < next(i for i, s in enumerate(sql) if s.startswith(insert))
