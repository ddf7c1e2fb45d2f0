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
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_provider = None


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
