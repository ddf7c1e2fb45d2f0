"""Reads for the operator's pipeline figures: one aggregate query each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from dispatch.selectors import shipments_at_risk


@dataclass(frozen=True)
class DispatchAtRisk:
    at_risk: int  # still in the warehouse, the 24-hour deadline within DISPATCH_AT_RISK_HOURS
    late: int  # still in the warehouse past the deadline


def dispatch_at_risk(*, now: datetime) -> DispatchAtRisk:
    row = (
        shipments_at_risk(now=now)
        .order_by()
        .aggregate(
            at_risk=Count("id", filter=Q(due_at__gte=now)),
            late=Count("id", filter=Q(due_at__lt=now)),
        )
    )
    return DispatchAtRisk(row["at_risk"], row["late"])
