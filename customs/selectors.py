"""Reads for the apps above and the admin: "what is this order's clearance, and why"."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import DateTimeField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from customs.models import ClearanceEvent, Declaration, OrderClearance, RiskHit


@dataclass(frozen=True)
class DeclarationView:
    message_type: str
    authority: str
    state: str
    return_status: int | None
    return_info: str
    sent_at: datetime | None
    needs_staff: str = ""  # why staff must look: the authority stopped answering (overdue)


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

    @property
    def is_final(self) -> bool:
        return self.state in ("released", "returned", "rejected", "cancelled")


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


VIEW_FIELDS = ["kind", "authority", "state", "return_status", "return_info", "last_error",
               "sent_at", "state_changed_at", "needs_staff_at", "needs_staff_reason"]  # fmt: skip


def order_clearance(order_no: str) -> ClearanceView | None:
    clearance = OrderClearance.objects.filter(order_no=order_no).first()
    if clearance is None:
        return None
    # Only what the view shows: the payloads and the encrypted resident IDs stay unread.
    decls = (
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
