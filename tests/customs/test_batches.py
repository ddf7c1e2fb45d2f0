"""Batch paths of the pipeline (issue #19): many orders per task and per transaction, each
receipt applied once, duplicates ignored, the marketplace told inline without a task."""

import pytest
from celery import current_app
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customs import services, tasks
from customs.models import Declaration, GatewayMessage, Receipt
from tests.customs.factories import order_filing, payment_filing, waybill_filing

pytestmark = pytest.mark.django_db


def _statements(queries) -> int:
    """Statements on our tables: the database cache of the embedded default (Redis in
    production) and transaction control are not counted."""
    return sum(
        not q["sql"].startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))
        and "bondport_cache" not in q["sql"]
        for q in queries.captured_queries
    )


def _orders(zone, n: int) -> list[str]:
    numbers = []
    for _ in range(n):
        order = order_filing(zone)
        services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
        numbers.append(order.order_no)
    return numbers


def test_one_filing_task_sends_every_due_declaration_in_a_fixed_number_of_statements(
    zone, sandbox, monkeypatch
):
    monkeypatch.setattr(current_app, "send_task", lambda *a, **k: None)
    counts = {}
    for n in (2, 6):
        numbers = _orders(zone, n)
        with CaptureQueriesContext(connection) as queries:
            sent = tasks.declarations_push()
        counts[n] = _statements(queries)
        assert sent == 2 * n  # order and waybill of each, in this one task
        decls = Declaration.objects.filter(order_no__in=numbers)
        assert {d.state for d in decls} == {"sent"}
        # One message per kind (CEB311 orders, CEB511 waybills) carrying all n records.
        messages = GatewayMessage.objects.filter(pk__in={d.message_id for d in decls})
        assert sorted(m.record_count for m in messages) == [n, n]
    # K statements whatever N: claim (2), then per message 4 writes and 3 for its answers.
    assert counts[2] == counts[6] <= 16, counts


def _receipt(decl, guid: str, status: int, invt_no: str = "") -> dict:
    return {"guid": guid, "declGuid": decl.guid, "orderNo": decl.order_no,
            "returnStatus": status, "invtNo": invt_no, "authority": "customs"}  # fmt: skip


def test_receipts_due_applies_many_pushes_in_one_batch_each_once_duplicates_ignored(
    zone, monkeypatch
):
    monkeypatch.setattr(current_app, "send_task", lambda *a, **k: None)
    orders = []
    for _ in range(3):
        order = order_filing(zone)
        services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
        services.declaration_create_payment(payment=payment_filing(order))
        orders.append(order.order_no)
    Declaration.objects.filter(order_no__in=orders).update(state="sent")
    decls = list(Declaration.objects.filter(order_no__in=orders).order_by("pk"))
    first = [_receipt(d, f"A-{d.pk}", 120) for d in decls]
    second = [_receipt(d, f"A-{d.pk}", 120) for d in decls[:4]]  # the same guids again
    ids = services.receipts_record(receipts=first, source="push")
    assert services.receipts_record(receipts=second, source="push") == []
    assert len(ids) == len(decls) == 9

    with CaptureQueriesContext(connection) as queries:
        assert tasks.receipts_due() == 9
    # One batch for three orders: claim, lock receipts, declarations and clearances, read the
    # declarations, mark applied; per order the transitions, its inventory list and the release
    # of the clearance to "declared"; nothing per receipt beyond its transition.
    batch_statements = _statements(queries)
    assert tasks.receipts_due() == 0  # nothing twice
    assert Receipt.objects.filter(applied_at__isnull=True).count() == 0
    assert set(Receipt.objects.values_list("outcome", flat=True)) == {"applied"}
    for order_no in orders:
        states = dict(Declaration.objects.filter(order_no=order_no).values_list("kind", "state"))
        assert states == {"order": "accepted", "waybill": "accepted", "payment": "accepted",
                          "inventory": "pending"}  # fmt: skip
    assert batch_statements < 9 * 6, batch_statements


def test_a_receipt_that_fails_is_left_for_the_sweep_and_holds_back_no_other(zone, monkeypatch):
    monkeypatch.setattr(current_app, "send_task", lambda *a, **k: None)
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    Declaration.objects.filter(order_no=order.order_no).update(state="sent")
    good, bad = Declaration.objects.filter(order_no=order.order_no).order_by("pk")
    services.receipts_record(
        receipts=[_receipt(bad, "BAD", 120), _receipt(good, "GOOD", 120)], source="push"
    )
    from customs.services import receipts as module

    real = module._Batch.apply

    def apply(self):
        if "BAD" in {r.guid for r in self.receipts.values()}:
            raise RuntimeError("boom")
        return real(self)

    monkeypatch.setattr(module._Batch, "apply", apply)
    assert tasks.receipts_due() == 1
    assert Receipt.objects.get(guid="GOOD").applied_at is not None
    assert Receipt.objects.get(guid="BAD").applied_at is None  # the sweep tries it again
    good.refresh_from_db()
    assert good.state == "accepted"


def test_under_load_a_coalesced_task_waits_out_the_linger_and_quiet_sends_at_once(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    from config import tasks as platform_tasks
    from customs.services.declarations import nudge_filing

    settings.TASK_COALESCE_LINGER_SECONDS = 0.5
    push = "customs.tasks.declarations_push"
    sent = []
    monkeypatch.setattr(
        current_app, "send_task", lambda name, **kw: sent.append(kw.get("countdown", 0))
    )
    with django_capture_on_commit_callbacks(execute=True):
        nudge_filing()  # quiet: nothing started lately, sent without delay
    platform_tasks.coalesced_task_started(push)  # a worker took it just now
    with django_capture_on_commit_callbacks(execute=True):
        nudge_filing()  # busy: waits out the linger so that later work joins it
        nudge_filing()  # joins the queued one
    assert sent[0] == 0 and 0.3 < sent[1] <= 0.5 and len(sent) == 2
    monkeypatch.setattr(platform_tasks.time, "time", lambda: 10**10)  # long after the start
    platform_tasks.coalesced_task_started(push)
    monkeypatch.setattr(platform_tasks.time, "time", lambda: 10**10 + 5)
    with django_capture_on_commit_callbacks(execute=True):
        nudge_filing()
    assert sent[2] == 0
