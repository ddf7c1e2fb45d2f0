"""Receipts: recorded once (by guid), applied once, never moving a state backwards."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, Value, When
from django.utils import timezone

from config import tracing
from config.tasks import send_coalesced_on_commit
from customs import errors
from customs.gateway import get_transport
from customs.models import Declaration, GatewayCursor, OrderClearance, Receipt
from customs.services.clearance import (
    ReleasesTogether,
    clearance_derive,
    clearance_transition,
)
from customs.services.declarations import (
    declaration_transition,
    inventory_declare_held,
    inventory_inputs,
)
from customs.services.states import already_held, declaration_may_move, state_for_status

logger = logging.getLogger(__name__)
S = Declaration.State
C = OrderClearance.State
PAYMENT_STATES = {S.SENT, S.ACCEPTED, S.REJECTED}
ALREADY_HELD = "already held"  # outcome of a "duplicate business key" answer
BATCH = 100  # receipts applied in one transaction at most (a push carries up to 100)


def _when(value) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return timezone.now()
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def receipts_record(
    *, receipts: list[dict], source: str, sent: Mapping[str, int] | None = None
) -> list[int]:
    """Store receipts as they arrived; a duplicate guid is ignored. Returns the new ids, in
    arrival order.

    Three statements whatever the batch (a pushed batch was four per receipt): the guids we
    know, one INSERT of the rest (a guid inserted meanwhile by another process is skipped by
    ON CONFLICT, and may then be returned by both: applying a receipt is idempotent), their ids.

    `sent` names declarations (guid: id) the caller has just marked sent: a receipt that would
    only move one of them to sent (the synchronous "2 declaring") can change nothing, since
    states never move backwards, so it is stored applied, as stale, and not returned.
    """
    sent = sent or {}
    now = timezone.now()
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
        if receipt.decl_guid in sent and state_for_status(receipt.return_status) == S.SENT:
            receipt.declaration_id = sent[receipt.decl_guid]
            receipt.applied_at, receipt.outcome = now, "stale"
        fresh.setdefault(guid, receipt)
    if not fresh:
        return []
    known = set(
        Receipt.objects.filter(guid__in=list(fresh)).order_by().values_list("guid", flat=True)
    )
    new = [receipt for guid, receipt in fresh.items() if guid not in known]
    if not new:
        return []
    try:
        Receipt.objects.bulk_create(new, ignore_conflicts=True)
    except IntegrityError as exc:
        raise errors.InvalidMessage(f"malformed receipt: {exc}") from exc
    new = [receipt for receipt in new if receipt.applied_at is None]
    if not new:
        return []
    ids = dict(
        Receipt.objects.filter(guid__in=[r.guid for r in new]).order_by().values_list("guid", "id")
    )
    return [ids[r.guid] for r in new if r.guid in ids]


def receipt_apply(*, receipt_id: int) -> str:
    """Apply one receipt; a late or duplicate one is recorded as stale and changes nothing."""
    outcome = receipts_apply(receipt_ids=[receipt_id]).get(receipt_id)
    if outcome is None:  # applied before (or meanwhile, by another worker)
        outcome = Receipt.objects.filter(pk=receipt_id).values_list("outcome", flat=True).first()
    return outcome or ""


def receipts_apply(*, receipt_ids: Sequence[int]) -> dict[int, str]:
    """Apply receipts in the order given (arrival order) in one transaction; returns the outcome
    of each receipt applied now (one applied before is left out).

    A batch locks its receipts, their declarations and the clearances it may change in one
    ordered statement each (receipts, then declarations, then clearances, by id: the order
    every writer here takes them in), reads those orders' declarations once and re-derives a
    clearance in memory, only when a declaration actually moved. A receipt that cannot change
    anything (a repeat or a late status) costs no more than its share of the locks and of the
    one UPDATE that marks the batch applied. If the batch fails, each receipt is retried in its
    own transaction, so one bad receipt holds back no other; whatever still fails stays
    unapplied for the sweep.
    """
    receipt_ids = list(dict.fromkeys(receipt_ids))
    if not receipt_ids:
        return {}
    try:
        with transaction.atomic():
            return _Batch(receipt_ids).apply()
    except Exception:
        if len(receipt_ids) == 1:
            raise
        logger.warning("receipt batch failed; applying one by one", exc_info=True)
    outcomes: dict[int, str] = {}
    for receipt_id in receipt_ids:
        outcomes.update(receipts_apply(receipt_ids=[receipt_id]))
    return outcomes


@dataclass
class _Order:
    """A locked clearance and all its order's declarations (default ordering, as
    clearance_recompute reads them); the batch's own declarations are these same objects."""

    clearance: OrderClearance
    decls: list[Declaration]


