"""Creating declarations from plain data, in the caller's transaction."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bonded import selectors as bonded_selectors
from config.crypto import keyed_hash
from config.tasks import send_coalesced_on_commit
from customs import errors
from customs.filings import OrderFiling, PaymentFiling, WaybillFiling
from customs.models import Declaration, DeclaredLine, OrderClearance
from customs.services import supervision
from customs.services.clearance import clearance_recompute, clearance_transition
from customs.services.states import ACCEPTED_OR_LATER, declaration_may_move

logger = logging.getLogger(__name__)
S = Declaration.State
C = OrderClearance.State


def fingerprint(payload: dict, id_hash: str = "") -> str:
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False) + id_hash
    return hashlib.sha256(body.encode()).hexdigest()


def nudge_filing() -> None:
    """After commit, ask a worker to push, unless a push is already waiting in the queue (it
    will take this declaration too: pushes file everything due, in batches); if the broker is
    down the sweep files it later."""
    send_coalesced_on_commit("customs.tasks.declarations_push")


def declaration_transition(
    *,
    declaration: Declaration,
    to: str,
    info: str = "",
    return_status: int | None = None,
    recompute: bool = True,
    write: bool = True,
) -> bool:
    """Move a declaration forward (never backwards) and re-derive its order's clearance.

    The receipt's status is saved in the same UPDATE; `recompute=False` is for a caller that
    holds the clearance and the order's declarations and re-derives it itself (a batch), and
    `write=False` for one that writes the moved declarations itself, all in one UPDATE."""
    if not declaration_may_move(declaration.state, to):
        return False
    declaration.state = to
    declaration.state_changed_at = timezone.now()
    fields = ["state", "state_changed_at", "return_info"]
    if info:
        declaration.return_info = info[:500]
    if return_status is not None:
        declaration.return_status = return_status
        fields.append("return_status")
    if write:
        declaration.save(update_fields=fields)
    if recompute:
        clearance_recompute(order_no=declaration.order_no)
    return True


def _book_for(order: OrderFiling) -> dict:
    """emsNo, areaCode and each item's account-book record, from the destination's warehouse."""
    location = bonded_selectors.location_by_code(order.destination_code)
    if location is None or location.warehouse is None:
        raise errors.AccountBookMissing(
            _("Destination %(code)s is not in a bonded warehouse; choose a counter or dock.")
            % {"code": order.destination_code},
            extra={"destination_code": order.destination_code},
        )
    warehouse = location.warehouse
    records = bonded_selectors.book_entries(
        warehouse_code=warehouse.code, item_nos=[line.item_no for line in order.lines]
    )
    missing = sorted({line.item_no for line in order.lines} - records.keys())
    if missing:
        raise errors.AccountBookMissing(
            _("Items %(items)s are not in account book %(ems)s; receive them into bond first.")
            % {"items": ", ".join(missing), "ems": warehouse.ems_no},
            extra={"item_nos": missing},
        )
    return {
        "warehouse_code": warehouse.code,
        "ems_no": warehouse.ems_no,
        "area_code": warehouse.area_code,
        "records": {item_no: str(entry.record_no) for item_no, entry in records.items()},
        "net_weight": str(sum(e.net_weight_kg * _qty(order, n) for n, e in records.items())),
        "gross_weight": str(sum(e.gross_weight_kg * _qty(order, n) for n, e in records.items())),
    }


def _qty(order: OrderFiling, item_no: str) -> int:
    return sum(line.qty for line in order.lines if line.item_no == item_no)


def _names(codes: dict[str, str]) -> dict[str, str]:
    found = supervision.enterprises(set(codes.values()))
    return {
        role: found[(role, code)].name if (role, code) in found else code
        for role, code in codes.items()
    }


def summary_of(order_no: str):
    from customs.selectors import order_clearance

    return order_clearance(order_no)


def _parties(order: OrderFiling) -> dict[str, str]:
    return {
        "platform": order.ebp_code,
        "merchant": order.ebc_code,
        "payment": order.pay_code,
        "logistics": order.logistics_code,
        "agent": settings.CUSTOMS_AGENT_CODE,
    }


def _order_checks(
    order: OrderFiling, waybill: WaybillFiling, payload: dict, id_hash: str
) -> tuple[bool, bool]:
    """Ex-ante and in-process checks of an order and its waybill: (CIQ required, flagged for
    inspection), or a DomainError naming the first refusal."""
    if not supervision.precheck_enabled():
        entries = supervision.current_entries({line.hs_code for line in order.lines})
        return any(entry.quarantine for entry in entries.values()), False
    with supervision.rules_snapshot():
        supervision.parties_check(parties=_parties(order))
        result = supervision.goods_check(
            order_no=order.order_no,
            ebc_code=order.ebc_code,
            lines=payload["lines"],
            buyer_hash=id_hash,
        )
        problems = supervision.order_problems(payload)
        if problems:
            raise errors.TaxMismatch("; ".join(problems), extra={"problems": problems})
        problems = supervision.order_waybill_problems(payload, waybill.as_payload())
        if problems and supervision.rule("three_order").enabled:
            raise errors.ThreeOrderMismatch("; ".join(problems), extra={"problems": problems})
    return result.ciq_required, result.flagged_for_inspection


# Which rule a refusal belongs to, for the hit that records it.
REFUSAL_RULES = {
    errors.PartyNotRegistered: "party_registered",
    errors.PartySuspended: "party_registered",
    errors.NotOnPositiveList: "positive_list",
    errors.ProhibitedGoods: "prohibited",
    errors.YearlyCapExceeded: "yearly_cap",
    errors.TaxMismatch: "tax_recompute",
    errors.ThreeOrderMismatch: "three_order",
}


def refusal_record(*, refusal: Exception, order_no: str, ebc_code: str) -> bool:
    """Keep a risk hit for a filing refusal after the caller's transaction rolled back with
    it (the hit made inside went with the order). False when it is not a supervision refusal."""
    rule_code = REFUSAL_RULES.get(type(refusal))
    if rule_code is None:
        return False
    supervision.hit_record(
        rule_code=rule_code,
        subject=f"order:{order_no}",
        reason=getattr(refusal, "message", str(refusal)),
        order_no=order_no,
        ebc_code=ebc_code,
    )
    return True


def order_precheck(*, order: OrderFiling, waybill: WaybillFiling) -> None:
    """Run the filing checks before the caller opens its order transaction, keeping a risk hit
    for every refusal. Call it outside any transaction; declarations_create_for_order checks
    again inside the caller's."""
    try:
        with transaction.atomic():
            _order_checks(order, waybill, order.as_payload(), keyed_hash(order.buyer_id_number))
    except tuple(REFUSAL_RULES) as refusal:
        refusal_record(refusal=refusal, order_no=order.order_no, ebc_code=order.ebc_code)
        raise


