"""Reads for the apps above and the admin: "what is this order's clearance, and why"."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import DateTimeField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from customs.models import ClearanceEvent, Declaration, OrderClearance, ReturnIntake, RiskHit


@dataclass(frozen=True)
class DeclarationView:
    message_type: str
    authority: str
    state: str
    return_status: int | None
    return_info: str
    sent_at: datetime | None
    needs_staff: str = ""  # why staff must look: the authority stopped answering (overdue)

    @property
    def state_label(self) -> str:
        """The state in the reader's language (pages never show the code)."""
        return str(Declaration.State(self.state).label)

    @property
    def authority_label(self) -> str:
        return str(Declaration.Authority(self.authority).label)


@dataclass(frozen=True)
class WithdrawalView:
    """The cancelled order's CEB623 as customs knows it: `waiting` (not sent yet), `filed`
    (sent, no final answer yet), `confirmed` (the authority cancelled the list) or `refused`
    (why in `info`)."""

    state: str
    info: str
    sent_at: datetime | None


WITHDRAWAL_STATES = {"pending": "waiting", "blocked": "waiting", "concluded": "confirmed",
                     "released": "confirmed", "closed": "confirmed", "cancelled": "confirmed",
                     "rejected": "refused"}  # fmt: skip


def _withdrawal(decls) -> WithdrawalView | None:
    cancel = next((d for d in decls if d.kind == "cancel"), None)
    if cancel is None:
        return None
    return WithdrawalView(
        state=WITHDRAWAL_STATES.get(cancel.state, "filed"),
        info=cancel.return_info or cancel.last_error,
        sent_at=cancel.sent_at,
    )


@dataclass(frozen=True)
class ClearanceView:
    order_no: str
    state: str  # filing | declared | held | released | returned | rejected | cancelled
    reason: str  # why (the authority's returnInfo, or the pre-check's finding)
    ciq_required: bool
    inventory_list_no: str
    goods_released: bool  # goods written off and moved to the counter or dock
    changed_at: datetime
    declarations: tuple[DeclarationView, ...]
    history: tuple[tuple[str, str, str, datetime], ...]  # (from, to, reason, at)
    withdrawal: WithdrawalView | None = None  # a cancelled order's CEB623, once filed

    @property
    def is_final(self) -> bool:
        return self.state in ("released", "returned", "rejected", "cancelled")

    @property
    def state_label(self) -> str:
        """The state in the reader's language (pages never show the code)."""
        return str(OrderClearance.State(self.state).label)

    @property
    def reason_for_staff(self) -> str:
        """The authority's or the pre-check's reason where it explains a stop (rejected, held,
        cancelled); a released or filing order's reason is our own bookkeeping phrase."""
        return self.reason if self.state in ("rejected", "held", "cancelled") else ""


@dataclass(frozen=True)
class ClearanceChange:
    """The little a listener follows: state, reason, and when the order message was filed."""

    order_no: str
    state: str
    reason: str
    filed_at: datetime | None  # the order message's (CEB311) sending, once in `filed_states`


def clearance_change(order_no: str, *, filed_states: Iterable[str]) -> ClearanceChange | None:
    """One statement (order_clearance reads three): the listener runs on every change.

    `filed_at` is the sent time of the oldest customs order message in one of `filed_states`
    (the clearance's last change when it has none), as order_clearance's view gives it."""
    filed = (
        Declaration.objects.filter(
            order_no=OuterRef("order_no"),
            kind="order",
            authority="customs",
            state__in=list(filed_states),
        )
        .order_by("created_at", "id")
        .annotate(
            stamp=Coalesce("sent_at", OuterRef("state_changed_at"), output_field=DateTimeField())
        )
        .values("stamp")[:1]
    )
    row = (
        OrderClearance.objects.filter(order_no=order_no)
        .annotate(filed_at=Subquery(filed))
        .values_list("state", "reason", "filed_at")
        .first()
    )
    if row is None:
        return None
    state, reason, filed_at = row
    return ClearanceChange(order_no=order_no, state=state, reason=reason, filed_at=filed_at)


def clearance_changes(
    order_nos: Iterable[str], *, filed_states: Iterable[str]
) -> dict[str, ClearanceChange]:
    """clearance_change for many orders in one statement (the inline listener's batch)."""
    filed = (
        Declaration.objects.filter(
            order_no=OuterRef("order_no"),
            kind="order",
            authority="customs",
            state__in=list(filed_states),
        )
        .order_by("created_at", "id")
        .annotate(
            stamp=Coalesce("sent_at", OuterRef("state_changed_at"), output_field=DateTimeField())
        )
        .values("stamp")[:1]
    )
    rows = (
        OrderClearance.objects.filter(order_no__in=list(order_nos))
        .annotate(filed_at=Subquery(filed))
        .values_list("order_no", "state", "reason", "filed_at")
    )
    return {
        order_no: ClearanceChange(order_no=order_no, state=state, reason=reason, filed_at=filed_at)
        for order_no, state, reason, filed_at in rows
    }


VIEW_FIELDS = ["kind", "authority", "state", "return_status", "return_info", "last_error",
               "sent_at", "state_changed_at", "needs_staff_at", "needs_staff_reason"]  # fmt: skip