class _Batch:
    def __init__(self, receipt_ids: list[int], claimed: list[Receipt] | None = None) -> None:
        """`claimed`: the receipts as the caller locked them, unapplied (not read again)."""
        self.receipt_ids = receipt_ids
        if claimed is None:
            claimed = (
                Receipt.objects.select_for_update()
                .filter(pk__in=receipt_ids, applied_at__isnull=True)
                .order_by("pk")
            )
        self.receipts = {r.pk: r for r in claimed}
        guids = {r.decl_guid for r in self.receipts.values()}
        self.decls = {
            d.guid: d
            for d in Declaration.objects.select_for_update().filter(guid__in=guids).order_by("pk")
        }
        self.orders: dict[str, _Order | None] = {}
        self.reread: set[str] = set()
        self.moved: dict[int, Declaration] = {}  # moved in memory, written by _write_moved
        self.releases = ReleasesTogether()  # their goods move out of bond at the end
        changing = sorted(
            {
                decl.order_no
                for r in self.receipts.values()
                if (decl := self.decls.get(r.decl_guid)) is not None and _may_change(r, decl)
            }
        )
        if changing:
            self._load(changing)

    def _load(self, order_nos: list[str]) -> None:
        """Lock the orders' clearances (by id) and read their declarations, one query each."""
        self._write_moved()  # before they are read again
        clearances = {
            c.order_no: c
            for c in OrderClearance.objects.select_for_update()
            .filter(order_no__in=order_nos)
            .order_by("pk")
        }
        decls: dict[str, list[Declaration]] = {order_no: [] for order_no in order_nos}
        for decl in Declaration.objects.filter(order_no__in=order_nos):
            if decl.guid in self.decls:  # one object per row from here on (still locked)
                self.decls[decl.guid] = decl
            decls[decl.order_no].append(decl)
        for order_no in order_nos:
            clearance = clearances.get(order_no)
            self.orders[order_no] = _Order(clearance, decls[order_no]) if clearance else None

    def order(self, order_no: str) -> _Order | None:
        if order_no not in self.orders or order_no in self.reread:
            self.reread.discard(order_no)
            self._load([order_no])  # unforeseen: a late lock, as a single receipt takes it
        return self.orders[order_no]

    def _write_moved(self) -> None:
        """The declarations the batch moved, in one UPDATE (one per transition before: an
        inventory list accepted, concluded and released in one push was written three times).
        Before anything reads them from the database, and before the batch ends."""
        if self.moved:
            Declaration.objects.bulk_update(
                list(self.moved.values()),
                ["state", "state_changed_at", "return_info", "return_status"],
            )
            self.moved = {}

    def forget(self, order_no: str) -> None:
        """A service read and wrote the order's rows itself: read them again before the next
        receipt of the order (its clearance stays locked)."""
        self.reread.add(order_no)

    def apply(self) -> dict[int, str]:
        now = timezone.now()
        outcomes: dict[int, str] = {}
        for receipt_id in self.receipt_ids:
            receipt = self.receipts.get(receipt_id)
            if receipt is None:
                continue
            decl = self.decls.get(receipt.decl_guid)
            if decl is not None and decl.order_no in self.reread:
                self.order(decl.order_no)
                decl = self.decls[receipt.decl_guid]
            parent, own = self._trace_contexts(decl)
            with tracing.span_under(
                "customs.receipt.apply",
                stored=parent,
                linked=own,
                attributes=_span_attributes(receipt, decl),
            ) as span:
                outcome = self._apply(receipt, decl) if decl else "unknown declaration"
                if span is not None:
                    span.set_attribute("customs.receipt.outcome", outcome)
            receipt.declaration = decl
            receipt.applied_at = now
            receipt.outcome = outcome
            outcomes[receipt_id] = outcome
        self._write_moved()
        self.releases.release()
        if self.receipts:
            self._mark_applied(now)
        return outcomes

    def _trace_contexts(self, decl: Declaration | None) -> tuple[str, tuple[str, ...]]:
        """The receipt span's parent and links (config/tracing.py): the order's first filing
        (of the declarations already read: none are read for it) and the declaration's own."""
        if decl is None or not tracing.is_on():
            return "", ()
        order = self.orders.get(decl.order_no)
        kept = [d for d in order.decls if d.trace_context] if order is not None else []
        first = min(kept, key=lambda d: (d.created_at, d.pk)).trace_context if kept else ""
        if not first or first == decl.trace_context:
            return decl.trace_context, ()
        return first, (decl.trace_context,)

    def _mark_applied(self, now) -> None:
        """One UPDATE, its CASEs by declaration and by outcome (a few of each), not by receipt
        as bulk_update builds them: that cost a fifth of the batch's CPU."""
        by_outcome: dict[str, list[int]] = defaultdict(list)
        for receipt in self.receipts.values():
            by_outcome[receipt.outcome].append(receipt.pk)
        decl_ids = {
            r.decl_guid: r.declaration_id for r in self.receipts.values() if r.declaration_id
        }
        Receipt.objects.filter(pk__in=list(self.receipts)).update(
            applied_at=now,
            outcome=Case(
                *(When(pk__in=pks, then=Value(outcome)) for outcome, pks in by_outcome.items()),
                default=Value(""),
            ),
            declaration=Case(
                *(When(decl_guid=guid, then=Value(pk)) for guid, pk in decl_ids.items()),
                default=Value(None),
                output_field=BigIntegerField(),
            ),
        )

    def _apply(self, receipt: Receipt, decl: Declaration) -> str:
        status = receipt.return_status
        if status < 0:
            if already_held(status, receipt.return_info):
                return ALREADY_HELD  # the overdue check asks for its status; never rejected
            decl.last_error = f"{status}: {receipt.return_info}"[:500]
            decl.save(update_fields=["last_error"])
            return "processing error"
        if decl.kind == "inventory" and decl.authority == "customs" and receipt.invt_no:
            # Before any transition: the release needs the list number even if 800 came first.
            order = self.order(decl.order_no)
            if order is not None and not order.clearance.invt_no:
                OrderClearance.objects.filter(pk=order.clearance.pk, invt_no="").update(
                    invt_no=receipt.invt_no
                )
                order.clearance.invt_no = receipt.invt_no
        new = state_for_status(status)
        if new is None or (decl.kind == "payment" and new not in PAYMENT_STATES):
            return "stale"
        moved = declaration_transition(
            declaration=decl,
            to=new,
            info=receipt.return_info,
            return_status=status,
            recompute=False,
            write=False,
        )
        if not moved:
            return "stale"
        self.moved[decl.pk] = decl
        order = self.order(decl.order_no)
        if order is not None:
            clearance_derive(
                clearance=order.clearance, declarations=order.decls, releases=self.releases
            )
        if decl.kind in ("order", "payment", "waybill") and new == S.ACCEPTED:
            if order is not None and _inventory_due(order):
                self._declare_inventory(order)
        elif decl.kind == "cancel":
            self._write_moved()
            _cancel_outcome(decl, new, receipt.return_info)
            self.forget(decl.order_no)
        elif decl.kind == "return" and new in (S.CONCLUDED, S.RELEASED, S.CLOSED):
            self._write_moved()
            _return_approved(decl)
            self.forget(decl.order_no)
        return "applied"

    def _declare_inventory(self, order: _Order) -> None:
        """On the rows the batch holds (its clearance locked, its declarations as moved): the
        new lists join them, newest first as they are read, so nothing is read again."""
        known = {d.pk for d in order.decls}
        declared = inventory_declare_held(
            clearance=order.clearance,
            declarations=order.decls,
            before_refusal=self._write_moved,
        )
        if not declared:  # refused: the refusal wrote what it changed
            self.forget(order.clearance.order_no)
        elif declared[0].pk not in known:
            order.decls[:0] = reversed(declared)


