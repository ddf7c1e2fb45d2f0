"""Words for the names the figures carry (task and queue names are codes, never shown)."""

from django.utils.translation import gettext_lazy as _

SWEEP_LABELS = {
    "bonded.tasks.expire_reservations": _("Free the stock of unpaid orders"),
    "customs.tasks.declarations_sweep": _("Customs: catch lost filings and receipts"),
    "marketplace.tasks.clearances_sweep": _("Orders: apply clearance changes"),
    "marketplace.tasks.orders_expire": _("Orders: expire unpaid orders"),
    "marketplace.tasks.refunds_sweep": _("Payments: retry refunds"),
    "marketplace.tasks.sandbox_notify_sweep": _("Payments: re-send unacknowledged notifications"),
    "pickup.tasks.pickups_mark_overdue": _("Pickup: flag orders left at the counter"),
    "pickup.tasks.pickup_codes_issue": _("Pickup: issue missing pickup codes"),
    "dispatch.tasks.dispatch_sweep": _("Dispatch: open shipments and hand parcels over"),
}

MARK_LABELS = {
    "clearances": _("Orders: clearance changes applied up to"),
}

QUEUE_LABELS = {
    "default": _("General work (payments, orders, heartbeat)"),
    "customs_filing": _("Filing with customs and inspection"),
    "customs_receipts": _("Receipts from the authorities"),
}


def _fallback(name: str) -> str:
    return name.rsplit(".", 1)[-1].replace("_", " ")


def sweep_label(name: str) -> str:
    return str(SWEEP_LABELS.get(name) or _fallback(name))


def mark_label(name: str) -> str:
    return str(MARK_LABELS.get(name) or _fallback(name))


def queue_label(name: str) -> str:
    return str(QUEUE_LABELS.get(name) or _fallback(name))
