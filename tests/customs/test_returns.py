"""Approved returns go back into bond only once the warehouse has scanned the goods in, exactly
once, and a failed return-into-bond is retried by the sweep until it succeeds or is flagged."""

import time

import pytest
from django.db.models import Sum
from django.utils import timezone

from bonded.models import AccountBookEntry, Balance, Move
from customs import selectors, services
from customs.filings import ReturnFiling, ReturnLineFiling
from customs.models import Declaration
from tests.customs.factories import line, order_filing, payment_filing, waybill_filing
from tests.customs.support import drive

pytestmark = pytest.mark.django_db
# Storage holds 1000 of each; the order takes 2 paste and 1 shoes out at release.
OUT, BACK = {"PASTE01": 998, "SHOE01": 999}, {"PASTE01": 1000, "SHOE01": 1000}


def _released_with_return_approved(zone):
    """An order of 2 paste + 1 shoes, released, its return (CEB625) approved by customs."""
    order = order_filing(
        zone, lines=[line(zone.paste, qty=2, price="50.00"), line(zone.shoes, gnum=2, qty=1)]
    )
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    assert drive(order.order_no).state == "released"
    return_no = f"RET{order.order_no}"
    services.declaration_create_return(
        filing=ReturnFiling(
            order_no=order.order_no,
            return_no=return_no,
            reason="unopened, changed mind",
            location_code=zone.storage.code,
            lines=(
                ReturnLineFiling(gnum=1, item_no=zone.paste.item_no, qty=2),
                ReturnLineFiling(gnum=2, item_no=zone.shoes.item_no, qty=1),
            ),
        )
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # file and poll until the authority approved it
        services.declarations_file()
        services.receipts_poll(authority="customs")
        decl = Declaration.objects.get(order_no=order.order_no, kind="return")
        if decl.state in ("concluded", "released", "closed"):
            return order.order_no, return_no
        time.sleep(0.05)
    raise AssertionError(f"return {return_no} not approved: {decl.state}")


def _in_storage(zone) -> dict[str, int]:
    return {
        item.item_no: Balance.objects.get(item=item, location=zone.storage).on_hand
        for item in (zone.paste, zone.shoes)
    }


def _returned_units(order_no: str) -> dict[str, int]:
    """What the ledger and the book took back for this order, in units."""
    moves = Move.objects.filter(reference=order_no, kind="return")
    book = AccountBookEntry.objects.filter(kind="return")
    return {
        "moved": moves.aggregate(n=Sum("quantity"))["n"] or 0,
        "booked": book.aggregate(n=Sum("quantity"))["n"] or 0,
    }


def test_approved_return_puts_nothing_back_before_the_warehouse_scans_it_in(zone, sandbox):
    order_no, _return_no = _released_with_return_approved(zone)
    services.receipts_apply_pending()
    from customs.services.sweep import sweep

    sweep(now=timezone.now())
    assert _returned_units(order_no) == {"moved": 0, "booked": 0}
    assert _in_storage(zone) == OUT
    assert selectors.order_clearance(order_no).state == "released"


def test_scan_in_puts_every_unit_back_into_bond_exactly_once(zone, sandbox):
    order_no, return_no = _released_with_return_approved(zone)
    codes = [zone.paste.barcode, zone.shoes.barcode, zone.paste.barcode]
    services.return_scan_in(return_no=return_no, barcodes=codes, actor="op1")
    assert _in_storage(zone) == BACK
    assert _returned_units(order_no) == {"moved": 3, "booked": 3}
    assert selectors.order_clearance(order_no).state == "returned"
    # scanned again (a double submit), and the sweep runs: nothing more comes back
    services.return_scan_in(return_no=return_no, barcodes=codes, actor="op1")
    assert services.returns_into_bond_retry() == 0
    assert _returned_units(order_no) == {"moved": 3, "booked": 3}
    assert _in_storage(zone) == BACK


def test_a_scan_that_does_not_match_the_approved_units_is_refused(zone, sandbox):
    from customs.errors import ReturnScanMismatch

    order_no, return_no = _released_with_return_approved(zone)
    with pytest.raises(ReturnScanMismatch) as refused:
        services.return_scan_in(
            return_no=return_no, barcodes=[zone.paste.barcode, "0000000"], actor="op1"
        )
    assert refused.value.extra["missing"] == {"PASTE01": 1, "SHOE01": 1}
    assert refused.value.extra["unknown"] == ["0000000"]
    assert _returned_units(order_no) == {"moved": 0, "booked": 0}
    assert selectors.returns_awaiting_scan_in().get().return_no == return_no


def test_a_failed_return_into_bond_is_retried_by_the_sweep(zone, sandbox, monkeypatch):
    from customs.models import ReturnIntake
    from customs.services import release
    from customs.services.sweep import sweep

    order_no, return_no = _released_with_return_approved(zone)
    real = release.return_into_bond
    calls = []

    def fails_once(**kw):
        calls.append(kw["return_no"])
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return real(**kw)

    monkeypatch.setattr(release, "return_into_bond", fails_once)
    services.return_scan_in(return_no=return_no, barcodes=["9300001"] * 2 + ["9300002"], actor="op")
    intake = ReturnIntake.objects.get(return_no=return_no)
    assert (intake.attempts, intake.into_bond_at) == (1, None)
    assert "database went away" in intake.last_error
    assert _returned_units(order_no) == {"moved": 0, "booked": 0}
    assert _in_storage(zone) == OUT
    assert selectors.order_clearance(order_no).state == "released"

    assert sweep(now=timezone.now())["returned_into_bond"] == 1
    assert calls == [return_no, return_no]
    assert _returned_units(order_no) == {"moved": 3, "booked": 3}
    assert _in_storage(zone) == BACK
    assert selectors.order_clearance(order_no).state == "returned"
    assert sweep(now=timezone.now())["returned_into_bond"] == 0
    assert len(calls) == 2


def test_a_return_that_keeps_failing_is_flagged_for_staff_and_no_longer_retried(
    zone, sandbox, monkeypatch, settings
):
    from customs.models import ReturnIntake
    from customs.services import release

    settings.CUSTOMS_RETURN_INTO_BOND_ATTEMPTS = 2
    order_no, return_no = _released_with_return_approved(zone)
    real = release.return_into_bond

    def broken(**kw):
        raise RuntimeError("location CW-A is blocked")

    monkeypatch.setattr(release, "return_into_bond", broken)
    services.return_scan_in(return_no=return_no, barcodes=["9300001"] * 2 + ["9300002"], actor="op")
    services.returns_into_bond_retry()
    services.returns_into_bond_retry()  # flagged after the second failure: not tried again
    intake = ReturnIntake.objects.get(return_no=return_no)
    assert intake.attempts == 2 and intake.flagged_at is not None
    assert selectors.returns_not_in_bond().get().return_no == return_no
    # staff fix the cause and retry from admin
    monkeypatch.setattr(release, "return_into_bond", real)
    assert services.return_retry_flagged(return_no=return_no) is True
    assert _returned_units(order_no) == {"moved": 3, "booked": 3}
