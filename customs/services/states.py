"""The state machines: receipt codes to declaration states, and neither ever moves backwards."""

from customs.models import Declaration, OrderClearance

S = Declaration.State
C = OrderClearance.State

# returnStatus -> declaration state (DOMAIN.md); codes absent here change nothing.
STATUS_STATE: dict[int, str] = {
    1: S.SENT,
    2: S.SENT,
    3: S.SENT,
    100: S.REJECTED,
    120: S.ACCEPTED,
    300: S.REVIEW,
    399: S.CONCLUDED,
    400: S.CONCLUDED,
    500: S.INSPECTION,
    501: S.DETAINED,
    502: S.DETAINED,
    503: S.DETAINED,
    599: S.DETAINED,
    600: S.DETAINED,
    800: S.RELEASED,
    899: S.CLOSED,
}
RANK = {
    S.PENDING: 0,
    S.BLOCKED: 0,
    S.SENT: 1,
    S.ACCEPTED: 2,
    S.REVIEW: 3,
    S.CONCLUDED: 4,
    S.INSPECTION: 5,
    S.DETAINED: 6,
    S.RELEASED: 7,
    S.CLOSED: 8,
}
TERMINAL = {S.REJECTED, S.CANCELLED, S.CLOSED}
ACCEPTED_OR_LATER = {S.ACCEPTED, S.REVIEW, S.CONCLUDED, S.INSPECTION, S.DETAINED, S.RELEASED,
                     S.CLOSED}  # fmt: skip
HOLDING = {S.REVIEW, S.INSPECTION, S.DETAINED}
OUT_OF_BOND = {S.RELEASED, S.CLOSED}


def state_for_status(status: int) -> str | None:
    return STATUS_STATE.get(status)


def declaration_may_move(current: str, new: str) -> bool:
    if current in TERMINAL or current == new:
        return False
    if new in (S.REJECTED, S.CANCELLED):
        return current not in OUT_OF_BOND  # released goods can only come back by a return
    return RANK[new] > RANK[current]


CLEARANCE_RANK = {C.FILING: 0, C.DECLARED: 1, C.HELD: 2, C.RELEASED: 3, C.RETURNED: 4}
CLEARANCE_TERMINAL = {C.REJECTED, C.CANCELLED, C.RETURNED}


def clearance_may_move(current: str, new: str) -> bool:
    if current in CLEARANCE_TERMINAL or current == new:
        return False
    if new in (C.REJECTED, C.CANCELLED):
        return current not in (C.RELEASED,)
    return CLEARANCE_RANK[new] > CLEARANCE_RANK[current]


def already_held(status: int, info: str) -> bool:
    """A negative answer saying "duplicate business key" (DOMAIN.md): the authority already has
    the record, so it is a reason to ask where it stands, never a rejection."""
    text = (info or "").lower()
    return status < 0 and ("duplicate" in text or "重复" in text)
