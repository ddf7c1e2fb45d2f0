"""The pipeline health page: the figures /metrics serves, in words, for platform staff who have
no Prometheus. Thresholds mirror deploy/prometheus/bondport-rules.yml."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.http import Http404
from django.shortcuts import render
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from customs.models import Declaration
from marketplace.models import Order
from ops import labels
from ops.figures import PipelineFigures, pipeline_figures
from supervision.access import supervision_view

# The alert rules' thresholds (seconds), so the page and the alerts agree.
UNFILED_TOO_OLD = 600
RECEIPT_TOO_OLD = 300
INSPECTION_TOO_OLD = 4 * 3600
NOTIFICATION_TOO_OLD = 600
HEARTBEAT_TOO_OLD = 120


@dataclass(frozen=True)
class Check:
    label: str
    value: str
    attention: bool
    note: str = ""


def _age(since: datetime | None, now: datetime, none: str) -> str:
    return timesince(since, now) if since else none


def _checks(f: PipelineFigures) -> list[Check]:
    now = f.now
    heartbeat_at = (
        now - timedelta(seconds=f.worker_seconds_ago) if f.worker_seconds_ago is not None else None
    )
    inspection = str(f.inspection.length)
    if f.inspection.oldest_at:
        inspection += " · " + _("the oldest has waited %(age)s") % {
            "age": timesince(f.inspection.oldest_at, now)
        }
    unacked = str(f.notifications_unacknowledged)
    if f.oldest_unacknowledged_at:
        unacked += " · " + _("the oldest paid %(age)s ago") % {
            "age": timesince(f.oldest_unacknowledged_at, now)
        }
    held = f.paid_not_final.get(Order.State.HELD, 0)
    return [
        Check(
            _("Paid orders not final after %(n)s minutes") % {"n": f.paid_not_final_minutes},
            str(f.paid_not_final_total),
            f.paid_not_final.get(Order.State.PAID, 0) > 0,
            _("%(held)s of them held for inspection") % {"held": held} if held else "",
        ),
        Check(
            _("Oldest declaration waiting to be sent"),
            _age(f.oldest_unfiled_at, now, _("none waiting")),
            f.oldest_unfiled_seconds > UNFILED_TOO_OLD,
        ),
        Check(
            _("Oldest receipt not yet applied"),
            _age(f.oldest_unapplied_receipt_at, now, _("none waiting")),
            f.oldest_unapplied_receipt_seconds > RECEIPT_TOO_OLD,
        ),
        Check(
            _("Inventory lists in the inspection queue"),
            inspection,
            f.oldest_inspection_seconds > INSPECTION_TOO_OLD,
        ),
        Check(
            _("Reservations expiring within %(n)s minutes") % {"n": f.reservations_window_minutes},
            str(f.reservations.soon),
            False,
        ),
        Check(
            _("Reservations past expiry still holding stock"),
            str(f.reservations.overdue),
            f.reservations.overdue > 0,
        ),
        Check(
            _("Payment notifications not acknowledged"),
            unacked,
            f.oldest_unacknowledged_seconds > NOTIFICATION_TOO_OLD,
        ),
        Check(
            _("Payments received but not accepted"), str(f.payments_flagged), f.payments_flagged > 0
        ),
        Check(
            _("Delivery orders near the 24-hour dispatch deadline"),
            str(f.dispatch.at_risk),
            f.dispatch.at_risk > 0,
        ),
        Check(
            _("Delivery orders past the 24-hour dispatch deadline"),
            str(f.dispatch.late),
            f.dispatch.late > 0,
        ),
        Check(
            _("Orders whose clearance could not be applied"),
            str(f.clearance_sync_retrying + f.clearance_sync_gave_up),
            f.clearance_sync_gave_up > 0,
            _("%(n)s handed to staff") % {"n": f.clearance_sync_gave_up}
            if f.clearance_sync_gave_up
            else "",
        ),
        Check(
            _("Last worker heartbeat"),
            _("%(age)s ago") % {"age": timesince(heartbeat_at, now)}
            if heartbeat_at
            else _("never seen"),
            heartbeat_at is None or f.worker_seconds_ago > HEARTBEAT_TOO_OLD,
        ),
        Check(
            _("Task broker"),
            _("answering") if f.queue_depths is not None else _("not answering"),
            f.queue_depths is None,
        ),
    ]


def _declaration_rows(f: PipelineFigures) -> list[dict]:
    authority = dict(Declaration.Authority.choices)
    kind = dict(Declaration.Kind.choices)
    return [
        {
            "authority": authority.get(row.authority, row.authority),
            "kind": kind.get(row.kind, row.kind),
            "waiting": row.waiting,
            "in_flight": row.in_flight,
            "failed": row.failed,
            "needs_staff": row.needs_staff,
        }
        for row in f.declarations
        if row.waiting or row.in_flight or row.failed or row.needs_staff
    ]


@supervision_view
def pipeline_health(request):
    if not request.supervision.is_platform:
        raise Http404  # platform-wide figures: not a merchant's page
    f = pipeline_figures()
    state_labels = dict(Order.State.choices)
    return render(
        request,
        "supervision/pipeline_health.html",
        {
            "access": request.supervision,
            "figures": f,
            "checks": _checks(f),
            "orders": [(state_labels[s], n) for s, n in f.orders_by_state.items()],
            "declarations": _declaration_rows(f),
            "queues": [(labels.queue_label(name), n) for name, n in (f.queue_depths or {}).items()],
            "sweeps": [
                {
                    "label": labels.sweep_label(t.task),
                    "runs": t.runs,
                    "recovered": t.recovered,
                    "last_run": timesince(t.last_run_at, f.now),
                    "last_recovered": t.last_recovered,
                }
                for t in f.sweeps
            ],
            "marks": [
                (labels.mark_label(name), mark) for name, mark in sorted(f.sweep_marks.items())
            ],
        },
    )
