"""Withdrawing filings: cancellation of unreleased orders (CEB623) and returns (CEB625)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customs import errors
from customs.filings import ReturnFiling
from customs.models import Declaration, OrderClearance
from customs.services.clearance import clearance_transition
from customs.services.declarations import fingerprint, nudge_filing, summary_of

S = Declaration.State
C = OrderClearance.State


def declarations_cancel_for_order(*, order_no: str, reason: str):
    """Cancel an expired or cancelled order: unsent declarations are dropped here; a declared
    inventory list is withdrawn with CEB623. Released goods need a return instead."""
    from customs.services.inventory import cancel_payload

    with transaction.atomic():
        clearance = OrderClearance.objects.select_for_update().filter(order_no=order_no).first()
        if clearance is None:
            return None
        if clearance.state in (C.RELEASED, C.RETURNED):
            raise errors.IllegalTransition(
                _("Order %(order_no)s was released; file a return request instead.")
                % {"order_no": order_no},
                extra={"state": clearance.state},
            )
        if clearance.state in (C.CANCELLED, C.REJECTED):
            return summary_of(order_no)
        inventory = Declaration.objects.filter(
            kind="inventory", authority="customs", order_no=order_no
        ).first()
        if inventory is not None and _may_be_at_the_authority(inventory):
            payload = cancel_payload(inventory=inventory, invt_no=clearance.invt_no, reason=reason)
            _cancel, created = Declaration.objects.get_or_create(
                kind="cancel",
                authority="customs",
                order_no=order_no,
                business_no=inventory.business_no,
                defaults={
                    "ebc_code": inventory.ebc_code,
                    "payload": payload,
                    "fingerprint": fingerprint(payload),
                    "id_number": inventory.id_number,
                    "id_hash": inventory.id_hash,
                },
            )
            if created:
                nudge_filing()
            return summary_of(order_no)
        for decl in Declaration.objects.filter(order_no=order_no).exclude(
            state__in=[S.REJECTED, S.CANCELLED, S.CLOSED]
        ):
            decl.state = S.CANCELLED
            decl.state_changed_at = timezone.now()
            decl.save(update_fields=["state", "state_changed_at"])
        clearance_transition(clearance=clearance, to=C.CANCELLED, reason=reason)
    return summary_of(order_no)


def _may_be_at_the_authority(inventory: Declaration) -> bool:
    """Whether the authority may hold the list, so only a CEB623 withdraws it. A pending list
    counts when a send was tried (a timeout may have reached the authority) or is under way
    (leased): the next push files it and then its CEB623, in that order (filing.KIND_ORDER)."""
    if inventory.state == S.REJECTED:
        return False
    if inventory.state != S.PENDING:
        return True
    in_flight = inventory.lease_until is not None and inventory.lease_until > timezone.now()
    return inventory.attempts > 0 or in_flight


def declaration_create_return(*, filing: ReturnFiling):
    """Request a return (CEB625) of released goods; on approval they go back into bond."""
    from customs.services.inventory import return_payload

    with transaction.atomic():
        clearance = (
            OrderClearance.objects.select_for_update().filter(order_no=filing.order_no).first()
        )
        if clearance is None or clearance.state != C.RELEASED:
            raise errors.IllegalTransition(
                _("Only released orders can be returned (order %(order_no)s).")
                % {"order_no": filing.order_no},
                extra={"state": getattr(clearance, "state", None)},
            )
        inventory = Declaration.objects.get(
            kind="inventory", authority="customs", order_no=filing.order_no
        )
        payload = return_payload(inventory=inventory, invt_no=clearance.invt_no, filing=filing)
        decl, created = Declaration.objects.get_or_create(
            kind="return",
            authority="customs",
            order_no=filing.order_no,
            business_no=filing.return_no,
            defaults={
                "ebc_code": inventory.ebc_code,
                "payload": payload,
                "fingerprint": fingerprint(payload),
                "id_number": inventory.id_number,
                "id_hash": inventory.id_hash,
            },
        )
        if created:
            nudge_filing()
        return decl
