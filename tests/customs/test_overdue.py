"""An authority that accepted ("2 declaring") and then never answered again, against the real
sandbox process over HTTP: the sweep asks (status query), re-sends what the authority does not
know, takes "duplicate business key" as "it has it", and past a limit hands it to staff. The
sandbox keeps its pending receipt steps on disk, so a restart does not lose them."""

import sqlite3
import time

import pytest
from django.utils import timezone

from bonded.models import AccountBookEntry
from customs import selectors, services
from customs.models import Declaration, Receipt
from customs.services.sweep import sweep
from tests.customs.factories import order_filing, payment_filing, waybill_filing
from tests.customs.support import SandboxProcess
from tests.support import wait_until

pytestmark = pytest.mark.django_db


def _authority(sandbox, sql: str, *args):
    with sqlite3.connect(sandbox.db_path) as db:
        return db.execute(sql, args).fetchall()


def _authority_status(sandbox, guid: str) -> int | None:
    rows = _authority(
        sandbox, "SELECT status FROM records WHERE authority='customs' AND guid=?", guid
    )
    return rows[0][0] if rows else None


def _paid_orders(zone, n: int) -> list[str]:
    order_nos = []
    for _ in range(n):
        order = order_filing(zone)
        services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
        services.declaration_create_payment(payment=payment_filing(order))
        order_nos.append(order.order_no)
    return order_nos


def _lists(order_nos) -> list[Declaration]:
    return list(
        Declaration.objects.filter(order_no__in=order_nos, kind="inventory", authority="customs")
    )


def _file_until_lists_sent(order_nos, *, authority_done=lambda decl: True, timeout=60):
    """File and poll (no worker) until every order's inventory list was sent (the authority
    answered 2) and `authority_done` holds for each; returns the lists."""

    def ready():
        services.declarations_file()
        services.receipts_poll(authority="customs")
        lists = _lists(order_nos)
        sent = len(lists) == len(order_nos) and all(d.state != "pending" for d in lists)
        return lists if sent and all(authority_done(d) for d in lists) else None

    return wait_until(ready, timeout=timeout, interval=0.05)


def test_lists_the_authority_went_silent_on_are_queried_to_release(zone, sandbox, settings):
    """A dozen lists accepted, processed and released by the authority, whose receipts were
    never sent or listed: polling finds nothing, the sweep's status query releases them."""
    settings.CUSTOMS_RECEIPT_OVERDUE_SECONDS = 0
    sandbox.control(mute_after_accept=12, quiet_types=["CEB621"])
    order_nos = _paid_orders(zone, 12)

    lists = _file_until_lists_sent(
        order_nos, authority_done=lambda d: _authority_status(sandbox, d.guid) == 800
    )
    assert {d.state for d in lists} == {"sent"}  # released there, nothing told here
    assert services.receipts_poll(authority="customs") == 0
    assert {selectors.order_clearance(n).state for n in order_nos} == {"declared"}

    settings.CUSTOMS_STUCK_AFTER_SECONDS = 0  # the sweep polls too: still nothing there
    report = sweep(now=timezone.now())

    for order_no in order_nos:
        view = selectors.order_clearance(order_no)
        assert view.state == "released" and view.goods_released, order_no
        assert view.inventory_list_no.startswith("4601")
    assert report["overdue"]["moved"] == 12
    lists = _lists(order_nos)
    assert {(d.state, d.return_status, d.status_queries) for d in lists} == {("released", 800, 1)}
    assert (
        Receipt.objects.filter(
            declaration__in=lists, source="query", return_status=800, outcome="applied"
        ).count()
        == 12
    )
    # Written off once each; the next sweep has nothing left to ask.
    assert AccountBookEntry.objects.filter(
        kind="write_off", document_no__in=[selectors.order_clearance(n).inventory_list_no
                                           for n in order_nos]
    ).count() == 12  # fmt: skip
    assert sweep(now=timezone.now())["overdue"]["overdue"] == 0


def test_a_resend_answered_duplicate_business_key_is_asked_about_never_rejected(
    zone, sandbox, settings
):
    """No status query there: the sweep re-sends; the authority answers -1 "duplicate business
    key" (it has it). The order stays declared, no error; once it can be asked, it is
    released."""
    settings.CUSTOMS_RECEIPT_OVERDUE_SECONDS = 0
    sandbox.control(
        mute_after_accept=1, quiet_types=["CEB621"], status_query=False,
        duplicate_key_on_resend=True,
    )  # fmt: skip
    (order_no,) = _paid_orders(zone, 1)
    (listed,) = _file_until_lists_sent(
        [order_no], authority_done=lambda d: _authority_status(sandbox, d.guid) == 800
    )

    sweep(now=timezone.now())

    answer = Receipt.objects.get(declaration=listed, return_status=-1)  # to the re-send
    assert (answer.return_info, answer.outcome) == ("duplicate business key", "already held")
    listed.refresh_from_db()
    assert (listed.state, listed.resends, listed.status_queries) == ("sent", 1, 0)
    assert listed.last_error == "" and "duplicate business key" in listed.overdue_note
    view = selectors.order_clearance(order_no)
    assert view.state == "declared" and "duplicate" not in view.reason
    assert "rejected" not in {d.state for d in view.declarations}

    sandbox.control(status_query=True)
    sweep(now=timezone.now())

    listed.refresh_from_db()
    assert (listed.state, listed.status_queries, listed.overdue_checks) == ("released", 1, 0)
    assert selectors.order_clearance(order_no).state == "released"
    held = _authority(
        sandbox, "SELECT COUNT(*) FROM records WHERE type='CEB621' AND order_no=?", order_no
    )
    assert held == [(1,)]  # the authority holds it once


