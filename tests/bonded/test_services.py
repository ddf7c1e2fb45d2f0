from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bonded import errors
from bonded.models import AccountBookEntry, AccountBookRecord, Balance, Move, Reservation
from bonded.services import (
    StockLine,
    reconcile,
    reservation_confirm,
    reservation_release,
    reservation_release_from_bond,
    reservations_expire,
    stock_issue,
    stock_receive,
    stock_reserve,
    stock_return_into_bond,
    stock_transfer,
    stocktake_count,
    stocktake_open,
    stocktake_post,
)
from tests.bonded.invariants import assert_ledger_consistent

pytestmark = pytest.mark.django_db


def balance(item, location) -> Balance:
    return Balance.objects.get(item=item, location=location)


def reserve(zone, reference="BP1", quantities=(2,), **kwargs):
    return stock_reserve(
        reference=reference,
        location_code=zone.storage.code,
        lines=[
            StockLine(zone.items[i].item_no, q, line_no=i + 1) for i, q in enumerate(quantities)
        ],
        **kwargs,
    )


# --- receive ---------------------------------------------------------------------------------


def test_receive_puts_stock_on_hand_and_into_the_account_book(zone):
    item = zone.items[0]
    assert balance(item, zone.storage).on_hand == 10
    record = AccountBookRecord.objects.get(warehouse=zone.warehouse, item=item)
    assert (record.declared_in, record.written_off, record.balance) == (10, 0, 10)
    entry = record.entries.get()
    assert (entry.kind, entry.document_no, entry.quantity) == ("entry", "ENTRY-0001", 10)
    assert_ledger_consistent()


def test_receive_numbers_book_records_per_warehouse(zone):
    numbers = sorted(AccountBookRecord.objects.values_list("record_no", flat=True))
    assert numbers == [1, 2, 3]


def test_receive_twice_with_the_same_reference_changes_nothing(zone):
    lines = [StockLine(item.item_no, 10) for item in zone.items]
    stock_receive(
        reference="RCV-INITIAL",
        location_code="ZZ-A",
        entry_declaration_no="ENTRY-0001",
        lines=lines,
        actor="test",
    )
    assert balance(zone.items[0], zone.storage).on_hand == 10
    assert Move.objects.count() == 3


def test_receive_same_reference_with_other_content_is_refused(zone):
    with pytest.raises(errors.ReferenceConflict) as caught:
        stock_receive(
            reference="RCV-INITIAL",
            location_code="ZZ-A",
            entry_declaration_no="ENTRY-0001",
            lines=[StockLine(zone.items[0].item_no, 99)],
            actor="test",
        )
    assert caught.value.extra["field"] == "reference"
    assert balance(zone.items[0], zone.storage).on_hand == 10


def test_receive_without_entry_declaration_writes_nothing(zone):
    with pytest.raises(errors.MissingEntryDeclaration) as caught:
        stock_receive(
            reference="RCV-2",
            location_code="ZZ-A",
            entry_declaration_no="  ",
            lines=[StockLine(zone.items[0].item_no, 5)],
            actor="test",
        )
    assert caught.value.extra == {"field": "entry_declaration_no"}
    assert Move.objects.count() == 3


@pytest.mark.parametrize("bad", [0, -3, 1.5, Decimal("2"), "4", True, 10**7])
def test_receive_refuses_quantities_that_are_not_whole_positive_units(zone, bad):
    with pytest.raises(errors.InvalidQuantity) as caught:
        stock_receive(
            reference="RCV-BAD",
            location_code="ZZ-A",
            entry_declaration_no="ENTRY-9",
            lines=[StockLine(zone.items[0].item_no, 1), StockLine(zone.items[1].item_no, bad)],
            actor="test",
        )
    assert caught.value.extra["field"] == "quantity"
    assert Move.objects.count() == 3  # the good first line was not written either


def test_receive_refuses_unknown_item_and_location(zone):
    with pytest.raises(errors.UnknownItem) as caught:
        stock_receive(
            reference="R",
            location_code="ZZ-A",
            entry_declaration_no="E",
            lines=[StockLine("NOPE", 1)],
            actor="t",
        )
    assert caught.value.extra["item_no"] == "NOPE"
    with pytest.raises(errors.UnknownLocation):
        stock_receive(
            reference="R",
            location_code="NOWHERE",
            entry_declaration_no="E",
            lines=[StockLine(zone.items[0].item_no, 1)],
            actor="t",
        )