def _span_attributes(receipt: Receipt, decl: Declaration | None) -> dict | None:
    """What the receipt span shows (config/tracing.py); nothing is built while tracing is off."""
    if not tracing.is_on():
        return None
    return {
        "bondport.order_no": receipt.order_no or (decl.order_no if decl else ""),
        "customs.authority": receipt.authority,
        "customs.declaration.kind": decl.kind if decl else "",
        "customs.return_status": receipt.return_status,
        "customs.receipt.source": receipt.source,
    }


def _may_change(receipt: Receipt, decl: Declaration) -> bool:
    """Whether applying the receipt may touch the order's clearance. States only move forward,
    so a receipt that cannot move its declaration now never will."""
    if receipt.return_status < 0:
        return False
    if decl.kind == "inventory" and decl.authority == "customs" and receipt.invt_no:
        return True
    new = state_for_status(receipt.return_status)
    if new is None or (decl.kind == "payment" and new not in PAYMENT_STATES):
        return False
    return declaration_may_move(decl.state, new)


def _inventory_due(order: _Order) -> bool:
    """inventory_declare's readiness, on the rows the batch holds: the list is declared only
    once order, payment and waybill are all accepted."""
    return inventory_inputs(order.clearance, order.decls) is not None


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


def _return_approved(decl: Declaration) -> None:
    """Customs approved the return: nothing moves yet, the warehouse scans the goods in first
    (customs.services.returns)."""
    from customs.services.returns import return_approved

    clearance = OrderClearance.objects.select_for_update().get(order_no=decl.order_no)
    if clearance.state != C.RELEASED:
        return
    return_approved(declaration=decl)


