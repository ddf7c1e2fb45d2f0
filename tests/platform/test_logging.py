"""Structured logs and the correlation id: a web request, the Celery task it causes and the
customs gateway call that task makes all log the same id (real worker and sandbox processes,
JSON lines read from their output); the JSON formatter never lets a resident ID through."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re

import pytest
from celery import signals

from config import correlation
from config.logging import JsonFormatter, RedactResidentIds, TextFormatter
from tests.customs.support import SandboxProcess
from tests.support import wait_until

RESIDENT_ID = "11010519491231002X"


def _json_handler() -> tuple[logging.Handler, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactResidentIds())
    handler.addFilter(correlation.CorrelationIdFilter())
    return handler, stream


@pytest.fixture
def json_log():
    """Root's records as JSON lines, formatted as production's console handler formats them."""
    handler, stream = _json_handler()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


def _json_lines(output: list[str]) -> list[dict]:
    lines = []
    for line in output:
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):  # a line that merely starts with "{"
                lines.append(json.loads(line))
    return lines


# --- the formatter ---------------------------------------------------------------------------


def test_json_formatter_writes_one_object_per_line_with_the_correlation_id(json_log):
    log = logging.getLogger("bondport.test")
    with correlation.bound("req-42"):
        log.info("filed %s declarations", 3, extra={"authority": "customs"})
    log.warning("outside a request")
    first, second = json_log()[-2:]
    assert first["message"] == "filed 3 declarations" and first["level"] == "INFO"
    assert first["correlation_id"] == "req-42" and first["authority"] == "customs"
    assert first["logger"] == "bondport.test" and first["time"].endswith("+00:00")
    assert second["correlation_id"] is None


def test_json_and_text_formatters_never_let_a_resident_id_through():
    """The message filter masks the message; the formatters mask the whole line, so an ID in
    an extra field or in an exception's text is masked too."""
    record = None
    try:
        raise ValueError(f"duplicate {RESIDENT_ID}")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "bondport.test", logging.ERROR, __file__, 1, "registering %s", (RESIDENT_ID,),
            sys.exc_info(),
        )  # fmt: skip
    record.shopper = {"resident_id": RESIDENT_ID.lower()}
    RedactResidentIds().filter(record)
    correlation.CorrelationIdFilter().filter(record)
    as_json = JsonFormatter().format(record)
    as_text = TextFormatter("%(message)s %(shopper)s").format(record)
    for line in (as_json, as_text):
        for variant in (RESIDENT_ID, RESIDENT_ID.lower()):
            assert variant not in line
        assert "002X" in line.upper()  # masked, not dropped: the last four stay
    entry = json.loads(as_json)
    assert "ValueError: duplicate **************002X" in entry["exc_info"]


def test_the_console_handler_uses_the_format_log_format_names(settings):
    from django.conf import settings as live

    handler = live.LOGGING["handlers"]["console"]
    assert handler["formatter"] == live.LOG_FORMAT
    assert "correlation" in handler["filters"] and "redact_ids" in handler["filters"]


