"""An officer's inspection decision, told to the authority that holds the declaration.

The platform applies the decision at once (receipts.inspection_decide records it as an
"officer" receipt); the authority's own record is moved here, after the commit, so that its
later checks agree (the sandbox accepts a waybill's "left the zone" only on a released list).
Its answering receipt then arrives as a stale duplicate and changes nothing here.
"""

from __future__ import annotations

import logging

from customs.errors import GatewayRejected
from customs.gateway import get_transport
from customs.models import Declaration

logger = logging.getLogger(__name__)


def decision_forward(*, declaration_id: int, decision: str, note: str = "") -> str:
    """Send the decision; GatewayUnavailable propagates (the task retries). A refusal is kept
    on the declaration for staff: the authority's record and ours then differ."""
    decl = Declaration.objects.filter(pk=declaration_id).first()
    if decl is None:
        return "unknown declaration"
    try:
        get_transport().send_decision(
            authority=decl.authority, decl_guid=decl.guid, decision=decision, note=note
        )
    except GatewayRejected as exc:
        logger.warning("authority refused the inspection decision on %s: %s", decl.pk, exc)
        Declaration.objects.filter(pk=decl.pk).update(
            last_error=f"inspection decision refused: {exc}"[:500]
        )
        return "refused"
    return "sent"
