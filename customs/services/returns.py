"""Approved returns (CEB625): the warehouse scans the goods in, then they go back into bond.

Customs approving a return only says the goods may come back. Stock and the account book take
them back when the warehouse has them: the operator scans the return and every unit, and the
return-into-bond runs after that scan commits. If it fails (a bonded refusal, a lost
connection), the intake keeps the error and the sweep tries again; after
CUSTOMS_RETURN_INTO_BOND_ATTEMPTS failures it is flagged for staff and left alone.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bonded import selectors as bonded_selectors
from customs.errors import ReturnNotApproved, ReturnScanMismatch
from customs.models import Declaration, OrderClearance, ReturnIntake
from customs.services import release
from customs.services.clearance import clearance_transition

logger = logging.getLogger(__name__)
C = OrderClearance.State


def return_approved(*, declaration: Declaration) -> ReturnIntake:
    """Customs approved the return: it now waits for the warehouse (idempotent per return)."""
    intake, _created = ReturnIntake.objects.get_or_create(
        return_no=declaration.business_no,
        defaults={
            "order_no": declaration.order_no,
            "location_code": declaration.payload["location_code"],
            "lines": declaration.payload["lines"],
        },
    )
    return intake


def return_scan_in(*, return_no: str, barcodes: Iterable[str], actor: str) -> ReturnIntake:
    """The warehouse has the goods: one barcode per unit, exactly the approved units.

    Records the scan, then puts the goods back into bond in a transaction of its own (a
    failure there is kept for the sweep, not shown as a refused scan: the goods are here).
    """
    scanned = [code.strip() for code in barcodes if code.strip()]
    with transaction.atomic():
        intake = ReturnIntake.objects.select_for_update().filter(return_no=return_no).first()
        if intake is None:
            raise ReturnNotApproved(return_no=return_no)
        if intake.scanned_at is not None:
            return intake
        _check_units(intake, scanned)
        intake.scanned_at = timezone.now()
        intake.scanned_by = actor[:150]
        intake.save(update_fields=["scanned_at", "scanned_by"])
    # The scan is committed (or, inside a caller's transaction, kept by a failure here).
    return_into_bond_try(return_no=return_no)
    intake.refresh_from_db()
    return intake


def _check_units(intake: ReturnIntake, scanned: list[str]) -> None:
    by_barcode = bonded_selectors.items_by_barcode(scanned)
    unknown = sorted({code for code in scanned if code not in by_barcode})
    got = Counter(by_barcode[code].item_no for code in scanned if code in by_barcode)
    want = Counter()
    for line in intake.lines:
        want[line["item_no"]] += int(line["qty"])
    if unknown or got != want:
        raise ReturnScanMismatch(
            return_no=intake.return_no,
            missing=dict(want - got),
            extra=dict(got - want),
            unknown=unknown,
        )


def return_into_bond_try(*, return_no: str) -> bool:
    """Put a scanned-in return back into bond once; True when it is (now or before)."""
    with transaction.atomic():
        intake = ReturnIntake.objects.select_for_update().get(return_no=return_no)
        if intake.into_bond_at is not None:
            return True
        if intake.scanned_at is None or intake.flagged_at is not None:
            return False
        try:
            with transaction.atomic():
                clearance = OrderClearance.objects.select_for_update().get(order_no=intake.order_no)
                if clearance.state != C.RELEASED:
                    raise ValueError(f"clearance is {clearance.state}, not released")
                release.return_into_bond(
                    order_no=intake.order_no,
                    return_no=intake.return_no,
                    location_code=intake.location_code,
                    lines=intake.lines,
                )
                clearance_transition(
                    clearance=clearance, to=C.RETURNED, reason=f"return {intake.return_no}"
                )
                intake.into_bond_at = timezone.now()
                intake.last_error = ""
                intake.save(update_fields=["into_bond_at", "last_error"])
                return True
        except Exception as exc:  # any failure: kept on the intake, retried by the sweep
            intake.attempts += 1
            intake.last_error = f"{type(exc).__name__}: {exc}"[:500]
            fields = ["attempts", "last_error"]
            if intake.attempts >= settings.CUSTOMS_RETURN_INTO_BOND_ATTEMPTS:
                intake.flagged_at = timezone.now()
                fields.append("flagged_at")
            intake.save(update_fields=fields)
            logger.warning(
                "return %s into bond failed (attempt %s): %s",
                return_no, intake.attempts, intake.last_error,
            )  # fmt: skip
            return False


def returns_into_bond_retry() -> int:
    """The sweep's part: scanned-in returns not yet back in bond and not flagged. How many
    went back in this time."""
    due = ReturnIntake.objects.filter(
        scanned_at__isnull=False, into_bond_at__isnull=True, flagged_at__isnull=True
    ).values_list("return_no", flat=True)
    return sum(return_into_bond_try(return_no=return_no) for return_no in list(due))


def return_retry_flagged(*, return_no: str) -> bool:
    """Staff fixed the cause: clear the flag and try again now."""
    ReturnIntake.objects.filter(return_no=return_no, into_bond_at__isnull=True).update(
        flagged_at=None, attempts=0
    )
    return return_into_bond_try(return_no=return_no)
