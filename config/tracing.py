"""Optional OpenTelemetry tracing (off by default; `pip install -e ".[otel]"`).

On with OTEL_ENABLED=true, or when the standard OTEL_EXPORTER_OTLP_ENDPOINT is set: spans for
every web request (Django), every task sent and run (Celery: the trace context travels in the
message headers, so a checkout's request span and the filing task it causes are one trace),
every outgoing HTTP call (requests: the customs gateway, payment and courier adapters; they get
a `traceparent` header) and every query (psycopg). Spans go to an OTLP/HTTP collector (the
standard OTEL_EXPORTER_OTLP_* variables configure it). Each span carries the log correlation id
as `bondport.correlation_id`, so a trace and its log lines are found from one another.

Started by config/wsgi.py and config/asgi.py (before the middleware is loaded) and in every
Celery worker process (`worker_process_init`) and beat.

Receipts join the order's trace. The authority answers later, on its own schedule (a receipt
push to our endpoint, our poll, the E-Port inbox), so that work would start a trace of its own.
Instead the filing stores the W3C `traceparent` of the span that files a declaration (the
filing task's) on the declaration row (`Declaration.trace_context`, in the UPDATE that links
the row to its message, before the gateway call), and applying a receipt runs in a span
`customs.receipt.apply` whose parent is a stored context: the order's first filing (the
oldest of its declarations that keeps one, i.e. the checkout's order and waybill), else the
receipt's own declaration's. It is linked to the span that applied the batch (the push
request, the `receipts_due` task, the poll) and to its own declaration's filing when that is
another trace (the payment, filed after the payment notification's request). Batches: one
such span per receipt, each under its own order's trace, so one batch of receipts from many
orders shows up in each order's trace (no batch span). Inside it the declaration and
clearance move, the goods leave bond (`customs.release`), and what is sent on commit keeps
the receipt's context (`send_on_commit`, `send_coalesced_on_commit` carry it as they carry
the correlation id): the inventory list's filing push and so its receipts, and the clearance
listeners (`customs.clearance.announce`: the inline order sync that releases the order, or
the task listeners), join the same trace. With tracing on, an inline announcement is made
once per trace among the orders a transaction changed (off: once per transaction, as always).

A coalesced push files what several requests created in the trace of the one that sent it
(as its log lines carry that request's correlation id): so do their receipts. A receipt that
cannot change anything (its order's declarations are not read) goes under its declaration's
context. A declaration filed while no span was current stores nothing, and its receipts start
a trace of their own. Off (`_provider` None), nothing is stored (the field stays empty, the
UPDATE unchanged), no span is made and nothing is imported.
"""

from __future__ import annotations

import contextlib
import logging
import threading

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_provider = None
_OFF = contextlib.nullcontext()  # reusable: what the span helpers return when tracing is off


def enabled() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "OTEL_ENABLED", False))


def setup(*, exporter=None, simple: bool = False):
    """Install the tracer provider and the instrumentations once per process; returns the
    provider (None when tracing is off and no exporter is given). `exporter`: the tests' in-
    memory exporter (with `simple`: exported as each span ends)."""
    global _provider
    if exporter is None and not enabled():
        return None
    with _lock:
        if _provider is not None:
            return _provider
        try:
            from opentelemetry import trace
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        except ImportError:
            logger.warning("OTEL_ENABLED but opentelemetry is not installed: pip install .[otel]")
            return None
        from django.conf import settings

        provider = TracerProvider(
            resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME})
        )
        provider.add_span_processor(CorrelationIdSpanProcessor())
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_ENDPOINT and friends
        processor = SimpleSpanProcessor if simple else BatchSpanProcessor
        provider.add_span_processor(processor(exporter))
        if not isinstance(trace.get_tracer_provider(), TracerProvider):
            trace.set_tracer_provider(provider)  # once per process (the tests set up again)
        _instrument(provider)
        _provider = provider
        logger.info("OpenTelemetry tracing on (service %s)", settings.OTEL_SERVICE_NAME)
        return provider


def _instrumentors() -> list:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    return [
        DjangoInstrumentor(),
        CeleryInstrumentor(),
        RequestsInstrumentor(),
        PsycopgInstrumentor(),
    ]


