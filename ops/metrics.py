"""Prometheus: request latency per view (a histogram; multi-process under gunicorn when
PROMETHEUS_MULTIPROC_DIR is set) and the business gauges, computed at scrape time from the
database through ops.figures, so any node answers for the whole pipeline."""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

PREFIX = "bondport_"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Not in the global registry: each scrape builds its own (below), so a test or a second
# import never registers it twice.
_REQUESTS = CollectorRegistry(auto_describe=True)
REQUEST_LATENCY = Histogram(
    PREFIX + "http_request_duration_seconds",
    "Time to answer a request, by resolved view name, method and status class (2xx, 4xx...).",
    ["view", "method", "status"],
    buckets=LATENCY_BUCKETS,
    registry=_REQUESTS,
)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def observe_request(*, view: str, method: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(view=view, method=method, status=f"{status // 100}xx").observe(seconds)


class RequestMetricsMiddleware:
    """First in MIDDLEWARE: times everything below it, labels by the view that answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None and match.view_name else "<unresolved>"
        method = request.method if request.method in KNOWN_METHODS else "other"
        observe_request(
            view=view,
            method=method,
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, labels=labels)


class PipelineCollector:
    """Reads ops.figures once per scrape and reports every family (zeros included, so an alert
    reads a value rather than an absent series)."""

    def collect(self):
        from customs.models import Declaration
        from ops.figures import pipeline_figures

        started = time.perf_counter()
        f = pipeline_figures()

        orders = _gauge("orders", "Orders by state.", ["state"])
        for state, n in sorted(f.orders_by_state.items()):
            orders.add_metric([state], n)
        yield orders

        stuck = _gauge(
            "paid_orders_not_final",
            f"Orders paid more than METRICS_PAID_NOT_FINAL_MINUTES ({f.paid_not_final_minutes}) "
            "minutes ago and still paid or held for inspection.",
            ["state"],
        )
        for state, n in sorted(f.paid_not_final.items()):
            stuck.add_metric([state], n)
        yield stuck

        by_key = {(row.authority, row.kind): row for row in f.declarations}
        families = {
            "waiting": _gauge(
                "declarations_waiting", "Declarations waiting to be sent.", ["authority", "kind"]
            ),
            "in_flight": _gauge(
                "declarations_in_flight",
                "Declarations sent and not yet concluded by the authority.",
                ["authority", "kind"],
            ),
            "failed": _gauge(
                "declarations_failed",
                "Declarations rejected by the authority or blocked by the platform pre-check "
                f"in the last METRICS_FAILED_WINDOW_HOURS ({f.failed_window_hours}) hours.",
                ["authority", "kind"],
            ),
            "needs_staff": _gauge(
                "declarations_needs_staff",
                "Declarations the overdue check handed to staff (no answer after its queries).",
                ["authority", "kind"],
            ),
        }
        for authority in Declaration.Authority.values:
            for kind in Declaration.Kind.values:
                row = by_key.get((authority, kind))
                for attr, family in families.items():
                    family.add_metric([authority, kind], getattr(row, attr) if row else 0)
        yield from families.values()

        yield _single(
            "oldest_unfiled_declaration_age_seconds",
            "Age of the oldest declaration waiting to be sent (0: none waiting).",
            f.oldest_unfiled_seconds,
        )
        yield _single(
            "oldest_unapplied_receipt_age_seconds",
            "Age of the oldest receipt received but not applied (0: none).",
            f.oldest_unapplied_receipt_seconds,
        )
        yield _single(
            "inspection_queue_length",
            "Inventory lists held for manual review, inspection or detention.",
            f.inspection.length,
        )
        yield _single(
            "inspection_queue_oldest_age_seconds",
            "Time the oldest list has waited in the inspection queue (0: queue empty).",
            f.oldest_inspection_seconds,
        )

        expiring = _gauge(
            "reservations_expiring",
            "Active stock reservations expiring within METRICS_RESERVATIONS_EXPIRING_MINUTES "
            f"({f.reservations_window_minutes}) (soon) or already past expiry (overdue).",
            ["when"],
        )
        expiring.add_metric(["soon"], f.reservations.soon)
        expiring.add_metric(["overdue"], f.reservations.overdue)
        yield expiring

        runs = CounterMetricFamily(PREFIX + "sweep_runs", "Runs of each sweep.", labels=["sweep"])
        recovered = CounterMetricFamily(
            PREFIX + "sweep_recovered",
            "What each sweep found undone and put right (sum of its counts).",
            labels=["sweep"],
        )
        last = _gauge("sweep_last_run_timestamp_seconds", "When each sweep last ran.", ["sweep"])
        for tally in f.sweeps:
            runs.add_metric([tally.task], tally.runs)
            recovered.add_metric([tally.task], tally.recovered)
            last.add_metric([tally.task], tally.last_run_at.timestamp())
        yield from (runs, recovered, last)
        marks = _gauge(
            "sweep_mark_timestamp_seconds",
            "How far each marketplace sweep has applied changes.",
            ["sweep"],
        )
        for name, mark in sorted(f.sweep_marks.items()):
            marks.add_metric([name], mark.timestamp())
        yield marks
        sync = _gauge(
            "clearance_sync_failures",
            "Orders whose clearance the sweep could not apply: still retried, or handed to staff.",
            ["state"],
        )
        sync.add_metric(["retrying"], f.clearance_sync_retrying)
        sync.add_metric(["handed_to_staff"], f.clearance_sync_gave_up)
        yield sync

        yield _single(
            "broker_up", "1 when the broker answered this scrape.", int(f.queue_depths is not None)
        )
        depth = _gauge("celery_queue_depth", "Messages waiting in each Celery queue.", ["queue"])
        for queue, n in sorted((f.queue_depths or {}).items()):
            depth.add_metric([queue], n)
        yield depth

        seen = f.worker_seconds_ago is not None
        yield _single("worker_heartbeat_seen", "1 when a worker heartbeat is recorded.", int(seen))
        heartbeat = _gauge(
            "worker_heartbeat_age_seconds",
            "Seconds since a worker last ran the heartbeat task (absent: never seen).",
        )
        if seen:
            heartbeat.add_metric([], f.worker_seconds_ago)
        yield heartbeat

        yield _single(
            "payment_notifications_unacknowledged",
            "Charges the provider holds as paid whose notification we have not acknowledged.",
            f.notifications_unacknowledged,
        )
        yield _single(
            "payment_notifications_oldest_unacknowledged_age_seconds",
            "Time since the oldest unacknowledged charge was paid (0: none).",
            f.oldest_unacknowledged_seconds,
        )
        yield _single(
            "payments_flagged",
            "Payments received but not accepted (amount or payer mismatch).",
            f.payments_flagged,
        )

        dispatch = _gauge(
            "dispatch_orders_at_risk",
            "Delivery orders still in the warehouse near (at_risk) or past (late) the "
            "DISPATCH_TARGET_HOURS deadline.",
            ["timeliness"],
        )
        dispatch.add_metric(["at_risk"], f.dispatch.at_risk)
        dispatch.add_metric(["late"], f.dispatch.late)
        yield dispatch

        yield _single(
            "metrics_scrape_duration_seconds",
            "Time this scrape took to compute the business figures.",
            time.perf_counter() - started,
        )


def _single(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, value=value)


def scrape() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        MultiProcessCollector(registry)
    else:
        registry.register(_RequestsCollector())
    registry.register(PipelineCollector())
    return generate_latest(registry)


class _RequestsCollector:
    def collect(self):
        return _REQUESTS.collect()
