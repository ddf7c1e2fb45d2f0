"""Optional OpenTelemetry: off by default; on, a checkout's request span, the filing task it
causes (run by a real Celery worker consuming the real message) and that task's gateway call
are one trace, read from the SDK's in-memory span exporter; so are the receipts the authority
returns later, the release they cause and the filing and order sync that follow (the
declaration keeps the filing's trace context). Off, nothing is stored."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from config import tracing
from tests.support import BASE_DIR, wait_until

otel = pytest.importorskip("opentelemetry.sdk")


def test_tracing_is_off_by_default_and_on_with_the_standard_endpoint():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from config import tracing; print(settings.OTEL_ENABLED, tracing.setup())"
    )

    def run(**env):
        import os

        clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=BASE_DIR, capture_output=True, text=True,
            env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env}, timeout=60,
        )  # fmt: skip
        return out.stdout.strip(), out.stderr

    assert run()[0] == "False None"
    stdout, stderr = run(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9/")
    assert stdout.startswith("True <opentelemetry.sdk.trace.TracerProvider"), stderr[-2000:]


@pytest.fixture
def spans():
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracing.setup(exporter=exporter, simple=True)
    yield exporter
    tracing.teardown()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_placed_order_and_its_filing_task_are_one_trace(world, client, sandbox, spans):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    client.force_login(world.shopper.user)
    client.post("/cart/", {"listing": world.paste.pk, "quantity": "1"})
    # A push an earlier test queued would file this order first, outside this trace.
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("customs_filing")
    with start_worker(app, pool="solo", perform_ping_check=False, queues=["customs_filing"]):
        number = _check_out_at_counter(client, request_id="trace-me-1")

        def filed():
            return [
                s for s in spans.get_finished_spans()
                if s.name == "run/customs.tasks.declarations_push"
                and s.context.trace_id == request_span().context.trace_id
            ]  # fmt: skip

        def request_span():
            found = [
                s for s in spans.get_finished_spans()
                if s.kind.name == "SERVER"
                and s.attributes.get("bondport.correlation_id") == "trace-me-1"
            ]  # fmt: skip
            assert found, [s.name for s in spans.get_finished_spans()]
            return found[0]

        run = wait_until(filed, timeout=120)[0]
    request = request_span()
    assert request.attributes["bondport.correlation_id"] == "trace-me-1"
    trace_id = request.context.trace_id
    finished = spans.get_finished_spans()
    sent = [s for s in finished if s.name == "apply_async/customs.tasks.declarations_push"]
    assert any(s.context.trace_id == trace_id for s in sent)
    assert run.attributes.get("bondport.correlation_id") == "trace-me-1"
    # The task's call to the authority is in the trace too (requests instrumentation).
    gateway = [
        s for s in finished
        if s.kind.name == "CLIENT" and s.context.trace_id == trace_id
        and s.parent is not None and s.name.startswith("POST")
    ]  # fmt: skip
    assert gateway, [(s.name, s.kind.name) for s in finished if s.context.trace_id == trace_id]
    from customs.models import Declaration

    assert Declaration.objects.filter(order_no=number).exclude(state="pending").exists()


def _check_out_at_counter(client, *, request_id: str) -> str:
    response = client.post(
        "/checkout/", {"mode": "pickup", "counter_code": "C-ZZ1", "confirm": "1"},
        HTTP_X_REQUEST_ID=request_id,
    )  # fmt: skip
    assert response.status_code == 302
    return re.search(r"/orders/(BP\d+)/", response["Location"]).group(1)


def _purge_filing_queue() -> None:
    """A push another test queued and no worker took must not file this test's order first."""
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("customs_filing")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_orders_receipts_and_release_join_its_checkout_trace(world, client, sandbox, spans):
    """Checkout, filing task, gateway call; the payment later (a request and a filing of its
    own); the receipts applied later still (polled here, outside any span, as the beat's poll
    or the authority's push would be), the inventory list's filing they cause, the release
    out of bond and the order's release: one trace, the checkout's."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from customs import services
    from customs.models import Declaration
    from marketplace.models import Order
    from tests.marketplace.support import pay

    _purge_filing_queue()
    client.force_login(world.shopper.user)
    client.post("/cart/", {"listing": world.paste.pk, "quantity": "1"})

    def released():
        for authority in ("customs", "ciq"):
            services.receipts_poll(authority=authority)
        return Order.objects.get(number=number).state == "released"

    with start_worker(app, pool="solo", perform_ping_check=False, queues=["customs_filing"]):
        number = _check_out_at_counter(client, request_id="trace-me-2")
        wait_until(
            lambda: not Declaration.objects.filter(order_no=number, state="pending").exists(),
            timeout=120,
        )
        _charge, paid = pay(client, Order.objects.get(number=number))
        assert paid.status_code == 200
        wait_until(released, timeout=120, interval=0.1)

    [request] = [
        s for s in spans.get_finished_spans()
        if s.kind.name == "SERVER" and s.attributes.get("bondport.correlation_id") == "trace-me-2"
    ]  # fmt: skip
    trace_id = request.context.trace_id
    traced = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
    names = [s.name for s in traced]
    applied = [s for s in traced if s.name == "customs.receipt.apply"]
    assert {s.attributes["customs.declaration.kind"] for s in applied} >= {
        "order", "waybill", "payment", "inventory"
    }, names  # fmt: skip
    assert all(s.attributes["bondport.order_no"] == number for s in applied)
    assert "applied" in {s.attributes["customs.receipt.outcome"] for s in applied}
    [release] = [s for s in traced if s.name == "customs.release"]
    assert release.attributes["bondport.order_no"] == number
    assert release.parent.span_id in {s.context.span_id for s in applied}
    announced = [s for s in traced if s.name == "customs.clearance.announce"]
    assert any(number in s.attributes["bondport.order_nos"] for s in announced), names
    # The inventory list was declared while a receipt was applied: its filing task too.
    assert names.count("run/customs.tasks.declarations_push") >= 2, names
    # What carried it: each declaration keeps the trace context of its filing; the payment's
    # is the payment request's trace, which its receipt's span links to.
    decls = {d.kind: d for d in Declaration.objects.filter(order_no=number, authority="customs")}
    assert set(decls) >= {"order", "waybill", "payment", "inventory"}
    for kind in ("order", "waybill", "inventory"):
        assert decls[kind].trace_context.startswith(f"00-{trace_id:032x}-"), decls[kind]
    payment_trace = int(decls["payment"].trace_context.split("-")[1], 16)
    assert payment_trace != trace_id
    assert any(
        s.kind.name == "SERVER" and s.context.trace_id == payment_trace
        for s in spans.get_finished_spans()
    )
    payment_receipts = [s for s in applied if s.attributes["customs.declaration.kind"] == "payment"]
    assert any(link.context.trace_id == payment_trace for s in payment_receipts for link in s.links)


@pytest.mark.django_db
def test_with_tracing_off_filing_and_receipts_store_and_make_nothing(world, sandbox):
    from customs import services
    from customs.models import Declaration
    from tests.marketplace.support import place

    assert not tracing.is_on()
    [order] = place(world, (world.paste, 1))
    services.declarations_file()
    services.receipts_poll(authority="customs")
    decls = list(Declaration.objects.filter(order_no=order.number))
    assert decls and all(d.state != "pending" for d in decls)
    assert [d.trace_context for d in decls] == [""] * len(decls)
    assert tracing.context_to_store() == "" and tracing.current_context() is None
    with tracing.span_under("customs.receipt.apply", stored="00-" + "1" * 32 + "-" + "2" * 16
                            + "-01") as span:  # fmt: skip
        assert span is None


@pytest.mark.django_db
def test_one_pushed_batch_puts_each_receipt_in_its_own_orders_trace(world, sandbox, client,
                                                                    spans, settings):  # fmt: skip
    """The authority's push (a request of its own, then the `receipts_due` task) carries two
    orders' receipts: each receipt's span is in the trace that filed its order, linked to the
    span applying the batch."""
    import json

    settings.CUSTOMS_RECEIPTS_APPLY_INLINE = False  # applied by the worker's task

    from customs import services, tasks
    from customs.models import Declaration
    from customs.signing import signed_headers
    from tests.marketplace.support import place

    tracer = tracing._provider.get_tracer("test")
    filings = {}
    for listing in (world.paste, world.milk):
        [order] = place(world, (listing, 1))
        with tracer.start_as_current_span("filing") as span:
            services.declarations_file()
        filings[order.number] = span.get_span_context().trace_id
    decls = list(
        Declaration.objects.filter(order_no__in=filings, kind="order", authority="customs")
    )
    assert len(decls) == 2
    for decl in decls:
        assert decl.trace_context.startswith(f"00-{filings[decl.order_no]:032x}-")
    rows = [
        {"guid": f"push-{d.guid}", "declGuid": d.guid, "orderNo": d.order_no, "returnStatus": 120,
         "authority": "customs"}
        for d in decls
    ]  # fmt: skip
    body = json.dumps({"receipts": rows}).encode()
    url = "/api/v1/customs/receipts"
    headers = signed_headers(
        secret=settings.CUSTOMS_GATEWAY_SECRET, method="POST", path=url, body=body, sender="GW"
    )
    pushed = client.post(url, data=body, content_type="application/json", headers=dict(headers))
    assert pushed.status_code == 200 and pushed.json()["recorded"] == 2
    with tracer.start_as_current_span("worker") as worker:
        assert tasks.receipts_due() == 2
    applied = {
        s.attributes["bondport.order_no"]: s
        for s in spans.get_finished_spans()
        if s.name == "customs.receipt.apply" and s.attributes["customs.receipt.source"] == "push"
    }
    assert set(applied) == set(filings)
    for number, span in applied.items():
        assert span.context.trace_id == filings[number]
        assert span.attributes["customs.receipt.outcome"] == "applied"
        assert [link.context.span_id for link in span.links] == [worker.get_span_context().span_id]
