"""Reads for the operator's pipeline figures: one aggregate query each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from bonded.models import Reservation


@dataclass(frozen=True)
class ReservationsExpiring:
    soon: int  # active, expiring before `until`
    overdue: int  # active and already past expiry: the expiry sweep has not freed them yet


def reservations_expiring(*, now: datetime, until: datetime) -> ReservationsExpiring:
    row = Reservation.objects.filter(
        state=Reservation.State.ACTIVE, expires_at__isnull=False, expires_at__lt=until
    ).aggregate(
        soon=Count("id", filter=Q(expires_at__gte=now)),
        overdue=Count("id", filter=Q(expires_at__lt=now)),
    )
    return ReservationsExpiring(row["soon"], row["overdue"])
