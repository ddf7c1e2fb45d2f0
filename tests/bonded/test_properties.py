"""Random sequences of ledger operations keep every invariant (hypothesis)."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bonded.services import (
    StockLine,
    reservation_confirm,
    reservation_release,
    reservation_release_from_bond,
    stock_issue,
    stock_receive,
    stock_reserve,
    stock_transfer,
    stocktake_count,
    stocktake_open,
    stocktake_post,
)
from config.errors import DomainError
from tests.bonded.conftest import build_zone
from tests.bonded.invariants import assert_ledger_consistent

ITEMS = 3
qty = st.integers(min_value=1, max_value=8)
item = st.integers(min_value=0, max_value=ITEMS - 1)
order = st.integers(min_value=0, max_value=5)

order_lines = st.lists(st.tuples(item, qty), min_size=1, max_size=3)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), item, qty),
        st.tuples(
            st.just("reserve"), order, st.lists(st.tuples(item, qty), min_size=1, max_size=3)
        ),
        st.tuples(st.just("confirm"), order),
        st.tuples(st.just("release"), order),
        st.tuples(st.just("clear"), order, st.sampled_from(["C1", "ZZ-DOCK"])),
        st.tuples(st.just("issue"), order),
        st.tuples(st.just("transfer"), item, qty, st.booleans()),
        st.tuples(st.just("count"), item, st.integers(min_value=0, max_value=20)),
    ),
    max_size=25,
)


def apply(zone, step: int, op: tuple) -> None:
    kind, *args = op
    items = [i.item_no for i in zone.items]
    if kind == "receive":
        stock_receive(
            reference=f"R{step}",
            location_code="ZZ-A",
            entry_declaration_no=f"E{step}",
            lines=[StockLine(items[args[0]], args[1])],
            actor="prop",
        )
    elif kind == "reserve":
        stock_reserve(
            reference=f"BP{args[0]}",
            location_code="ZZ-A",
            lines=[StockLine(items[i], q, line_no=n + 1) for n, (i, q) in enumerate(args[1])],
        )
    elif kind == "confirm":
        reservation_confirm(reference=f"BP{args[0]}")
    elif kind == "release":
        reservation_release(reference=f"BP{args[0]}", reason="prop")
    elif kind == "clear":
        reservation_release_from_bond(
            reference=f"BP{args[0]}", inventory_list_no=f"I{args[0]}", destination_code=args[1]
        )
    elif kind == "issue":
        stock_issue(reference=f"BP{args[0]}", actor="prop")
    elif kind == "transfer":
        source, target = ("ZZ-A", "ZZ-INSP") if args[2] else ("ZZ-INSP", "ZZ-A")
        stock_transfer(
            reference=f"T{step}",
            from_code=source,
            to_code=target,
            lines=[StockLine(items[args[0]], args[1])],
            actor="prop",
        )
    elif kind == "count":
        stocktake_open(reference=f"ST{step}", location_code="ZZ-A", actor="prop")
        stocktake_count(reference=f"ST{step}", item_no=items[args[0]], counted=args[1])
        stocktake_post(reference=f"ST{step}", reason="prop", actor="prop")


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_random_operations_keep_every_invariant(ops):
    with transaction.atomic():
        zone = build_zone(items=ITEMS, stock=5)
        counted = False
        for step, op in enumerate(ops):
            try:
                with transaction.atomic():
                    apply(zone, step, op)
            except DomainError:
                pass  # a refusal is fine; it must leave no trace, which the check below proves
            counted |= op[0] == "count"
            assert_ledger_consistent(book_matches=not counted)
        transaction.set_rollback(True)