def test_receive_only_into_bonded_storage(zone):
    with pytest.raises(errors.WrongLocationKind):
        stock_receive(
            reference="R",
            location_code=zone.counter.code,
            entry_declaration_no="E",
            lines=[StockLine(zone.items[0].item_no, 1)],
            actor="t",
        )


# --- reserve -----------------------------------------------------------------------------------


def test_reserve_holds_stock_for_every_line(zone):
    reservations = reserve(zone, quantities=(2, 3))
    assert [(r.line_no, r.quantity) for r in reservations] == [(1, 2), (2, 3)]
    assert balance(zone.items[0], zone.storage).reserved == 2
    assert balance(zone.items[1], zone.storage).reserved == 3
    assert all(r.expires_at > timezone.now() for r in reservations)
    assert_ledger_consistent()


def test_reserve_refuses_more_than_available_and_names_item_asked_available(zone):
    reserve(zone, reference="BP1", quantities=(8,))
    with pytest.raises(errors.InsufficientStock) as caught:
        reserve(zone, reference="BP2", quantities=(3,))
    assert caught.value.extra | {} == {
        "item_no": zone.items[0].item_no,
        "asked": 3,
        "available": 2,
        "location_code": "ZZ-A",
    }
    assert caught.value.code == "insufficient_stock"


def test_reserve_is_all_lines_or_none(zone):
    with pytest.raises(errors.InsufficientStock):
        reserve(zone, quantities=(2, 11))
    assert balance(zone.items[0], zone.storage).reserved == 0
    assert not Reservation.objects.exists()


def test_reserve_counts_two_lines_of_one_item_together(zone):
    item = zone.items[0].item_no
    with pytest.raises(errors.InsufficientStock) as caught:
        stock_reserve(
            reference="BP1",
            location_code="ZZ-A",
            lines=[StockLine(item, 6, line_no=1), StockLine(item, 5, line_no=2)],
        )
    assert caught.value.extra["asked"] == 11


def test_reserve_twice_returns_the_same_reservations(zone):
    first = reserve(zone, quantities=(2,))
    second = reserve(zone, quantities=(2,))
    assert [r.pk for r in first] == [r.pk for r in second]
    assert balance(zone.items[0], zone.storage).reserved == 2


def test_reserve_refuses_a_line_numbered_twice(zone):
    item = zone.items[0].item_no
    with pytest.raises(errors.DuplicateLine):
        stock_reserve(
            reference="BP1",
            location_code="ZZ-A",
            lines=[StockLine(item, 1, line_no=1), StockLine(item, 1, line_no=1)],
        )


def test_unpaid_reservations_expire_and_free_their_stock(zone):
    reserve(zone, reference="BP-OLD", quantities=(4,), ttl=timedelta(minutes=15))
    reserve(zone, reference="BP-NEW", quantities=(1,), ttl=timedelta(hours=1))
    assert reservations_expire(now=timezone.now() + timedelta(minutes=16)) == 1
    assert Reservation.objects.get(reference="BP-OLD").state == "expired"
    assert Reservation.objects.get(reference="BP-NEW").state == "active"
    assert balance(zone.items[0], zone.storage).reserved == 1
    assert_ledger_consistent()


def test_confirmed_reservations_do_not_expire(zone):
    reserve(zone, quantities=(4,))
    assert reservation_confirm(reference="BP1") == 1
    assert reservations_expire(now=timezone.now() + timedelta(days=30)) == 0
    assert balance(zone.items[0], zone.storage).reserved == 4


def test_confirm_after_expiry_says_expired(zone):
    reserve(zone, quantities=(4,))
    reservations_expire(now=timezone.now() + timedelta(hours=1))
    with pytest.raises(errors.ReservationExpired):
        reservation_confirm(reference="BP1")
    with pytest.raises(errors.ReservationNotFound):
        reservation_confirm(reference="NEVER")


def test_release_frees_stock_once(zone):
    reserve(zone, quantities=(4, 1))
    assert reservation_release(reference="BP1", reason="cancelled") == 2
    assert reservation_release(reference="BP1", reason="cancelled") == 0
    assert balance(zone.items[0], zone.storage).reserved == 0
    assert set(Reservation.objects.values_list("state", flat=True)) == {"released"}
    assert_ledger_consistent()


