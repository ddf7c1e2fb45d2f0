"""Many writers at once on real PostgreSQL: no oversell, no deadlock, balances = sum of moves."""

import re
import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from bonded.errors import InsufficientStock
from bonded.models import Balance
from bonded.services import (
    StockLine,
    reservation_release,
    stock_reserve,
    stock_transfer,
)
from tests.bonded.conftest import build_zone
from tests.bonded.invariants import assert_ledger_consistent


def run_concurrently(jobs: list) -> Counter:
    """Start every job at the same instant (barrier); count outcomes by kind."""
    barrier = threading.Barrier(len(jobs))
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def runner(job):
        try:
            barrier.wait()
            job()
            result = "ok"
        except InsufficientStock:
            result = "insufficient"
        except Exception as exc:  # anything else (deadlock, integrity) is a failure to report
            result = f"error:{exc.__class__.__name__}:{exc}"
        finally:
            connections.close_all()
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=runner, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)  # sized for a loaded machine; a hang still fails below
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_shoppers_racing_for_the_last_units_never_oversell():
    zone = build_zone(items=1, stock=5)
    item = zone.items[0].item_no
    jobs = [
        (
            lambda n=n: stock_reserve(
                reference=f"BP{n}", location_code="ZZ-A", lines=[StockLine(item, 1)]
            )
        )
        for n in range(12)
    ]
    outcomes = run_concurrently(jobs)
    assert outcomes == Counter({"ok": 5, "insufficient": 7})
    row = Balance.objects.get(item=zone.items[0], location=zone.storage)
    assert (row.on_hand, row.reserved) == (5, 5)
    assert_ledger_consistent()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_multi_line_orders_in_opposite_orders_do_not_deadlock():
    zone = build_zone(items=3, stock=1000)
    a, b, c = (item.item_no for item in zone.items)
    jobs = []
    for n in range(24):
        lines = [[a, b, c], [c, b, a], [b, a, c]][n % 3]
        jobs.append(
            lambda n=n, lines=lines: stock_reserve(
                reference=f"BP{n}",
                location_code="ZZ-A",
                lines=[StockLine(item_no, 2, line_no=i + 1) for i, item_no in enumerate(lines)],
            )
        )
        jobs.append(
            lambda n=n, lines=lines: stock_transfer(
                reference=f"T{n}",
                from_code="ZZ-A" if n % 2 else "ZZ-INSP",
                to_code="ZZ-INSP" if n % 2 else "ZZ-A",
                lines=[StockLine(item_no, 1) for item_no in lines],
                actor="test",
            )
        )
    outcomes = run_concurrently(jobs)
    errors = {k: v for k, v in outcomes.items() if k.startswith("error")}
    assert not errors
    assert outcomes["ok"] + outcomes["insufficient"] == len(jobs)
    for n in range(0, 24, 5):
        reservation_release(reference=f"BP{n}", reason="test")
    assert_ledger_consistent()


@pytest.mark.django_db
def test_reserve_locks_balance_rows_in_primary_key_order():
    build_zone(items=3, stock=10)
    with CaptureQueriesContext(connection) as captured:
        stock_reserve(
            reference="BP1",
            location_code="ZZ-A",
            # Lines in reverse key order: the locks must still be taken in key order.
            lines=[
                StockLine(item_no, 1, line_no=i + 1)
                for i, item_no in enumerate(
                    Balance.objects.order_by("-pk").values_list("item__item_no", flat=True)
                )
            ],
        )
    locking = [q["sql"] for q in captured.captured_queries if "FOR UPDATE" in q["sql"]]
    if connection.vendor == "postgresql":
        key_order = re.compile(r'ORDER BY ("bonded_balance"\."id"|b\.id)( ASC)? FOR UPDATE')
        assert locking and all(key_order.search(sql) for sql in locking)
    else:  # SQLite has no row locks: IMMEDIATE transactions serialise writers instead
        assert not locking
