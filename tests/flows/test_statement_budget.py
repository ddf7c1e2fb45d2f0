"""What one order costs the three busiest Celery tasks (issue #7): filing, applying receipts and
the clearance listener, counted in SQL statements so that a regression shows up here and not
only in the next benchmark.

One order, placed and paid through the marketplace, against the real sandbox process (no push:
the receipts it emitted are fetched and handed to `receipts_process` as a pushed batch, the
way the sandbox batches what queued up meanwhile). The tasks run in this thread, called the way
the worker calls them; `-s` prints statements and thread CPU per task.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict

import pytest
from celery import current_app
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from customs import services as customs_services
from customs import tasks as customs_tasks
from customs.gateway import get_transport
from marketplace import tasks as marketplace_tasks
from marketplace.models import Order
from tests.marketplace.support import pay, place

# Statements per order, with a little room: 95, 65 and 14 before receipts were applied in
# batches, filing confirmed a batch in one UPDATE and the listener read one row.
# Since issue #19 the listener runs inline after the receipts' commit (no task): its
# statements count in receipts_due (50 + 2 x 7 when it was a task of its own; the due batch
# claims its receipts in one more statement and a savepoint). The goods of the orders a batch
# releases leave bond in one set-based call at its end (62 for receipts_due before). Then 60
# -> 47: the receipts claimed and read in one statement, a batch's moved declarations written
# in one UPDATE (the inventory list's three moves were three), the inventory list declared on
# the rows the batch holds (no savepoint, nothing read again), the release without a second
# savepoint.
BUDGET = {
    "customs.tasks.receipts_due": 48,
    "customs.tasks.declarations_push": 33,
    "marketplace.tasks.clearance_changed": 8,
}


class Pipeline:
    def __init__(self, monkeypatch) -> None:
        self.sent: list[tuple[str, dict]] = []
        self.statements: dict[str, int] = defaultdict(int)
        self.runs: dict[str, int] = defaultdict(int)
        self.cpu: dict[str, float] = defaultdict(float)
        self.cursor = self._caught_up()
        monkeypatch.setattr(
            current_app,
            "send_task",
            lambda name, args=(), kwargs=None, **_: self.sent.append((name, args, kwargs or {})),
        )

    def _caught_up(self) -> int:
        after = 0
        while True:
            answer = get_transport().fetch_receipts(authority="customs", after=after)
            if not answer["receipts"]:
                return after
            after = answer["next"]

    def run(self, name: str, task, *args, **kwargs):
        with CaptureQueriesContext(connection) as queries:
            start = time.thread_time()
            result = task(*args, **kwargs)
            self.cpu[name] += time.thread_time() - start
        # Counted as the bench probe counts them on PostgreSQL: without BEGIN and COMMIT, and
        # without the database cache's own (the SQLite pass; production's cache is Redis).
        self.statements[name] += sum(
            not q["sql"].startswith(("BEGIN", "COMMIT", "ROLLBACK"))
            and "bondport_cache" not in q["sql"]
            for q in queries.captured_queries
        )
        self.runs[name] += 1
        if os.environ.get("BUDGET_SQL"):  # -s: every statement of every task, to find waste
            for q in queries.captured_queries:
                print(f"{name}: {q['sql'][:160]}")
        return result

    def pump(self) -> None:
        """Run what was sent, the way the workers would, until nothing is left."""
        while self.sent:
            name, args, kwargs = self.sent.pop(0)
            if name == "customs.tasks.declarations_push":
                self.run(name, customs_tasks.declarations_push)
            elif name == "marketplace.tasks.clearance_changed":
                self.run(name, marketplace_tasks.clearance_changed, *args, **kwargs)

    def push(self, order_no: str, count: int) -> None:
        """The next `count` receipts the authority emitted for the order, as one push."""
        rows: list[dict] = []
        deadline = time.monotonic() + 60  # only a missing receipt waits this long
        while len(rows) < count and time.monotonic() < deadline:
            answer = get_transport().fetch_receipts(authority="customs", after=self.cursor)
            self.cursor = answer["next"]
            rows += [r for r in answer["receipts"] if r["orderNo"] == order_no]
            time.sleep(0.02)
        assert len(rows) == count, rows
        with transaction.atomic():  # the web side: not counted
            ids = customs_services.receipts_record(receipts=rows, source="push")
        assert ids
        self.run("customs.tasks.receipts_due", customs_tasks.receipts_due)
        self.pump()

    def push_all(self, order_nos: set[str], count: int) -> None:
        """The next `count` receipts of these orders, applied by one receipts task (pushes
        that arrived while it was queued)."""
        rows: list[dict] = []
        deadline = time.monotonic() + 60
        while len(rows) < count and time.monotonic() < deadline:
            answer = get_transport().fetch_receipts(authority="customs", after=self.cursor)
            self.cursor = answer["next"]
            rows += [r for r in answer["receipts"] if r["orderNo"] in order_nos]
            time.sleep(0.02)
        assert len(rows) == count, rows
        with transaction.atomic():  # the web side: not counted
            assert customs_services.receipts_record(receipts=rows, source="push")
        self.run("customs.tasks.receipts_due", customs_tasks.receipts_due)
        self.pump()

    def report(self) -> str:
        return "\n".join(
            f"{name}: {self.runs[name]} runs, {self.statements[name]} statements, "
            f"{self.cpu[name] * 1000:.1f} ms CPU"
            for name in BUDGET
        )


@pytest.mark.django_db(transaction=True)
def test_one_orders_filing_receipts_and_listener_stay_within_their_statement_budget(
    world, client, sandbox, monkeypatch
):
    pipeline = Pipeline(monkeypatch)
    [order] = place(world, (world.paste, 2))
    pipeline.pump()  # files the order and the waybill
    pipeline.push(order.number, 4)  # "2" and "120" for each
    pay(client, order)
    pipeline.pump()  # files the payment
    pipeline.push(order.number, 2)  # "2", "120": the inventory list is declared
    pipeline.push(order.number, 4)  # its "2", "120", "399", "800": released

    print("\n" + pipeline.report())
    order = Order.objects.get(pk=order.pk)
    assert (order.state, order.clearance_state) == ("released", "released")
    # Released by the inline listener: no clearance task was sent.
    assert pipeline.runs["marketplace.tasks.clearance_changed"] == 0
    for name, budget in BUDGET.items():
        assert pipeline.statements[name] <= budget, pipeline.report()


@pytest.mark.django_db(transaction=True)
def test_orders_moving_together_share_the_backend_tasks_and_their_statements(
    world, client, sandbox, monkeypatch
):
    """Saturation in miniature (issue #19): N orders reach each stage together, as they do
    when the coalesced tasks fall behind the order rate. The backend then runs the same six
    tasks whatever N (filing: orders and waybills, payments, inventory lists; receipts: one
    batch per stage), so tasks per order are 6 / N, and its statements per order fall too."""
    counts = {}
    for n in (1, 8):
        pipeline = Pipeline(monkeypatch)
        orders = [place(world, (world.paste, 1))[0] for _ in range(n)]
        numbers = {o.number for o in orders}
        pipeline.pump()  # one filing task for every order and waybill
        pipeline.push_all(numbers, 4 * n)
        for order in orders:
            pay(client, order)
        pipeline.pump()  # one for every payment
        pipeline.push_all(numbers, 2 * n)  # the inventory lists are declared, then filed
        pipeline.push_all(numbers, 4 * n)  # released
        assert set(Order.objects.filter(number__in=numbers).values_list("state", flat=True)) == {
            "released"
        }
        runs = sum(pipeline.runs.values())
        statements = sum(pipeline.statements.values())
        counts[n] = (runs, statements / n)
        # The receipts of 8 orders: 326 statements before their goods left bond in one call
        # (40.8 per order), 205 since (25.6), 114 with the batch's writes set-based (14.25);
        # 1 order: 62, then 60, then 47.
        receipts = pipeline.statements["customs.tasks.receipts_due"]
        assert receipts <= {1: 48, 8: 8 * 15}[n], pipeline.report()
        print(f"\n{n} orders together: {runs} tasks, {statements / n:.1f} statements per order")
        print(pipeline.report())
    assert counts[1][0] == counts[8][0] == 6, counts  # tasks per order: 6, then 0.75
    assert counts[8][1] < 0.4 * counts[1][1], counts  # statements per order fall