# --- customs release, issue ---------------------------------------------------------------------


def test_release_from_bond_writes_off_the_book_and_moves_goods_to_the_counter(zone):
    reserve(zone, quantities=(2, 1))
    reservation_release_from_bond(
        reference="BP1", inventory_list_no="INVT-1", destination_code="C1"
    )
    assert balance(zone.items[0], zone.storage).on_hand == 8
    at_counter = balance(zone.items[0], zone.counter)
    assert (at_counter.on_hand, at_counter.reserved) == (2, 2)
    record = AccountBookRecord.objects.get(item=zone.items[0])
    assert (record.written_off, record.balance) == (2, 8)
    assert record.entries.get(kind="write_off").document_no == "INVT-1"
    assert set(Reservation.objects.values_list("location__code", flat=True)) == {"C1"}
    assert_ledger_consistent()


def test_release_from_bond_happens_exactly_once_per_inventory_list(zone):
    reserve(zone, quantities=(2,))
    for _ in range(3):
        reservation_release_from_bond(
            reference="BP1", inventory_list_no="INVT-1", destination_code="C1"
        )
    assert AccountBookEntry.objects.filter(kind="write_off").count() == 1
    assert balance(zone.items[0], zone.counter).on_hand == 2
    assert_ledger_consistent()


def test_release_writes_off_two_lines_of_one_item_as_one_book_entry(zone):
    item = zone.items[0].item_no
    stock_reserve(
        reference="BP1",
        location_code="ZZ-A",
        lines=[StockLine(item, 2, line_no=1), StockLine(item, 3, line_no=2)],
    )
    reservation_release_from_bond(reference="BP1", inventory_list_no="I", destination_code="C1")
    assert AccountBookEntry.objects.get(kind="write_off").quantity == 5
    assert_ledger_consistent()


def test_release_to_a_counter_outside_the_zone_is_refused(zone):
    reserve(zone, quantities=(2,))
    with pytest.raises(errors.WrongLocationKind) as caught:
        reservation_release_from_bond(
            reference="BP1", inventory_list_no="INVT-1", destination_code="C-CITY"
        )
    assert caught.value.extra["field"] == "destination_code"
    assert balance(zone.items[0], zone.storage).on_hand == 10


def test_issue_hands_released_goods_to_the_shopper_once(zone):
    reserve(zone, quantities=(2,))
    reservation_confirm(reference="BP1")
    reservation_release_from_bond(reference="BP1", inventory_list_no="I1", destination_code="C1")
    moves = stock_issue(reference="BP1", actor="kiosk:C1")
    again = stock_issue(reference="BP1", actor="kiosk:C1")
    assert [m.pk for m in moves] == [m.pk for m in again]
    assert Move.objects.filter(kind="issue").count() == 1
    counter = balance(zone.items[0], zone.counter)
    assert (counter.on_hand, counter.reserved) == (0, 0)
    assert Reservation.objects.get().state == "consumed"
    assert_ledger_consistent()


def test_issue_before_customs_release_is_refused(zone):
    reserve(zone, quantities=(2,))
    with pytest.raises(errors.NotReleased) as caught:
        stock_issue(reference="BP1", actor="kiosk:C1")
    assert caught.value.extra["location_code"] == "ZZ-A"
    assert balance(zone.items[0], zone.storage).on_hand == 10


def test_delivery_orders_are_released_to_the_dock_and_issued_from_there(zone):
    reserve(zone, quantities=(1,))
    reservation_release_from_bond(
        reference="BP1", inventory_list_no="I1", destination_code="ZZ-DOCK"
    )
    stock_issue(reference="BP1", actor="courier")
    assert balance(zone.items[0], zone.dock).on_hand == 0
    assert_ledger_consistent()


def test_return_into_bond_puts_goods_back_and_into_the_book(zone):
    reserve(zone, quantities=(2,))
    reservation_release_from_bond(reference="BP1", inventory_list_no="I1", destination_code="C1")
    stock_issue(reference="BP1", actor="kiosk")
    line = [StockLine(zone.items[0].item_no, 2)]
    stock_return_into_bond(
        reference="BP1", return_no="RET-1", location_code="ZZ-A", lines=line, actor="t"
    )
    stock_return_into_bond(
        reference="BP1", return_no="RET-1", location_code="ZZ-A", lines=line, actor="t"
    )
    assert balance(zone.items[0], zone.storage).on_hand == 10
    assert AccountBookRecord.objects.get(item=zone.items[0]).balance == 10
    assert_ledger_consistent()