def declarations_create_for_order(
    *, order: OrderFiling, waybill: WaybillFiling, new_order: bool = False
):
    """File the order (CEB311) and waybill (CEB511); pre-checked; durable with the caller's
    transaction; returns the order's clearance. Calling again with the same data is a no-op;
    different data is refused.

    `new_order=True`: the caller created this order number in its own transaction just now
    (checkout) and gives the transaction up on any refusal, so there is nothing filed to look
    for (the clearance's unique order number would refuse a second filing anyway) and no
    savepoint is needed: three statements fewer per order."""
    if not order.lines:
        raise errors.CustomsError(_("An order needs at least one line."), code="customs_no_lines")
    if order.delivery_mode not in ("pickup", "delivery"):
        raise errors.CustomsError(_("Choose pickup or delivery."), code="customs_mode")
    payload = order.as_payload()
    id_hash = keyed_hash(order.buyer_id_number)
    order_fingerprint = fingerprint(payload, id_hash)  # before book and names are added
    with transaction.atomic(savepoint=not new_order):
        existing = (
            None
            if new_order
            else Declaration.objects.filter(
                kind="order", authority="customs", order_no=order.order_no
            ).first()
        )
        if existing is not None:
            if existing.fingerprint != order_fingerprint:
                raise errors.FilingConflict(
                    _("Order %(order_no)s was filed before with other data.")
                    % {"order_no": order.order_no},
                    extra={"order_no": order.order_no},
                )
            return OrderClearance.objects.get(order_no=order.order_no)
        ciq_required, flagged = _order_checks(order, waybill, payload, id_hash)
        payload["book"] = _book_for(order)
        payload["names"] = _names(_parties(order))
        clearance = OrderClearance.objects.create(
            order_no=order.order_no,
            ebc_code=order.ebc_code,
            delivery_mode=order.delivery_mode,
            destination_code=order.destination_code,
            ciq_required=ciq_required,
            goods_value=order.goods_value,
        )
        decl = Declaration.objects.create(
            kind="order",
            order_no=order.order_no,
            ebc_code=order.ebc_code,
            payload=payload,
            fingerprint=order_fingerprint,
            id_number=order.buyer_id_number,
            id_hash=id_hash,
            flagged_for_inspection=flagged,
        )
        DeclaredLine.objects.bulk_create(
            DeclaredLine(
                declaration=decl,
                gnum=line.gnum,
                item_no=line.item_no,
                hs_code=line.hs_code,
                qty=line.qty,
                price=line.price,
                buyer_hash=id_hash,
            )
            for line in order.lines
        )
        waybill_payload = {**waybill.as_payload(), "order_no": order.order_no}
        Declaration.objects.create(
            kind="waybill",
            order_no=order.order_no,
            business_no=waybill.logistics_no,
            ebc_code=order.ebc_code,
            payload=waybill_payload,
            fingerprint=fingerprint(waybill_payload),
        )
        nudge_filing()
    return clearance


