"""Receipts: recorded once (by guid), applied once, never moving a state backwards."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import DomainError
from config.tasks import send_on_commit
from customs import errors
from customs.gateway import get_transport
from customs.models import Declaration, GatewayCursor, OrderClearance, Receipt
from customs.services import release
from customs.services.clearance import clearance_transition
from customs.services.declarations import declaration_transition, inventory_declare
from customs.services.states import state_for_status

logger = logging.getLogger(__name__)
S = Declaration.State
C = OrderClearance.State
PAYMENT_STATES = {S.SENT, S.ACCEPTED, S.REJECTED}


def _when(value) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return timezone.now()
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def receipts_record(*, receipts: list[dict], source: str) -> list[int]:
    """Store receipts as they arrived; a duplicate guid is ignored. Returns the new ids, in
    arrival order.

    Three statements whatever the batch (a pushed batch was four per receipt): the guids we
    know, one INSERT of the rest (a guid inserted meanwhile by another process is skipped by
    ON CONFLICT, and may then be returned by both: applying a receipt is idempotent), their ids.
    """
    fresh: dict[str, Receipt] = {}
    for row in receipts:
        try:
            guid = str(row["guid"])[:64]
            receipt = Receipt(
                guid=guid,
                source=source,
                authority=row.get("authority", "customs"),
                decl_guid=row.get("declGuid", ""),
                order_no=row.get("orderNo", ""),
                return_status=int(row["returnStatus"]),
                return_info=(row.get("returnInfo") or "")[:500],
                return_time=_when(row.get("returnTime") or timezone.now()),
                invt_no=row.get("invtNo") or "",
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise errors.InvalidMessage(f"malformed receipt: {exc}") from exc
        fresh.setdefault(guid, receipt)
    if not fresh:
        return []
    known = set(Receipt.objects.filter(guid__in=list(fresh)).values_list("guid", flat=True))
    new = [receipt for guid, receipt in fresh.items() if guid not in known]
    if not new:
        return []
    try:
        Receipt.objects.bulk_create(new, ignore_conflicts=True)
    except IntegrityError as exc:
        raise errors.InvalidMessage(f"malformed receipt: {exc}") from exc
    ids = dict(Receipt.objects.filter(guid__in=[r.guid for r in new]).values_list("guid", "id"))
    return [ids[r.guid] for r in new if r.guid in ids]


def receipt_apply(*, receipt_id: int) -> str:
    """Apply one receipt; a late or duplicate one is recorded as stale and changes nothing."""
    with transaction.atomic():
        receipt = Receipt.objects.select_for_update().get(pk=receipt_id)
        if receipt.applied_at is not None:
            return receipt.outcome
        decl = Declaration.objects.select_for_update().filter(guid=receipt.decl_guid).first()
        outcome = _apply(receipt, decl) if decl else "unknown declaration"
        receipt.declaration = decl
        receipt.applied_at = timezone.now()
        receipt.outcome = outcome
        receipt.save(update_fields=["declaration", "applied_at", "outcome"])
        return outcome


def _apply(receipt: Receipt, decl: Declaration) -> str:
    status = receipt.return_status
    if status < 0:
        decl.last_error = f"{status}: {receipt.return_info}"[:500]
        decl.save(update_fields=["last_error"])
        return "processing error"
    if decl.kind == "inventory" and decl.authority == "customs" and receipt.invt_no:
        # Before any transition: the release needs the list number even if 800 came first.
        OrderClearance.objects.filter(order_no=decl.order_no, invt_no="").update(
            invt_no=receipt.invt_no
        )
    new = state_for_status(status)
    if new is None or (decl.kind == "payment" and new not in PAYMENT_STATES):
        return "stale"
    if not declaration_transition(declaration=decl, to=new, info=receipt.return_info):
        return "stale"
    decl.return_status = status
    decl.save(update_fields=["return_status"])
    if decl.kind in ("order", "payment", "waybill") and new == S.ACCEPTED:
        inventory_declare(order_no=decl.order_no)
    elif decl.kind == "cancel":
        _cancel_outcome(decl, new, receipt.return_info)
    elif decl.kind == "return" and new in (S.CONCLUDED, S.RELEASED, S.CLOSED):
        _return_into_bond(decl)
    return "applied"


def _cancel_outcome(decl: Declaration, new: str, info: str) -> None:
    clearance = OrderClearance.objects.select_for_update().get(order_no=decl.order_no)
    if new == S.REJECTED:
        clearance.reason = f"cancellation refused: {info}"[:500]
        clearance.save(update_fields=["reason"])
        return
    if new not in (S.CONCLUDED, S.RELEASED, S.CLOSED):
        return
    for target in Declaration.objects.select_for_update().filter(
        order_no=decl.order_no, kind__in=["order", "payment", "waybill", "inventory"]
    ):
        if target.state not in (S.REJECTED, S.CANCELLED, S.RELEASED, S.CLOSED):
            target.state = S.CANCELLED
            target.state_changed_at = timezone.now()
            target.save(update_fields=["state", "state_changed_at"])
    clearance_transition(
        clearance=clearance, to=C.CANCELLED, reason=decl.payload.get("reason", "cancelled")
    )


def _return_into_bond(decl: Declaration) -> None:
    clearance = OrderClearance.objects.select_for_update().get(order_no=decl.order_no)
    if clearance.state != C.RELEASED:
        return
    try:
        with transaction.atomic():
            release.return_into_bond(
                order_no=decl.order_no,
                return_no=decl.business_no,
                location_code=decl.payload["location_code"],
                lines=decl.payload["lines"],
            )
    except (DomainError, ImportError) as exc:
        decl.last_error = f"return into bond failed: {exc}"[:500]
        decl.save(update_fields=["last_error"])
        return
    clearance_transition(clearance=clearance, to=C.RETURNED, reason=f"return {decl.business_no}")


def receipts_apply_pending(*, limit: int = 500) -> int:
    ids = list(
        Receipt.objects.filter(applied_at__isnull=True)
        .order_by("received_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    for receipt_id in ids:
        receipt_apply(receipt_id=receipt_id)
    return len(ids)


def receipts_poll(*, authority: str) -> int:
    """The fallback when pushes are lost: fetch receipts after our cursor and apply them."""
    cursor, _ = GatewayCursor.objects.get_or_create(authority=authority)
    answer = get_transport().fetch_receipts(authority=authority, after=cursor.position)
    rows = [{**row, "authority": authority} for row in answer.get("receipts", [])]
    new_ids = receipts_record(receipts=rows, source="poll")
    GatewayCursor.objects.filter(pk=cursor.pk).update(
        position=max(cursor.position, int(answer.get("next", cursor.position))),
        polled_at=timezone.now(),
    )
    for receipt_id in new_ids:
        receipt_apply(receipt_id=receipt_id)
    return len(new_ids)


def inspection_decide(*, declaration_id: int, decision: str, actor: str, note: str = "") -> str:
    """An officer's decision on a held declaration, applied as a receipt like any other."""
    if decision not in ("release", "reject"):
        raise errors.CustomsError(_("Decide release or reject."), code="customs_bad_decision")
    decl = Declaration.objects.filter(pk=declaration_id).first()
    if decl is None or decl.state not in (S.INSPECTION, S.DETAINED, S.REVIEW):
        raise errors.IllegalTransition(
            _("Only declarations under review or inspection can be decided."),
            extra={"state": getattr(decl, "state", None)},
        )
    status = 800 if decision == "release" else 100
    info = f"inspection by {actor}: {note or decision}"
    ids = receipts_record(
        receipts=[
            {
                "guid": f"officer-{decl.guid}-{status}",
                "authority": decl.authority,
                "declGuid": decl.guid,
                "orderNo": decl.order_no,
                "returnStatus": status,
                "returnInfo": info,
            }
        ],
        source="officer",
    )
    if not ids:
        return "stale"
    outcome = receipt_apply(receipt_id=ids[0])
    if outcome == "applied":  # the authority's record follows (customs.services.inspection)
        send_on_commit(
            "customs.tasks.decision_forward",
            kwargs={"declaration_id": decl.pk, "decision": decision, "note": note},
        )
    return outcome