# --- transfer ------------------------------------------------------------------------------------


def test_transfer_moves_free_stock_within_bond(zone):
    stock_transfer(
        reference="T1",
        from_code="ZZ-A",
        to_code="ZZ-INSP",
        lines=[StockLine(zone.items[0].item_no, 4)],
        actor="warehouse",
    )
    assert balance(zone.items[0], zone.inspection).on_hand == 4
    assert_ledger_consistent()


def test_transfer_cannot_take_goods_out_of_bond(zone):
    with pytest.raises(errors.TransferLeavesBond):
        stock_transfer(
            reference="T1",
            from_code="ZZ-A",
            to_code="C1",
            lines=[StockLine(zone.items[0].item_no, 1)],
            actor="w",
        )


def test_transfer_cannot_move_reserved_or_missing_units(zone):
    reserve(zone, quantities=(7,))
    with pytest.raises(errors.InsufficientStock) as caught:
        stock_transfer(
            reference="T1",
            from_code="ZZ-A",
            to_code="ZZ-INSP",
            lines=[StockLine(zone.items[0].item_no, 4)],
            actor="w",
        )
    assert caught.value.extra["available"] == 3
    assert not Move.objects.filter(kind="transfer").exists()


# --- stocktake and reconciliation ---------------------------------------------------------------


def test_stocktake_posts_differences_and_reconciliation_lists_them(zone):
    stocktake_open(reference="ST-1", location_code="ZZ-A", actor="warehouse")
    stocktake_count(reference="ST-1", item_no=zone.items[0].item_no, counted=7)
    stocktake_count(reference="ST-1", item_no=zone.items[1].item_no, counted=12)
    stocktake_count(reference="ST-1", item_no=zone.items[2].item_no, counted=10)
    moves = stocktake_post(reference="ST-1", reason="annual count", actor="warehouse")
    assert sorted((m.from_location.code, m.to_location.code, m.quantity) for m in moves) == [
        ("LOSS", "ZZ-A", 2),
        ("ZZ-A", "LOSS", 3),
    ]
    differences = {line.item_no: line.difference for line in reconcile()}
    assert differences == {zone.items[0].item_no: -3, zone.items[1].item_no: 2}
    assert_ledger_consistent(book_matches=False)
    with pytest.raises(errors.StocktakeClosed):
        stocktake_post(reference="ST-1", reason="again", actor="warehouse")


def test_stocktake_cannot_count_below_what_orders_hold(zone):
    reserve(zone, quantities=(5,))
    stocktake_open(reference="ST-1", location_code="ZZ-A", actor="w")
    stocktake_count(reference="ST-1", item_no=zone.items[0].item_no, counted=4)
    with pytest.raises(errors.BelowReserved) as caught:
        stocktake_post(reference="ST-1", reason="count", actor="w")
    assert caught.value.extra == {"item_no": zone.items[0].item_no, "counted": 4, "reserved": 5}
    assert balance(zone.items[0], zone.storage).on_hand == 10


def test_stocktake_refuses_negative_counts(zone):
    stocktake_open(reference="ST-1", location_code="ZZ-A", actor="w")
    with pytest.raises(errors.InvalidQuantity):
        stocktake_count(reference="ST-1", item_no=zone.items[0].item_no, counted=-1)
    assert stocktake_count(reference="ST-1", item_no=zone.items[0].item_no, counted=0).counted == 0


def test_reconcile_is_clean_after_receipts_and_releases(zone):
    reserve(zone, quantities=(3,))
    reservation_release_from_bond(reference="BP1", inventory_list_no="I1", destination_code="C1")
    assert reconcile() == []
    assert len(reconcile(differences_only=False)) == 3


# --- append-only ---------------------------------------------------------------------------------


def test_moves_cannot_be_edited_or_deleted(zone):
    move = Move.objects.first()
    move.quantity = 999
    with pytest.raises(ValidationError):
        move.save()
    with pytest.raises(ValidationError):
        move.delete()


@pytest.mark.postgres
def test_postgres_itself_refuses_to_change_a_move(zone):
    from django.db import DatabaseError, connection, transaction

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE bonded_move SET quantity = 1")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccountBookEntry.objects.all().delete()