def declaration_create_payment(*, payment: PaymentFiling, summary: bool = True):
    """File the payment (CEB411). The money is already taken, so a mismatch never raises:
    the payment is blocked (not sent), the hit stored and the order's clearance rejected.

    Returns the order's clearance view, or None with `summary=False` (the caller has no use
    for it: three reads fewer). No savepoint of its own: every refusal is decided before the
    first write and raised once the block is left, so a caller may catch it and go on."""
    payload = payment.as_payload()
    id_hash = keyed_hash(payment.payer_id_number)
    error = None
    with transaction.atomic(savepoint=False):
        clearance = (
            OrderClearance.objects.select_for_update().filter(order_no=payment.order_no).first()
        )
        # The order's declaration and an earlier payment's, in one read.
        filed = {
            d.kind: d
            for d in Declaration.objects.filter(
                kind__in=["order", "payment"], authority="customs", order_no=payment.order_no
            )
            .defer("id_number")  # never needed here: no decryption
            .order_by("id")
        }
        existing = filed.get("payment")
        if clearance is None:
            error = errors.CustomsError(
                _("Order %(order_no)s has not been filed with customs; file it first.")
                % {"order_no": payment.order_no},
                code="customs_order_not_filed",
                http_status=404,
            )
        elif existing is not None:
            if existing.fingerprint != fingerprint(payload, id_hash):
                error = errors.FilingConflict(
                    _("A different payment was filed for order %(order_no)s.")
                    % {"order_no": payment.order_no},
                    extra={"order_no": payment.order_no},
                )
        elif clearance.state in (C.CANCELLED, C.REJECTED):
            error = errors.IllegalTransition(
                _("Order %(order_no)s is %(state)s; refund the payment instead.")
                % {"order_no": payment.order_no, "state": clearance.state},
                extra={"state": clearance.state},
            )
        else:
            order = filed.get("order")
            if order is None:
                raise Declaration.DoesNotExist(f"no order declaration for {payment.order_no}")
            payload["names"] = _names({"payment": payment.pay_code, "platform": payment.ebp_code})
            decl = Declaration.objects.create(
                kind="payment",
                order_no=payment.order_no,
                business_no=payment.pay_transaction_id,
                ebc_code=clearance.ebc_code,
                payload=payload,
                fingerprint=fingerprint(payment.as_payload(), id_hash),
                id_number=payment.payer_id_number,
                id_hash=id_hash,
            )
            problems = []
            if supervision.precheck_enabled() and supervision.rule("three_order").enabled:
                problems = supervision.order_payment_problems(
                    order.payload, order.id_hash, payload, id_hash
                )
            clearance.paid_at = payment.paid_at
            clearance.save(update_fields=["paid_at"])
            if problems:
                _block(decl, problems, clearance)
            elif payment.filed_by:
                _filed_by_payment_company(decl, payment)
            else:
                nudge_filing()
    if error is not None:
        raise error
    return summary_of(payment.order_no) if summary else None


