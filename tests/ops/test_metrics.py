"""/metrics: each figure an operator watches, set up by a scenario and read off the endpoint."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from celery import current_app
from django.conf import settings
from django.utils import timezone

from bonded.models import Reservation
from bonded.services import StockLine, stock_receive, stock_reserve
from bonded.tasks import expire_reservations
from config.tasks import worker_heartbeat
from customs.models import Declaration, Receipt
from dispatch.models import Shipment
from marketplace.models import Payment, SandboxCharge
from ops.queues import queue_depths
from tests.bonded.factories import GoodsItemFactory, LocationFactory
from tests.marketplace.factories import OrderFactory, ShopperFactory
from tests.ops.support import scrape

pytestmark = pytest.mark.django_db
AGO = dt.timedelta
_numbers = itertools.count(1)


def ago(**kw) -> dt.datetime:
    return timezone.now() - AGO(**kw)


def declaration(state: str, *, kind="inventory", authority="customs", **fields):
    return Declaration.objects.create(
        kind=kind, authority=authority, order_no=f"BP-M{next(_numbers):05d}", ebc_code="4101960001",
        payload={}, fingerprint="x", state=state, **fields,
    )  # fmt: skip


def test_orders_by_state_and_two_paid_orders_not_final_after_n_minutes(client):
    minutes = settings.METRICS_PAID_NOT_FINAL_MINUTES
    shopper = ShopperFactory()
    OrderFactory(shopper=shopper, state="paid", paid_at=ago(minutes=minutes + 1))
    OrderFactory(shopper=shopper, state="paid", paid_at=ago(minutes=minutes + 60))
    OrderFactory(shopper=shopper, state="paid", paid_at=ago(minutes=minutes - 5))  # not late yet
    OrderFactory(shopper=shopper, state="held", paid_at=ago(minutes=minutes + 1))
    OrderFactory(shopper=shopper, state="released", paid_at=ago(hours=3))
    OrderFactory(shopper=shopper, state="placed")
    m = scrape(client)
    assert m.value("bondport_paid_orders_not_final", state="paid") == 2
    assert m.value("bondport_paid_orders_not_final", state="held") == 1
    assert m.value("bondport_orders", state="paid") == 3
    assert m.value("bondport_orders", state="released") == 1
    assert m.value("bondport_orders", state="placed") == 1
    assert m.value("bondport_orders", state="delivered") == 0  # every state, zeros included


def test_declarations_waiting_in_flight_failed_per_authority_and_kind(client):
    declaration("pending", kind="order", authority="ciq", created_at=ago(minutes=10))
    declaration("pending", kind="order", authority="ciq", created_at=ago(minutes=2))
    declaration("sent", kind="payment")
    declaration("accepted", kind="inventory")
    declaration("rejected", kind="inventory")
    declaration("blocked", kind="order")
    declaration("rejected", kind="waybill", state_changed_at=ago(hours=30))  # outside the window
    declaration("released", kind="inventory")  # done: in none of them
    m = scrape(client)
    assert m.value("bondport_declarations_waiting", authority="ciq", kind="order") == 2
    assert m.value("bondport_declarations_waiting", authority="customs", kind="order") == 0
    assert m.value("bondport_declarations_in_flight", authority="customs", kind="payment") == 1
    assert m.value("bondport_declarations_in_flight", authority="customs", kind="inventory") == 1
    assert m.value("bondport_declarations_failed", authority="customs", kind="inventory") == 1
    assert m.value("bondport_declarations_failed", authority="customs", kind="order") == 1
    assert m.value("bondport_declarations_failed", authority="customs", kind="waybill") == 0
    age = m.value("bondport_oldest_unfiled_declaration_age_seconds")
    assert 600 <= age < 660


def test_declaration_handed_to_staff_by_the_overdue_check(client):
    moved = ago(hours=2)
    declaration("accepted", kind="inventory", state_changed_at=moved, needs_staff_at=ago(hours=1))
    declaration("concluded", kind="inventory", state_changed_at=ago(minutes=5),
                needs_staff_at=ago(hours=1))  # a receipt came since: not stuck  # fmt: skip
    m = scrape(client)
    assert m.value("bondport_declarations_needs_staff", authority="customs", kind="inventory") == 1


def test_oldest_unapplied_receipt_and_none_gives_zero(client):
    assert scrape(client).value("bondport_oldest_unapplied_receipt_age_seconds") == 0
    rows = [("R1", ago(minutes=3), None), ("R2", ago(hours=5), ago(hours=5))]
    for guid, received, applied in rows:
        Receipt.objects.create(
            guid=guid, source="push", authority="customs", decl_guid="G", order_no="BP1",
            return_status=120, return_time=received, received_at=received, applied_at=applied,
        )  # fmt: skip
    age = scrape(client).value("bondport_oldest_unapplied_receipt_age_seconds")
    assert 180 <= age < 240


def test_inspection_queue_length_and_oldest(client):
    declaration("inspection", state_changed_at=ago(minutes=40))
    declaration("review")
    declaration("detained")
    declaration("inspection", kind="order")  # not an inventory list: not in the queue
    m = scrape(client)
    assert m.value("bondport_inspection_queue_length") == 3
    assert 2400 <= m.value("bondport_inspection_queue_oldest_age_seconds") < 2460


def _stock():
    item = GoodsItemFactory(item_no="MET01")
    LocationFactory(code="MET-A")
    stock_receive(reference="ENTRY-MET", location_code="MET-A", entry_declaration_no="E1",
                  lines=[StockLine(item.item_no, 10)], actor="test")  # fmt: skip
    return item


def _reserve(reference: str, item, ttl: AGO):
    return stock_reserve(
        reference=reference, location_code="MET-A", lines=[StockLine(item.item_no, 1, 1)], ttl=ttl
    )


def test_reservations_about_to_expire_and_overdue_then_the_sweep_counted(client):
    item = _stock()
    _reserve("R-SOON", item, AGO(minutes=2))
    _reserve("R-LATER", item, AGO(minutes=30))
    _reserve("R-GONE", item, AGO(minutes=2))
    Reservation.objects.filter(reference="R-GONE").update(expires_at=ago(minutes=1))
    m = scrape(client)
    assert m.value("bondport_reservations_expiring", when="soon") == 1
    assert m.value("bondport_reservations_expiring", when="overdue") == 1
    assert not m.value("bondport_sweep_runs_total", sweep="bonded.tasks.expire_reservations")

    expire_reservations.apply()  # as the worker runs it
    expire_reservations.apply()  # nothing left to recover
    m = scrape(client)
    assert m.value("bondport_reservations_expiring", when="overdue") == 0
    assert m.value("bondport_sweep_runs_total", sweep="bonded.tasks.expire_reservations") == 2
    assert m.value("bondport_sweep_recovered_total", sweep="bonded.tasks.expire_reservations") == 1
    last = m.value("bondport_sweep_last_run_timestamp_seconds",
                   sweep="bonded.tasks.expire_reservations")  # fmt: skip
    assert abs(last - timezone.now().timestamp()) < 60


def test_a_sweep_reporting_a_dict_counts_what_it_recovered_not_what_waits():
    from ops.sweeps import recovered_by

    assert recovered_by({"receipts": 2, "declared": 1, "released": 0, "due": 7}) == 3
    assert recovered_by({"opened": 1, "collected": 2, "deliveries": 0}) == 3
    assert recovered_by(4) == 4 and recovered_by(None) == 0


def test_a_task_that_is_not_a_sweep_is_not_counted(client):
    worker_heartbeat.apply()
    assert not scrape(client).has("bondport_sweep_runs_total") or not scrape(client).value(
        "bondport_sweep_runs_total", sweep="config.tasks.worker_heartbeat"
    )


def test_celery_queue_depth_counts_a_message_nobody_took(client):
    before = scrape(client).value("bondport_celery_queue_depth", queue="customs_filing")
    current_app.send_task("customs.tasks.ex_post_rules_run", queue="customs_filing")
    current_app.send_task("customs.tasks.ex_post_rules_run", queue="customs_filing")
    try:
        m = scrape(client)
        assert m.value("bondport_celery_queue_depth", queue="customs_filing") == before + 2
        assert m.value("bondport_broker_up") == 1
        assert {"default", "customs_filing", "customs_receipts"} <= set(queue_depths())
    finally:
        with current_app.connection_for_write() as conn:
            conn.default_channel.queue_purge("customs_filing")


def test_worker_heartbeat_seen_and_its_age(client):
    from django.core.cache import cache

    from config.tasks import HEARTBEAT_KEY

    cache.delete(HEARTBEAT_KEY)
    m = scrape(client)
    assert m.value("bondport_worker_heartbeat_seen") == 0
    assert not m.has("bondport_worker_heartbeat_age_seconds") or not [
        s for s in m.samples if s.name == "bondport_worker_heartbeat_age_seconds"
    ]
    worker_heartbeat()
    m = scrape(client)
    assert m.value("bondport_worker_heartbeat_seen") == 1
    assert 0 <= m.value("bondport_worker_heartbeat_age_seconds") < 30


def test_payment_notifications_unacknowledged_and_flagged_payments(client):
    def charge(token, state, notified_at=None):
        return SandboxCharge.objects.create(
            token=token, merchant_order_no="BP1", amount=Decimal("10.00"), state=state,
            notify_url="http://x/", holder_name="张三", holder_id_number="11010519491231002X",
            paid_at=ago(minutes=7) if state == "paid" else None, notified_at=notified_at,
        )  # fmt: skip

    charge("T1", "paid")
    charge("T2", "paid", notified_at=ago(minutes=6))  # acknowledged
    charge("T3", "open")
    order = OrderFactory(state="paid")
    Payment.objects.create(order=order, token="P1", amount=Decimal("10.00"), state="flagged",
                           pay_url="http://x/")  # fmt: skip
    m = scrape(client)
    assert m.value("bondport_payment_notifications_unacknowledged") == 1
    assert 420 <= m.value("bondport_payment_notifications_oldest_unacknowledged_age_seconds") < 480
    assert m.value("bondport_payments_flagged") == 1


def test_dispatch_orders_at_risk_of_the_24_hour_deadline(client):
    def shipment(no, released, state="picking"):
        return Shipment.objects.create(
            order_no=no, warehouse_code="CW", ebc_code="4101960001", logistics_code="4101980001",
            logistics_no=f"YD{no}", declared_weight_kg=1, released_at=released,
            due_at=released + AGO(hours=settings.DISPATCH_TARGET_HOURS), state=state,
        )  # fmt: skip

    target, warn = settings.DISPATCH_TARGET_HOURS, settings.DISPATCH_AT_RISK_HOURS
    shipment("A", ago(hours=target - warn + 1))  # within the warning window
    shipment("B", ago(hours=target + 2))  # past the deadline
    shipment("C", ago(hours=1))  # plenty of time
    shipment("D", ago(hours=target + 2), state="dispatched")  # left: not at risk
    m = scrape(client)
    assert m.value("bondport_dispatch_orders_at_risk", timeliness="at_risk") == 1
    assert m.value("bondport_dispatch_orders_at_risk", timeliness="late") == 1


def test_request_latency_histogram_counts_a_request_by_view_method_and_status(client):
    def count(m, **labels):
        return m.value("bondport_http_request_duration_seconds_count", **labels)

    before = scrape(client)
    client.get("/healthz")
    client.get("/no-such-page-anywhere/")
    after = scrape(client)
    ok = {"view": "healthz", "method": "GET", "status": "2xx"}
    assert count(after, **ok) == count(before, **ok) + 1
    missing = {"view": "<unresolved>", "method": "GET", "status": "4xx"}
    assert count(after, **missing) == count(before, **missing) + 1
    bucket = after.value("bondport_http_request_duration_seconds_bucket", le="+Inf", **ok)
    assert bucket == count(after, **ok)


def test_one_scrape_costs_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    OrderFactory(state="paid", paid_at=ago(hours=2))
    declaration("pending")
    with django_assert_max_num_queries(20):
        scrape(client)
