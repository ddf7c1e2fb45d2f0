"""Reads for the operator's pipeline figures: one aggregate query each."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Min, Q

from marketplace.models import ClearanceSyncFailure, Order, Payment, SandboxCharge, SweepMark

# Paid, but neither released nor refused yet: the pipeline still owes the shopper an answer.
NOT_FINAL_STATES = (Order.State.PAID, Order.State.HELD)


def orders_by_state() -> dict[str, int]:
    rows = Order.objects.order_by().values("state").annotate(n=Count("id"))
    counts = dict.fromkeys(Order.State.values, 0)
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


def paid_orders_not_final(*, paid_before: datetime) -> dict[str, int]:
    """Orders paid before `paid_before` still paid or held, per state."""
    rows = (
        Order.objects.filter(state__in=NOT_FINAL_STATES, paid_at__lt=paid_before)
        .order_by()
        .values("state")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(NOT_FINAL_STATES, 0)
    counts.update({row["state"]: row["n"] for row in rows})
    return {str(state): n for state, n in counts.items()}


def payments_flagged() -> int:
    """Paid but not accepted (amount or payer mismatch): money in, no order going ahead."""
    return Payment.objects.filter(state=Payment.State.FLAGGED).count()


def payment_notifications_unacknowledged() -> tuple[int, datetime | None]:
    """Charges the provider holds as paid whose notification we have not answered 200 yet
    (the sandbox provider's own ledger; a real provider's console shows its own), and since
    when the oldest has been paid."""
    row = SandboxCharge.objects.filter(
        state=SandboxCharge.State.PAID, notified_at__isnull=True
    ).aggregate(n=Count("id"), oldest=Min("paid_at"))
    return row["n"], row["oldest"]


def sweep_marks() -> dict[str, datetime]:
    """How far each marketplace sweep has applied changes."""
    return dict(SweepMark.objects.values_list("name", "mark"))


def clearance_sync_failures() -> tuple[int, int]:
    """Orders whose clearance the sweep could not apply: (still retried, handed to staff)."""
    row = ClearanceSyncFailure.objects.aggregate(
        retrying=Count("id", filter=Q(gave_up_at__isnull=True)),
        gave_up=Count("id", filter=Q(gave_up_at__isnull=False)),
    )
    return row["retrying"], row["gave_up"]
