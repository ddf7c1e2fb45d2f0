"""An order's clearance: derived from its declarations, announced on every change."""

from __future__ import annotations

import contextlib
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from config import tracing
from config.errors import DomainError
from config.tasks import send_on_commit
from customs.models import ClearanceEvent, Declaration, OrderClearance
from customs.services import release
from customs.services.states import (
    HOLDING,
    OUT_OF_BOND,
    clearance_may_move,
)

logger = logging.getLogger(__name__)
C = OrderClearance.State
S = Declaration.State


def _announce(order_no: str, state: str) -> None:
    """Tell the listeners after commit; a lost message is caught by their own sweep.

    Task listeners (CUSTOMS_CLEARANCE_LISTENERS) get one message per change. Inline listeners
    (CUSTOMS_CLEARANCE_INLINE_LISTENERS, dotted callables taking `order_nos`) are called once
    per committed transaction, in this process, with every order whose clearance changed in
    it: a batch of receipts announces its orders in one call and no task at all. An inline
    listener that raises is logged; its own sweep catches up, as for a lost message."""
    for name in settings.CUSTOMS_CLEARANCE_LISTENERS:
        send_on_commit(name, kwargs={"order_no": order_no, "state": state})
    if not settings.CUSTOMS_CLEARANCE_INLINE_LISTENERS:
        return
    if transaction.get_connection().in_atomic_block:
        _pending_inline().add(order_no)
    else:  # autocommit: already committed
        _Announced([order_no]).flush()


def _pending_inline() -> _Announced:
    """The order numbers this transaction announces inline, called on its commit. A pending
    list whose callback is gone (run, or discarded by a rollback) is replaced."""
    conn = transaction.get_connection()
    pending = getattr(conn, "_bondport_inline_announced", None)
    if pending is not None and any(item[1] == pending.flush for item in conn.run_on_commit):
        return pending
    pending = _Announced()
    conn._bondport_inline_announced = pending
    transaction.on_commit(pending.flush)
    return pending


class _Announced(list):
    """Order numbers to announce; with tracing on, also the context each was announced in
    (a receipt's span), so the listeners run in the trace that changed the order."""

    contexts: dict | None = None

    def add(self, order_no: str) -> None:
        self.append(order_no)
        context = tracing.current_context()  # None while tracing is off
        if context is not None:
            if self.contexts is None:
                self.contexts = {}
            self.contexts.setdefault(order_no, context)

    def flush(self) -> None:
        order_nos = list(dict.fromkeys(self))
        contexts, self.contexts = self.contexts, None
        self.clear()
        if not contexts:
            _listeners_call(order_nos)
            return
        # Tracing on: one call per trace among these orders (config/tracing.py).
        by_trace: dict[int, list[str]] = {}
        for order_no in order_nos:
            by_trace.setdefault(tracing.trace_key(contexts.get(order_no)), []).append(order_no)
        for group in by_trace.values():
            with (
                tracing.attached(contexts.get(group[0])),
                tracing.span(
                    "customs.clearance.announce", attributes={"bondport.order_nos": group}
                ),
            ):
                _listeners_call(group)


def _listeners_call(order_nos: list[str]) -> None:
    for path in settings.CUSTOMS_CLEARANCE_INLINE_LISTENERS:
        try:
            import_string(path)(order_nos=order_nos)
        except Exception:  # the listener's sweep applies what this call did not
            logger.exception("inline clearance listener %s failed", path)


def clearance_transition(
    *,
    clearance: OrderClearance,
    to: str,
    reason: str = "",
    releases: ReleasesTogether | None = None,
) -> bool:
    """Move a locked clearance forward; False when the move would go backwards. With
    `releases`, a release's goods move when the caller says so (`ReleasesTogether.release`,
    before its commit), together with the other orders released in its transaction."""
    if not clearance_may_move(clearance.state, to):
        return False
    ClearanceEvent.objects.create(
        clearance=clearance, from_state=clearance.state, to_state=to, reason=reason[:500]
    )
    clearance.state = to
    clearance.reason = reason[:500]
    clearance.state_changed_at = timezone.now()
    fields = ["state", "reason", "state_changed_at"]
    # First declaration and release times, for supervision statistics.
    if to in (C.DECLARED, C.HELD, C.RELEASED) and clearance.declared_at is None:
        clearance.declared_at = clearance.state_changed_at
        fields.append("declared_at")
    if to == C.RELEASED and clearance.released_at is None:
        clearance.released_at = clearance.state_changed_at
        fields.append("released_at")
    clearance.save(update_fields=fields)
    if to == C.RELEASED and releases is not None:
        releases.add(clearance)
    elif to == C.RELEASED:
        with _release_span(clearance):
            _release_goods(clearance)
    _announce(clearance.order_no, to)
    return True


