"""The state machines never move backwards, whatever order receipts arrive in."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customs.services.states import (
    RANK,
    STATUS_STATE,
    TERMINAL,
    clearance_may_move,
    declaration_may_move,
)

STATUSES = sorted(STATUS_STATE)


def _apply(statuses: list[int]) -> list[str]:
    state, seen = "pending", ["pending"]
    for status in statuses:
        new = STATUS_STATE[status]
        if declaration_may_move(state, new):
            state = new
            seen.append(state)
    return seen


@given(st.lists(st.sampled_from(STATUSES), max_size=12))
def test_declaration_state_never_moves_backwards(statuses):
    seen = _apply(statuses)
    ranks = [RANK.get(s, 99) for s in seen]
    assert ranks == sorted(ranks)
    assert all(s not in TERMINAL for s in seen[:-1])  # nothing after a terminal state


@given(st.permutations([2, 120, 399, 800]))
def test_any_order_of_a_clean_clearance_ends_released(statuses):
    assert _apply(statuses)[-1] == "released"


def test_released_goods_are_never_rejected_or_cancelled():
    assert not declaration_may_move("released", "rejected")
    assert not declaration_may_move("released", "cancelled")
    assert declaration_may_move("inspection", "rejected")
    assert not clearance_may_move("released", "rejected")
    assert clearance_may_move("released", "returned")
    assert not clearance_may_move("held", "declared")


@pytest.mark.django_db
def test_staff_read_the_clearance_over_the_api(admin_client, zone):
    from customs import services
    from tests.customs.factories import order_filing, waybill_filing

    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    response = admin_client.get(f"/api/v1/customs/orders/{order.order_no}/clearance")
    assert response.status_code == 200 and response.json()["state"] == "filing"
    missing = admin_client.get("/api/v1/customs/orders/NOPE/clearance")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