def test_a_list_the_authority_lost_is_re_sent_and_released(zone, sandbox, settings):
    settings.CUSTOMS_RECEIPT_OVERDUE_SECONDS = 0
    sandbox.control(forget_after_accept=1, quiet_types=["CEB621"])
    (order_no,) = _paid_orders(zone, 1)
    (listed,) = _file_until_lists_sent([order_no])
    assert _authority_status(sandbox, listed.guid) is None  # answered 2, then lost

    sweep(now=timezone.now())  # unknown there: re-sent under the same guid
    listed.refresh_from_db()
    assert (listed.resends, listed.status_queries) == (1, 1)
    wait_until(lambda: services.receipts_poll(authority="customs") >= 0 and
               selectors.order_clearance(order_no).state == "released", timeout=20)  # fmt: skip
    assert _authority_status(sandbox, listed.guid) == 800


def test_past_the_limit_the_list_is_flagged_for_staff_with_the_reason(
    zone, sandbox, settings, admin_client
):
    """The authority keeps answering "2 declaring" (it stopped working on it): three checks,
    then the list is flagged; staff see it in the admin filter, on the clearance and on the
    order; it is not asked again until staff hand it back."""
    settings.CUSTOMS_RECEIPT_OVERDUE_SECONDS = 0
    settings.CUSTOMS_QUERY_MAX_ATTEMPTS = 3
    sandbox.control(stall_after_accept=1, quiet_types=["CEB621"])
    (order_no,) = _paid_orders(zone, 1)
    (listed,) = _file_until_lists_sent([order_no])

    reports = [sweep(now=timezone.now())["overdue"] for _ in range(2)]
    asking = admin_client.get("/admin/customs/declaration/?overdue=asking").content.decode()
    assert order_no in asking
    reports.append(sweep(now=timezone.now())["overdue"])

    assert [r["needs_staff"] for r in reports] == [0, 0, 1]
    listed.refresh_from_db()
    assert listed.state == "sent" and listed.needs_staff
    assert (listed.status_queries, listed.overdue_checks) == (3, 3)
    reason = listed.needs_staff_reason
    assert reason.startswith("No receipt from customs since ")
    assert "(sent) after 3 checks; last: status query: 2 declaring" in reason
    assert sweep(now=timezone.now())["overdue"]["overdue"] == 0  # staff's now
    listed.refresh_from_db()
    assert listed.status_queries == 3

    (shown,) = [d for d in selectors.order_clearance(order_no).declarations if d.needs_staff]
    assert (shown.message_type, shown.needs_staff) == ("CEB621", reason)
    page = admin_client.get("/admin/customs/declaration/?overdue=staff").content.decode()
    assert order_no in page and "after 3 checks" in page
    assert (
        order_no
        not in admin_client.get("/admin/customs/declaration/?overdue=asking").content.decode()
    )
    clearances = admin_client.get("/admin/customs/orderclearance/?overdue=staff").content.decode()
    assert order_no in clearances
    clearance_pk = selectors_clearance_pk(order_no)
    detail = admin_client.get(f"/admin/customs/orderclearance/{clearance_pk}/change/")
    assert reason in detail.content.decode()

    # Staff hand it back: asked at the next sweep, counted afresh.
    admin_client.post(
        "/admin/customs/declaration/", {"action": "requery", "_selected_action": [listed.pk]}
    )
    listed.refresh_from_db()
    assert not listed.needs_staff and listed.overdue_checks == 0
    assert sweep(now=timezone.now())["overdue"]["overdue"] == 1


def selectors_clearance_pk(order_no: str) -> int:
    from customs.models import OrderClearance

    return OrderClearance.objects.get(order_no=order_no).pk


class SlowSandbox(SandboxProcess):
    """Its own sandbox (own file), each receipt step `latency_ms` later: time to kill it."""

    def __init__(self, db_path, *, latency_ms: int) -> None:
        super().__init__(db_path)
        self.latency_ms = latency_ms

    def command(self) -> list[str]:
        cmd = super().command()
        cmd[cmd.index("--latency-ms") + 1] = str(self.latency_ms)
        return cmd


def test_a_restarted_sandbox_still_sends_the_receipts_it_had_pending(zone, settings, tmp_path):
    db_path = tmp_path / "authority.sqlite3"
    first = SlowSandbox(db_path, latency_ms=8000).start()
    try:
        settings.CUSTOMS_GATEWAY_URL, settings.CUSTOMS_CIQ_URL = first.customs_url, first.ciq_url
        order = order_filing(zone)
        services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
        started = time.monotonic()
        assert services.declarations_file().sent == 2
        decls = list(Declaration.objects.filter(order_no=order.order_no))
        assert {d.state for d in decls} == {"sent"}
        assert {_authority_status(first, d.guid) for d in decls} == {2}  # steps still ahead
    finally:
        first.kill()  # SIGKILL, mid-work
    assert time.monotonic() - started < 8  # killed before any step was due

    again = SlowSandbox(db_path, latency_ms=8000).start()
    try:
        settings.CUSTOMS_GATEWAY_URL, settings.CUSTOMS_CIQ_URL = again.customs_url, again.ciq_url

        def accepted():
            services.receipts_poll(authority="customs")
            states = set(
                Declaration.objects.filter(order_no=order.order_no).values_list("state", flat=True)
            )
            return states == {"accepted"}

        wait_until(accepted, timeout=40)
        assert {_authority_status(again, d.guid) for d in decls} == {120}
        assert _authority(again, "SELECT COUNT(*) FROM steps") == [(0,)]
        receipts = Receipt.objects.filter(order_no=order.order_no, return_status=120)
        assert receipts.count() == 2 and {r.source for r in receipts} == {"poll"}
    finally:
        again.stop()