def order_clearance(order_no: str) -> ClearanceView | None:
    clearance = OrderClearance.objects.filter(order_no=order_no).first()
    if clearance is None:
        return None
    # Only what the view shows: the payloads and the encrypted resident IDs stay unread.
    decls = list(
        Declaration.objects.filter(order_no=order_no)
        .only(*VIEW_FIELDS)
        .order_by("created_at", "id")
    )
    events = ClearanceEvent.objects.filter(clearance=clearance)
    return ClearanceView(
        order_no=order_no,
        state=clearance.state,
        reason=clearance.reason,
        ciq_required=clearance.ciq_required,
        inventory_list_no=clearance.invt_no,
        goods_released=clearance.goods_released_at is not None,
        changed_at=clearance.state_changed_at,
        declarations=tuple(
            DeclarationView(
                message_type=d.message_type,
                authority=d.authority,
                state=d.state,
                return_status=d.return_status,
                return_info=d.return_info or d.last_error,
                sent_at=d.sent_at,
                needs_staff=d.needs_staff_reason if d.needs_staff else "",
            )
            for d in decls
        ),
        history=tuple((e.from_state, e.to_state, e.reason, e.created_at) for e in events),
        withdrawal=_withdrawal(decls),
    )


@dataclass(frozen=True)
class ClearanceStatus:
    state: str
    goods_released: bool
    changed_at: datetime


def clearance_status(order_no: str) -> ClearanceStatus | None:
    """The clearance's state alone, one row: for guards that need no declarations or history."""
    row = (
        OrderClearance.objects.filter(order_no=order_no)
        .values_list("state", "goods_released_at", "state_changed_at")
        .first()
    )
    if row is None:
        return None
    state, goods_released_at, changed_at = row
    return ClearanceStatus(state, goods_released_at is not None, changed_at)


@dataclass(frozen=True)
class WaybillView:
    """The waybill as filed (CEB511) and its status reports (CEB513) with customs' answer."""

    order_no: str
    logistics_code: str
    logistics_no: str
    declared_weight: Decimal  # gross kg told to customs
    pack_no: int
    statuses: tuple[tuple[str, str, str], ...]  # (logisticsStatus, declaration state, info)

    def status_state(self, status: str) -> str | None:
        return next((state for code, state, _info in self.statuses if code == status), None)


def waybill_for(order_no: str) -> WaybillView | None:
    return waybills_for([order_no]).get(order_no)


def waybills_for(order_nos: Iterable[str]) -> dict[str, WaybillView]:
    """The filed waybills of many orders, by order number, in two queries."""
    order_nos = list(order_nos)
    reports: dict[str, list[Declaration]] = defaultdict(list)
    for report in Declaration.objects.filter(
        kind="waybill_status", order_no__in=order_nos
    ).order_by("id"):
        reports[report.order_no].append(report)
    views: dict[str, WaybillView] = {}
    waybills = Declaration.objects.filter(
        kind="waybill", authority="customs", order_no__in=order_nos
    ).order_by("id")
    for waybill in waybills:
        if waybill.order_no in views:
            continue
        p = waybill.payload
        views[waybill.order_no] = WaybillView(
            order_no=waybill.order_no,
            logistics_code=p["logistics_code"],
            logistics_no=p["logistics_no"],
            declared_weight=Decimal(str(p["weight"])),
            pack_no=int(p.get("pack_no") or 1),
            statuses=tuple(
                (d.payload["status"], d.state, d.return_info or d.last_error)
                for d in reports[waybill.order_no]
            ),
        )
    return views


def clearances_changed_since(since: datetime) -> QuerySet[OrderClearance]:
    """For a listener's own sweep: orders whose clearance changed after `since`."""
    return OrderClearance.objects.filter(state_changed_at__gt=since).order_by("state_changed_at")


def inspection_queue() -> QuerySet[Declaration]:
    return Declaration.objects.filter(
        kind="inventory", state__in=["inspection", "detained", "review"]
    ).order_by("state_changed_at")


def hits_for(order_no: str) -> QuerySet[RiskHit]:
    return RiskHit.objects.filter(order_no=order_no)


def returns_awaiting_scan_in() -> QuerySet[ReturnIntake]:
    """Returns customs approved whose goods the warehouse has not scanned in yet."""
    return ReturnIntake.objects.filter(scanned_at__isnull=True).order_by("approved_at", "id")


def returns_not_in_bond() -> QuerySet[ReturnIntake]:
    """Scanned in, but the return into bond has not succeeded yet (retried, or flagged)."""
    return ReturnIntake.objects.filter(
        scanned_at__isnull=False, into_bond_at__isnull=True
    ).order_by("scanned_at", "id")


def return_intake(number: str) -> ReturnIntake | None:
    """An approved return by its return number or its order's number."""
    number = number.strip()
    if not number:
        return None
    found = ReturnIntake.objects.filter(return_no=number).first()
    return found or ReturnIntake.objects.filter(order_no=number).order_by("-id").first()


def order_buyer(*, order_no: str) -> dict | None:
    """The buyer the order was declared with (CEB311): name and the resident ID's keyed hash
    (never the ID); None before it is declared."""
    decl = (
        Declaration.objects.filter(kind="order", authority="customs", order_no=order_no)
        .only("payload", "id_hash")
        .order_by("id")
        .first()
    )
    if decl is None:
        return None
    return {"buyer_name": decl.payload.get("buyer_name", ""), "id_hash": decl.id_hash}