def _target(clearance: OrderClearance, decls: list[Declaration]) -> tuple[str, str]:
    # Cancellations, returns and waybill status reports follow the clearance; they never set it.
    main = [d for d in decls if d.kind not in ("cancel", "return", "waybill_status")]
    for decl in main:
        if decl.state in (S.REJECTED, S.BLOCKED):
            why = decl.return_info or decl.last_error or "rejected"
            return C.REJECTED, f"{decl.message_type} ({decl.authority}): {why}"
    inventory = [d for d in main if d.kind == "inventory"]
    needed = {"customs", "ciq"} if clearance.ciq_required else {"customs"}
    if inventory and {d.authority for d in inventory if d.state in OUT_OF_BOND} >= needed:
        return C.RELEASED, "released by " + " and ".join(sorted(needed))
    holding = [d for d in inventory if d.state in HOLDING]
    if holding:
        decl = holding[0]
        why = decl.return_info or decl.get_state_display()
        return C.HELD, f"{decl.message_type} ({decl.authority}): {why}"
    if inventory:
        return C.DECLARED, "inventory list declared"
    return C.FILING, ""


def clearance_recompute(*, order_no: str) -> OrderClearance | None:
    """Derive the order's clearance from its declarations (under the clearance row lock)."""
    clearance = OrderClearance.objects.select_for_update().filter(order_no=order_no).first()
    if clearance is None:
        return None
    clearance_derive(
        clearance=clearance, declarations=list(Declaration.objects.filter(order_no=order_no))
    )
    return clearance


def clearance_derive(
    *,
    clearance: OrderClearance,
    declarations: list[Declaration],
    releases: ReleasesTogether | None = None,
) -> None:
    """Derive a locked clearance from all its order's declarations as the caller holds them
    (default ordering); a batch of receipts reads them once and re-derives after each change."""
    to, reason = _target(clearance, declarations)
    if to != clearance.state:
        clearance_transition(clearance=clearance, to=to, reason=reason, releases=releases)
    elif reason and reason != clearance.reason and to == C.HELD:
        clearance.reason = reason[:500]
        clearance.save(update_fields=["reason"])


def _release_goods(clearance: OrderClearance) -> None:
    """Write off and move the goods once; a bonded refusal is kept for the sweep to retry."""
    if clearance.goods_released_at is not None:
        return
    try:
        with transaction.atomic():
            release.release_from_bond(
                order_no=clearance.order_no,
                inventory_list_no=clearance.invt_no or clearance.order_no,
                destination_code=clearance.destination_code,
            )
    except (DomainError, ImportError) as exc:
        clearance.release_error = f"{exc.__class__.__name__}: {exc}"[:500]
        clearance.save(update_fields=["release_error"])
        logger.warning("release of %s failed: %s", clearance.order_no, clearance.release_error)
        return
    clearance.goods_released_at = timezone.now()
    clearance.release_error = ""
    clearance.save(update_fields=["goods_released_at", "release_error"])


class ReleasesTogether:
    """The clearances a batch of receipts released, their goods moved out of bond in one call
    at the end of the batch (issue #19: one order at a time cost ~18 statements each).

    Each order still gets its `customs.release` span, under the context it was released in
    (its receipt's span). If the call is refused, nothing of it is kept and each order is
    released on its own, as `_release_goods` does: a refusal is recorded on its order only."""

    def __init__(self) -> None:
        self.pending: list[tuple[OrderClearance, object]] = []

    def add(self, clearance: OrderClearance) -> None:
        self.pending.append((clearance, tracing.current_context()))

    def release(self) -> None:
        """Call inside the transaction that released them, before it commits."""
        pending = [(c, ctx) for c, ctx in self.pending if c.goods_released_at is None]
        self.pending = []
        if not pending:
            return
        if len(pending) > 1:
            try:
                with contextlib.ExitStack() as spans, transaction.atomic():
                    for clearance, ctx in pending:
                        spans.enter_context(tracing.attached(ctx))
                        spans.enter_context(_release_span(clearance))
                    release.releases_from_bond(
                        releases=[
                            (c.order_no, c.invt_no or c.order_no, c.destination_code)
                            for c, _ in pending
                        ]
                    )
            except (DomainError, ImportError) as exc:
                logger.info(
                    "releasing %s orders together refused (%s): one by one", len(pending), exc
                )
            else:
                now = timezone.now()
                OrderClearance.objects.filter(pk__in=[c.pk for c, _ in pending]).update(
                    goods_released_at=now, release_error=""
                )
                for clearance, _ in pending:
                    clearance.goods_released_at, clearance.release_error = now, ""
                return
        for clearance, ctx in pending:
            with tracing.attached(ctx), _release_span(clearance):
                _release_goods(clearance)


def _release_span(clearance: OrderClearance):
    return tracing.span("customs.release", attributes={"bondport.order_no": clearance.order_no})


@transaction.atomic
def clearance_release_goods(*, order_no: str) -> bool:
    """Retry the move out of bond for a released order (sweep); True once the goods moved."""
    clearance = OrderClearance.objects.select_for_update().filter(order_no=order_no).first()
    if clearance is None or clearance.state != C.RELEASED:
        return False
    if clearance.goods_released_at is None:
        _release_goods(clearance)
        if clearance.goods_released_at is not None:
            _announce(order_no, clearance.state)
    return clearance.goods_released_at is not None