def receipts_apply_due(*, batch: int = BATCH, max_batches: int = 20) -> int:
    """Every receipt not yet applied, oldest first, `batch` per transaction (the coalesced
    `receipts_due` task: pushes that arrive while one is queued add no task). Each batch is
    claimed with FOR UPDATE SKIP LOCKED, so a second worker takes the next receipts instead of
    waiting for these; a batch that fails is applied one by one, and a receipt that still
    fails is left for the sweep (and skipped for the rest of this run). Returns how many were
    applied now."""
    applied = 0
    failed: set[int] = set()
    for _ in range(max_batches):
        unapplied = Receipt.objects.filter(applied_at__isnull=True).exclude(pk__in=failed)
        ids, now_applied = _claim_and_apply(unapplied, failed, limit=batch)
        applied += now_applied
        if len(ids) < batch:
            break
    return applied


def _claim_and_apply(unapplied, failed: set[int], *, limit: int | None = None):
    """Claim the unapplied receipts of `unapplied` (oldest first, FOR UPDATE SKIP LOCKED: ones
    another process is applying stay its) and apply them as one batch in one transaction; if
    the batch fails, one by one, and a receipt that still fails goes into `failed`. Returns
    (the ids claimed, how many were applied)."""
    ids: list[int] = []
    try:
        with transaction.atomic():  # claim and apply in one transaction, no savepoint
            claim = unapplied.select_for_update(skip_locked=True).order_by("received_at", "id")
            claimed = list(claim[:limit] if limit else claim)
            ids = [r.pk for r in claimed]
            return ids, (len(_Batch(ids, claimed).apply()) if ids else 0)
    except Exception:
        if not ids:
            raise
        logger.warning("receipt batch failed; applying one by one", exc_info=True)
    return ids, len(_one_by_one(ids, failed))


def _one_by_one(ids: list[int], failed: set[int]) -> dict[int, str]:
    outcomes: dict[int, str] = {}
    for receipt_id in ids:
        try:
            with transaction.atomic():
                outcomes.update(_Batch([receipt_id]).apply())
        except Exception:
            logger.exception("receipt %s failed; left for the sweep", receipt_id)
            failed.add(receipt_id)
    return outcomes


def receipts_accept_push(*, receipts: list[dict]) -> int:
    """An authority's push, its signature already checked: store the receipts (a guid seen
    before is skipped), then apply them here (CUSTOMS_RECEIPTS_APPLY_INLINE) or leave them to
    one coalesced `receipts_due` task (a task per push before, a task per receipt before
    that: bench/README.md). Stored first and committed, so nothing is lost if applying
    fails. Returns how many were new."""
    inline = settings.CUSTOMS_RECEIPTS_APPLY_INLINE
    with transaction.atomic():
        new_ids = receipts_record(receipts=receipts, source="push")
        if new_ids and not inline:
            send_coalesced_on_commit("customs.tasks.receipts_due")
    if new_ids and inline:
        receipts_apply_pushed(receipt_ids=new_ids)
    return len(new_ids)


def receipts_apply_pushed(*, receipt_ids: Sequence[int]) -> int:
    """Apply a push's receipts in the request that received them, once they are stored
    (CUSTOMS_RECEIPTS_APPLY_INLINE, issue #19): no task and no queue wait per push. The same
    claim as the task's (FOR UPDATE SKIP LOCKED: receipts a worker is applying are skipped and
    stay its), the same batch and the same one-by-one fallback; a receipt that still fails is
    left unapplied and the worker's task is nudged to try again (then the sweep). Returns how
    many were applied now."""
    failed: set[int] = set()
    unapplied = Receipt.objects.filter(pk__in=list(receipt_ids), applied_at__isnull=True)
    _ids, applied = _claim_and_apply(unapplied, failed)
    if failed:
        send_coalesced_on_commit("customs.tasks.receipts_due")
    return applied


def receipts_apply_pending(*, limit: int = 500) -> int:
    ids = list(
        Receipt.objects.filter(applied_at__isnull=True)
        .order_by("received_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    for start in range(0, len(ids), BATCH):
        receipts_apply(receipt_ids=ids[start : start + BATCH])
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
    for start in range(0, len(new_ids), BATCH):
        receipts_apply(receipt_ids=new_ids[start : start + BATCH])
    return len(new_ids)
