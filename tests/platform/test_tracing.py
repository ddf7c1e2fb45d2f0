"""Optional OpenTelemetry: off by default; on, a checkout's request span, the filing task it
causes (run by a real Celery worker consuming the real message) and that task's gateway call
are one trace, read from the SDK's in-memory span exporter."""

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
    with start_worker(app, pool="solo", perform_ping_check=False, queues=["customs_filing"]):
        response = client.post(
            "/checkout/", {"mode": "pickup", "counter_code": "C-ZZ1", "confirm": "1"},
            HTTP_X_REQUEST_ID="trace-me-1",
        )  # fmt: skip
        assert response.status_code == 302
        number = re.search(r"/orders/(BP\d+)/", response["Location"]).group(1)

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
