"""Inspection decisions: a customs officer's, carried out by the authority.

Recording a decision changes nothing on the declaration: it stores an InspectionDecision and,
after the commit, sends it to the authority that holds the list (`POST <gateway>/decisions`).
The declaration and the order's clearance move only when the authority's receipt (800
released or 100 rejected) comes back, pushed or polled, like every other receipt. A decision
the authority has not acknowledged stays pending, with its attempts and last error, and the
sweep sends it again (the authority answers a repeat as before); a refusal is kept for staff.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.tasks import send_on_commit
from customs import errors
from customs.gateway import get_transport
from customs.models import Declaration, InspectionDecision
from customs.roles import is_customs_officer

logger = logging.getLogger(__name__)
S = Declaration.State
D = InspectionDecision.State
DECIDABLE = (S.INSPECTION, S.DETAINED, S.REVIEW)


def inspection_decision_record(
    *, declaration_id: int, decision: str, reason: str, officer
) -> InspectionDecision:
    """Record an officer's decision on a held declaration and send it after the commit."""
    if not is_customs_officer(officer):
        raise errors.NotCustomsOfficer(
            _("Only a customs officer may decide an inspection; ask customs to decide it.")
        )
    if decision not in InspectionDecision.Decision.values:
        raise errors.CustomsError(_("Decide release or reject."), code="customs_bad_decision")
    reason = (reason or "").strip()
    if not reason:
        raise errors.CustomsError(
            _("Give the reason for the decision; it is sent to the authority."),
            code="customs_decision_reason",
        )
    with transaction.atomic():
        decl = Declaration.objects.select_for_update().filter(pk=declaration_id).first()
        if decl is None or decl.state not in DECIDABLE:
            raise errors.IllegalTransition(
                _("Only declarations under review or inspection can be decided."),
                extra={"state": getattr(decl, "state", None)},
            )
        if decl.inspection_decisions.filter(state=D.PENDING).exists():
            raise errors.DecisionPending(
                _(
                    "A decision on order %(order_no)s is waiting for the authority's "
                    "acknowledgement; it is sent again until the authority answers."
                )
                % {"order_no": decl.order_no},
            )
        row = InspectionDecision.objects.create(
            declaration=decl, decision=decision, reason=reason[:500], officer=officer
        )
        send_on_commit("customs.tasks.inspection_decision_send", kwargs={"decision_id": row.pk})
    return row


def inspection_decision_send(*, decision_id: int) -> str:
    """Send one pending decision (no lock held over HTTP). GatewayUnavailable is counted on
    the decision and raised (the task retries; after that, the sweep); a 4xx is the
    authority's refusal and final for this decision."""
    row = InspectionDecision.objects.select_related("declaration").filter(pk=decision_id).first()
    if row is None:
        return "unknown"
    if row.state != D.PENDING:
        return row.state
    decl = row.declaration
    pending = InspectionDecision.objects.filter(pk=row.pk, state=D.PENDING)
    now = timezone.now()
    try:
        get_transport().send_decision(
            authority=decl.authority, decl_guid=decl.guid, decision=row.decision, note=row.reason
        )
    except errors.GatewayUnavailable as exc:
        pending.update(attempts=F("attempts") + 1, last_error=str(exc)[:500], last_attempt_at=now)
        raise
    except errors.GatewayRejected as exc:
        logger.warning("authority refused inspection decision %s: %s", row.pk, exc.message)
        pending.update(
            state=D.REFUSED,
            attempts=F("attempts") + 1,
            last_error=exc.message[:500],
            last_attempt_at=now,
            answered_at=now,
        )
        return D.REFUSED
    pending.update(
        state=D.ACKNOWLEDGED,
        attempts=F("attempts") + 1,
        last_error="",
        last_attempt_at=now,
        answered_at=now,
    )
    return D.ACKNOWLEDGED


def inspection_decisions_resend(*, limit: int = 100) -> dict[str, int]:
    """The sweep: send every decision still unacknowledged, oldest first. An authority that is
    still down is not tried again in this round (its other decisions wait for the next)."""
    counts = {"acknowledged": 0, "refused": 0, "unavailable": 0}
    down: set[str] = set()
    rows = (
        InspectionDecision.objects.filter(state=D.PENDING)
        .order_by("created_at", "id")
        .values_list("pk", "declaration__authority")[:limit]
    )
    for pk, authority in rows:
        if authority in down:
            counts["unavailable"] += 1
            continue
        try:
            outcome = inspection_decision_send(decision_id=pk)
        except errors.GatewayUnavailable as exc:
            logger.info("inspection decision %s not sent: %s", pk, exc)
            down.add(authority)
            counts["unavailable"] += 1
            continue
        if outcome in counts:
            counts[outcome] += 1
    return counts
