"""Reads for the operator's pipeline figures (/metrics, the pipeline health page): each one a
single cheap aggregate query, so a scrape every 15 s costs a handful of index scans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Min, Q

from customs.models import Declaration, Receipt
from customs.selectors import inspection_queue

WAITING_STATES = ("pending",)
IN_FLIGHT_STATES = ("sent", "accepted", "review", "concluded", "inspection", "detained")
FAILED_STATES = ("rejected", "blocked")


@dataclass(frozen=True)
class DeclarationCounts:
    authority: str
    kind: str
    waiting: int
    in_flight: int
    failed: int  # rejected or blocked since `failed_since`
    needs_staff: int  # the overdue check gave up on it and nothing moved since


def declaration_counts(*, failed_since: datetime) -> list[DeclarationCounts]:
    """Per authority and kind: waiting to be sent, with the authority, failed recently."""
    rows = (
        Declaration.objects.filter(
            Q(state__in=WAITING_STATES + IN_FLIGHT_STATES)
            | Q(state__in=FAILED_STATES, state_changed_at__gte=failed_since)
        )
        .values("authority", "kind")
        .annotate(
            waiting=Count("id", filter=Q(state__in=WAITING_STATES)),
            in_flight=Count("id", filter=Q(state__in=IN_FLIGHT_STATES)),
            failed=Count("id", filter=Q(state__in=FAILED_STATES)),
            needs_staff=Count(
                "id",
                filter=Q(
                    state__in=WAITING_STATES + IN_FLIGHT_STATES,
                    needs_staff_at__isnull=False,
                    state_changed_at__lte=F("needs_staff_at"),
                ),
            ),
        )
        .order_by("authority", "kind")
    )
    return [DeclarationCounts(**row) for row in rows]


def oldest_unfiled_declaration_at() -> datetime | None:
    """When the oldest declaration still waiting to be sent was created."""
    return Declaration.objects.filter(state__in=WAITING_STATES).aggregate(at=Min("created_at"))[
        "at"
    ]


def oldest_unapplied_receipt_at() -> datetime | None:
    """When the oldest receipt that arrived but changed nothing yet was received."""
    return Receipt.objects.filter(applied_at__isnull=True).aggregate(at=Min("received_at"))["at"]


@dataclass(frozen=True)
class InspectionQueueFigures:
    length: int
    oldest_at: datetime | None


def inspection_queue_figures() -> InspectionQueueFigures:
    row = inspection_queue().order_by().aggregate(n=Count("id"), oldest=Min("state_changed_at"))
    return InspectionQueueFigures(row["n"], row["oldest"])
