"""Pickup writes: kiosks, pickup codes, the checks at the counter, handover, the walk-in flow."""

from pickup.services.codes import pickup_code_issue, pickups_mark_overdue
from pickup.services.handover import (
    HandoverResult,
    pickup_code_check,
    pickup_handover,
    pickup_identity_check,
)
from pickup.services.kiosks import kiosk_authenticate, kiosk_create, kiosk_revoke

__all__ = [
    "HandoverResult",
    "kiosk_authenticate",
    "kiosk_create",
    "kiosk_revoke",
    "pickup_code_check",
    "pickup_code_issue",
    "pickup_handover",
    "pickup_identity_check",
    "pickups_mark_overdue",
]
