"""Releasing many orders out of bond at once (issue #19): the ledger ends exactly as after one
release each, in a fixed number of statements, all or nothing."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bonded import errors
from bonded.models import (
    AccountBookEntry,
    AccountBookRecord,
    Balance,
    LedgerOperation,
    Move,
    Reservation,
)
from bonded.services import (
    Release,
    StockLine,
    reservation_release_from_bond,
    reservations_release_from_bond,
    stock_reserve,
)
from tests.bonded.invariants import assert_ledger_consistent

pytestmark = pytest.mark.django_db


def _orders(zone, n: int) -> list[Release]:
    """n orders, each reserving from storage (two lines of item 0 in every third, to write off
    one entry for two lines), released to the counter or, every other one, the dock."""
    releases = []
    for k in range(n):
        lines = [StockLine(zone.items[k % 3].item_no, 1, line_no=1)]
        lines.append(StockLine(zone.items[(k + 1) % 3].item_no, 1 + k % 2, line_no=2))
        if k % 3 == 0:
            lines.append(StockLine(zone.items[k % 3].item_no, 1, line_no=3))
        stock_reserve(reference=f"BP{k}", location_code=zone.storage.code, lines=lines)
        to = zone.counter.code if k % 2 == 0 else zone.dock.code
        releases.append(Release(f"BP{k}", f"INVT-{k}", to))
    return releases


def _ledger() -> dict:
    """What an auditor compares: balances, moves, the book and where the holds are."""
    return {
        "balances": sorted(
            Balance.objects.values_list("item_id", "location_id", "on_hand", "reserved")
        ),
        "moves": sorted(
            Move.objects.values_list(
                "item_id",
                "quantity",
                "from_location_id",
                "to_location_id",
                "kind",
                "reference",
                "actor",
                "note",
            )
        ),
        "book": sorted(
            AccountBookRecord.objects.values_list(
                "warehouse_id", "item_id", "record_no", "declared_in", "written_off", "balance"
            )
        ),
        "entries": sorted(
            AccountBookEntry.objects.values_list("record_id", "kind", "quantity", "document_no")
        ),
        "reservations": sorted(
            Reservation.objects.values_list("reference", "line_no", "location_id", "state")
        ),
        "operations": sorted(
            LedgerOperation.objects.filter(kind="release").values_list(
                "reference", "fingerprint", "actor"
            )
        ),
    }


class _Undo(Exception):
    pass


def _then_undo(work):
    """Run `work`, return its result and the ledger after it, and roll it all back."""
    out = {}
    with pytest.raises(_Undo), transaction.atomic():
        out["result"] = work()
        out["ledger"] = _ledger()
        raise _Undo
    return out["result"], out["ledger"]


def test_releasing_orders_together_ends_exactly_as_releasing_them_one_by_one(zone):
    releases = _orders(zone, 5)
    before = _ledger()

    def one_by_one():
        for r in releases:
            reservation_release_from_bond(
                reference=r.reference,
                inventory_list_no=r.inventory_list_no,
                destination_code=r.destination_code,
            )

    _, single = _then_undo(one_by_one)
    assert _ledger() == before
    released, together = _then_undo(lambda: reservations_release_from_bond(releases=releases))
    assert released == [r.inventory_list_no for r in releases]
    assert together == single
    assert together != before
    reservations_release_from_bond(releases=releases)
    assert_ledger_consistent()


def test_releasing_orders_together_costs_the_same_statements_for_one_order_or_five(zone):
    releases = _orders(zone, 5)

    def counted(batch):
        def work():
            with CaptureQueriesContext(connection) as queries:
                reservations_release_from_bond(releases=batch)
            return len(queries.captured_queries)

        return _then_undo(work)[0]

    one, five = counted(releases[:1]), counted(releases)
    assert one == five, (one, five)
    assert five <= 14  # was about 18 per order
    if connection.features.has_select_for_update:  # the balance rows, locked in key order
        with CaptureQueriesContext(connection) as queries:
            reservations_release_from_bond(releases=releases)
        locks = [
            q["sql"] for q in queries.captured_queries
            if "FOR UPDATE" in q["sql"] and '"bonded_balance"' in q["sql"].split("WHERE")[0]
        ]  # fmt: skip
        # One lock, and once more after creating the destination rows missing until now.
        assert len(locks) == 2 and all('ORDER BY "bonded_balance"."id"' in s for s in locks)


def test_a_repeated_batch_changes_nothing_and_other_content_for_a_list_is_refused(zone):
    releases = _orders(zone, 3)
    reservations_release_from_bond(releases=releases)
    after = _ledger()
    assert reservations_release_from_bond(releases=releases) == []
    reservation_release_from_bond(
        reference="BP1", inventory_list_no="INVT-1", destination_code=releases[1].destination_code
    )
    assert _ledger() == after
    elsewhere = (
        zone.counter.code if releases[1].destination_code == zone.dock.code else zone.dock.code
    )
    other = [releases[0], releases[1]._replace(destination_code=elsewhere)]
    with pytest.raises(errors.ReferenceConflict):
        reservations_release_from_bond(releases=other)
    assert _ledger() == after


def test_a_batch_with_one_member_over_the_book_balance_writes_nothing(zone):
    releases = _orders(zone, 3)
    # The book holds less of item 2 than the three orders take of it (customs wrote some off).
    AccountBookRecord.objects.filter(item=zone.items[2]).update(declared_in=1)
    before = _ledger()
    with pytest.raises(errors.BookBalanceExceeded) as caught:
        reservations_release_from_bond(releases=releases)
    assert caught.value.extra["item_no"] == zone.items[2].item_no
    assert _ledger() == before


def test_a_batch_with_one_order_without_reservations_writes_nothing(zone):
    releases = _orders(zone, 3)
    before = _ledger()
    with pytest.raises(errors.ReservationNotFound) as caught:
        reservations_release_from_bond(
            releases=[*releases, Release("BP-GONE", "INVT-GONE", zone.counter.code)]
        )
    assert caught.value.extra["reference"] == "BP-GONE"
    assert _ledger() == before


def test_a_batch_releasing_to_a_counter_outside_the_zone_writes_nothing(zone):
    releases = _orders(zone, 2)
    before = _ledger()
    with pytest.raises(errors.WrongLocationKind):
        reservations_release_from_bond(
            releases=[releases[0], releases[1]._replace(destination_code="C-CITY")]
        )
    assert _ledger() == before


def test_a_batch_taking_more_than_is_reserved_writes_nothing(zone):
    releases = _orders(zone, 2)
    # Someone freed the reserved stock behind the reservations' back: the check still holds.
    Balance.objects.filter(location=zone.storage, item=zone.items[1]).update(reserved=0)
    before = _ledger()
    with pytest.raises(errors.InsufficientStock):
        reservations_release_from_bond(releases=releases)
    assert _ledger() == before