def test_production_defaults_to_json_logs():
    import subprocess
    import sys

    from tests.support import BASE_DIR, production_env

    code = "from django.conf import settings; print(settings.LOG_FORMAT, settings.LOG_REQUESTS)"
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR, env={**production_env(), "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.stdout.split() == ["json", "True"], out.stderr[-2000:]


# --- the web side ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_valid_incoming_request_id_is_kept_and_returned(client, settings, json_log):
    settings.LOG_REQUESTS = True
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.1")
    assert response["X-Request-ID"] == "lb-7f3a.1"
    logged = [e for e in json_log() if e["logger"] == "config.requests"]
    assert logged[-1]["correlation_id"] == "lb-7f3a.1"
    assert logged[-1]["message"].startswith("GET /healthz -> ")
    assert "duration_ms" in logged[-1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent", ["", "has space", "x" * 200, 'quote"d', RESIDENT_ID, "\u4e2d\u6587"]
)
def test_an_invalid_or_missing_request_id_is_replaced_by_a_new_one(client, sent):
    extra = {"HTTP_X_REQUEST_ID": sent} if sent else {}
    response = client.get("/healthz", **extra)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert client.get("/healthz")["X-Request-ID"] != response["X-Request-ID"]


def test_a_task_sent_inside_a_request_carries_its_id_in_the_message_headers():
    headers: dict = {}
    with correlation.bound("req-task-1"):
        signals.before_task_publish.send(sender="x", body=(), headers=headers)
    assert headers[correlation.TASK_HEADER] == "req-task-1"


def test_on_commit_sends_keep_the_id_of_the_request_that_committed(monkeypatch):
    from config import tasks

    sent = []
    monkeypatch.setattr(tasks, "_send", lambda name, **kw: sent.append(correlation.current()))
    callbacks = []
    monkeypatch.setattr("django.db.transaction.on_commit", callbacks.append)
    with correlation.bound("req-commit"):
        tasks.send_on_commit("config.tasks.worker_heartbeat")
    assert correlation.current() == ""
    callbacks[0]()  # the commit runs after the request's context is gone
    assert sent == ["req-commit"]


def test_task_prerun_binds_the_message_id_or_a_new_one():
    class Task:
        class request:
            bondport_request_id = "req-worker"

    correlation.on_task_prerun(task_id="t1", task=Task)
    assert correlation.current() == "req-worker"
    correlation.on_task_postrun(task_id="t1")
    assert correlation.current() == ""

    class FromBeat:
        request = object()

    correlation.on_task_prerun(task_id="t2", task=FromBeat)
    assert re.fullmatch(r"[0-9a-f]{32}", correlation.current())
    correlation.on_task_postrun(task_id="t2")
    assert correlation.current() == ""


# --- web -> task -> gateway, real processes --------------------------------------------------


class JsonSandbox(SandboxProcess):
    def environment(self) -> dict[str, str]:
        return {**super().environment(), "LOG_FORMAT": "json"}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_checkout_its_filing_task_and_the_gateway_call_log_one_correlation_id(
    world,
    client,
    settings,
    celery_worker_process,
    tmp_path,
    json_log,
):
    from celery import current_app

    authority = JsonSandbox(tmp_path / "authority.sqlite3").start()
    # A push another test left in the queue would take this order's filing under its own id.
    with current_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("customs_filing")
    try:
        settings.LOG_REQUESTS = True
        worker = celery_worker_process(
            "customs_filing",
            extra_env={
                "LOG_FORMAT": "json",
                "CUSTOMS_GATEWAY_URL": authority.customs_url,
                "CUSTOMS_CIQ_URL": authority.ciq_url,
            },
        ).start()
        client.force_login(world.shopper.user)
        client.post("/cart/", {"listing": world.paste.pk, "quantity": "1"})
        cid = "checkout-" + os.urandom(4).hex()
        response = client.post(
            "/checkout/", {"mode": "pickup", "counter_code": "C-ZZ1", "confirm": "1"},
            HTTP_X_REQUEST_ID=cid,
        )  # fmt: skip
        assert response.status_code == 302 and response["X-Request-ID"] == cid
        number = re.search(r"/orders/(BP\d+)/", response["Location"]).group(1)

        def worker_lines():
            return [e for e in _json_lines(worker.output) if e.get("correlation_id") == cid]

        def sandbox_lines():
            return [e for e in _json_lines(authority.output) if e.get("correlation_id") == cid]

        def pushed():  # the task's own lines: the gateway call, then Celery's "succeeded"
            messages = [e["message"] for e in worker_lines()]
            return any(
                m.startswith("gateway POST /customs/messages -> HTTP 2") for m in messages
            ) and any("declarations_push" in m and "succeeded" in m for m in messages)

        wait_until(pushed, 120)
        wait_until(lambda: any("/messages" in e["message"] for e in sandbox_lines()), 30)
    finally:
        authority.stop()
    web = [e for e in json_log() if e["correlation_id"] == cid]
    assert any(e["message"].startswith("POST /checkout/ -> 302") for e in web)
    task = worker_lines()
    sent = [e for e in task if e["message"].startswith("gateway POST /customs/messages")]
    assert sent and all(e["logger"] == "customs.gateway" for e in sent)
    received = sandbox_lines()
    assert any(e["message"] == "received POST /customs/messages" for e in received)
    assert all(e["logger"] == "customs.sandbox" for e in received)
    # What the authority got is this order's filing.
    assert authority.records(number), number