def _instrument(provider) -> None:
    for instrumentor in _instrumentors():
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)


def teardown() -> None:
    """Undo `setup` (the tests: later tests run uninstrumented)."""
    global _provider
    with _lock:
        if _provider is None:
            return
        for instrumentor in _instrumentors():
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()
        _provider.shutdown()
        _provider = None


def annotate_current_span(cid: str) -> None:
    """The web request's span starts before the correlation middleware binds the id."""
    if _provider is None:
        return
    from opentelemetry import trace

    trace.get_current_span().set_attribute("bondport.correlation_id", cid)


def is_on() -> bool:
    """Whether this process traces (setup installed a provider)."""
    return _provider is not None


def context_to_store() -> str:
    """The current span's W3C `traceparent`, to keep on a row whose later work should join
    this trace; "" when tracing is off or no span is current."""
    if _provider is None:
        return ""
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


def span_under(
    name: str, *, stored: str, linked: tuple[str, ...] = (), attributes: dict | None = None
):
    """A span whose parent is a context kept by `context_to_store` (else the current span),
    linked to the current span, so the work that brought it (a receipt push) is found from
    it, and to the `linked` kept contexts of other traces. Off: a no-op context manager
    (yields None)."""
    if _provider is None:
        return _OFF
    return _span_under(name, stored, linked, attributes)


def _kept(stored: str):
    """The span context in a kept traceparent (None if empty or not valid)."""
    if not stored:
        return None
    from opentelemetry import propagate, trace

    kept = trace.get_current_span(propagate.extract({"traceparent": stored})).get_span_context()
    return kept if kept.is_valid else None


@contextlib.contextmanager
def _span_under(name: str, stored: str, linked: tuple[str, ...], attributes: dict | None):
    from opentelemetry import trace

    parent, links = None, []
    kept = _kept(stored)
    if kept is not None:
        parent = trace.set_span_in_context(trace.NonRecordingSpan(kept))
        seen = {kept.trace_id}
        for other in [trace.get_current_span().get_span_context(), *map(_kept, linked)]:
            if other is not None and other.is_valid and other.trace_id not in seen:
                seen.add(other.trace_id)
                links.append(trace.Link(other))
    tracer = _provider.get_tracer("bondport")
    with tracer.start_as_current_span(
        name, context=parent, links=links, attributes=attributes
    ) as span:
        yield span


def span(name: str, *, attributes: dict | None = None):
    """A child of the current span; off: a no-op context manager (yields None)."""
    if _provider is None:
        return _OFF
    return _provider.get_tracer("bondport").start_as_current_span(name, attributes=attributes)


def current_context():
    """The current context, to run work later under it (`attached`); None when off."""
    if _provider is None:
        return None
    from opentelemetry import context

    return context.get_current()


def attached(ctx):
    """Run under a context taken by `current_context` (None: as things are)."""
    if ctx is None:
        return _OFF
    return _attached(ctx)


@contextlib.contextmanager
def _attached(ctx):
    from opentelemetry import context

    token = context.attach(ctx)
    try:
        yield
    finally:
        context.detach(token)


def trace_key(ctx) -> int:
    """The trace id of a context from `current_context` (0: none), to group work by trace."""
    if ctx is None:
        return 0
    from opentelemetry import trace

    return trace.get_current_span(ctx).get_span_context().trace_id


class CorrelationIdSpanProcessor:
    """Stamps each span with the correlation id bound when it starts (config/correlation.py)."""

    def on_start(self, span, parent_context=None) -> None:
        from config import correlation

        cid = correlation.current()
        if cid:
            span.set_attribute("bondport.correlation_id", cid)

    def on_end(self, span) -> None:
        pass

    def _on_ending(self, span) -> None:  # newer SDKs call it on every processor
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def connect_celery_signals() -> None:
    """Prefork children start their own provider (a batch exporter's thread does not survive
    a fork); beat traces the tasks it sends."""
    from celery import signals

    signals.worker_process_init.connect(lambda **kw: setup(), weak=False)
    signals.beat_init.connect(lambda **kw: setup(), weak=False)