def _filed_by_payment_company(decl: Declaration, payment: PaymentFiling) -> None:
    """The payment company filed the payment record itself: accepted on its word (never sent
    by us), and the inventory list goes out if order and waybill are accepted already."""
    declaration_transition(
        declaration=decl, to=S.ACCEPTED, info=f"filed by {payment.filed_by}: {payment.filed_answer}"
    )
    inventory_declare(order_no=decl.order_no)


def _block(decl: Declaration, problems: list[str], clearance: OrderClearance) -> None:
    reason = "three-order comparison: " + "; ".join(problems)
    decl.state = S.BLOCKED
    decl.last_error = reason[:500]
    decl.save(update_fields=["state", "last_error"])
    supervision.hit_record(
        rule_code="three_order",
        subject=decl.order_no,
        reason=reason,
        order_no=decl.order_no,
        ebc_code=decl.ebc_code,
    )
    clearance_transition(clearance=clearance, to=C.REJECTED, reason=reason)
    # Nothing of a rejected order may still go out.
    Declaration.objects.filter(order_no=decl.order_no, state=S.PENDING).update(
        state=S.CANCELLED, state_changed_at=timezone.now()
    )


def inventory_inputs(
    clearance: OrderClearance, declarations: Iterable[Declaration]
) -> dict[str, Declaration] | None:
    """The order, payment and waybill declared to customs, by kind, once the clearance is still
    filing and all three are accepted: what the inventory list is built from; None before."""
    if clearance.state != C.FILING:
        return None
    decls = {
        d.kind: d
        for d in declarations
        if d.authority == "customs" and d.kind in ("order", "payment", "waybill")
    }
    if len(decls) < 3 or any(d.state not in ACCEPTED_OR_LATER for d in decls.values()):
        return None
    return decls


def inventory_declare(*, order_no: str) -> Declaration | None:
    """Declare the inventory list (CEB621, and to CIQ when quarantine applies) once order,
    payment and waybill are all accepted and agree. Idempotent; None while not ready."""
    with transaction.atomic():
        clearance = OrderClearance.objects.select_for_update().filter(order_no=order_no).first()
        if clearance is None or clearance.state != C.FILING:
            return None
        declared = inventory_declare_held(
            clearance=clearance, declarations=list(Declaration.objects.filter(order_no=order_no))
        )
        return declared[0] if declared else None


def inventory_declare_held(
    *,
    clearance: OrderClearance,
    declarations: list[Declaration],
    before_refusal: Callable[[], None] | None = None,
) -> list[Declaration]:
    """inventory_declare for a caller that holds the clearance locked, in its open transaction,
    and every declaration of the order as it is now (a receipt batch, whose transitions may not
    be written yet): nothing is read again and no savepoint is taken (a failure fails the
    caller's transaction). `before_refusal` runs before a three-order refusal writes, so the
    caller can write what it holds first. Returns the declarations it made (customs first, then
    CIQ), the existing customs one if it was declared before, [] while not ready or refused."""
    from customs.services.inventory import build_inventory_payload

    decls = inventory_inputs(clearance, declarations)
    if decls is None:
        return []
    existing = [d for d in declarations if d.kind == "inventory" and d.authority == "customs"]
    if existing:
        return existing[:1]
    order_no = clearance.order_no
    order, payment, waybill = decls["order"], decls["payment"], decls["waybill"]
    payload = build_inventory_payload(order=order, waybill=waybill)
    if supervision.precheck_enabled() and supervision.rule("three_order").enabled:
        problems = [
            *supervision.order_waybill_problems(order.payload, waybill.payload),
            *supervision.order_payment_problems(
                order.payload, order.id_hash, payment.payload, payment.id_hash
            ),
            *supervision.list_problems(order.payload, payload["lines"]),
        ]
        if problems:
            if before_refusal is not None:
                before_refusal()
            _block(payment, problems, clearance)
            return []
    created = [
        Declaration.objects.create(
            kind="inventory",
            authority=authority,
            order_no=order_no,
            business_no=payload["cop_no"],
            ebc_code=order.ebc_code,
            payload=payload,
            fingerprint=fingerprint(payload, order.id_hash),
            id_number=order.id_number,
            id_hash=order.id_hash,
            flagged_for_inspection=order.flagged_for_inspection,
        )
        for authority in (["customs", "ciq"] if clearance.ciq_required else ["customs"])
    ]
    clearance_transition(clearance=clearance, to=C.DECLARED, reason="inventory list declared")
    nudge_filing()
    return created
