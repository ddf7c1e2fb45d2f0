"""Waybill status reports (CEB513): the parcel left the zone, the consignee signed for it."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from customs import errors
from customs.filings import WaybillStatusFiling
from customs.models import Declaration, OrderClearance
from customs.services.declarations import fingerprint, nudge_filing

C = OrderClearance.State


def waybill_status_file(*, filing: WaybillStatusFiling) -> Declaration:
    """File a status of the order's waybill, durable with the caller's transaction and sent
    after commit. Goods may only leave once customs released them; the same status for the
    same waybill twice is one report (the first)."""
    if filing.status not in ("L", "S"):
        raise errors.CustomsError(
            _("Unknown waybill status %(status)s.") % {"status": filing.status},
            code="customs_waybill_status",
        )
    with transaction.atomic():
        clearance = OrderClearance.objects.filter(order_no=filing.order_no).first()
        if clearance is None or clearance.state != C.RELEASED:
            raise errors.IllegalTransition(
                _("Order %(order_no)s is not released by customs; its goods cannot leave.")
                % {"order_no": filing.order_no},
                extra={"state": getattr(clearance, "state", None)},
            )
        waybill = Declaration.objects.filter(
            kind="waybill", authority="customs", order_no=filing.order_no
        ).first()
        if waybill is None or waybill.business_no != filing.logistics_no:
            raise errors.ThreeOrderMismatch(
                _("Waybill %(no)s was not filed for order %(order_no)s.")
                % {"no": filing.logistics_no, "order_no": filing.order_no},
                extra={"logistics_no": filing.logistics_no},
            )
        payload = filing.as_payload()
        decl, created = Declaration.objects.get_or_create(
            kind="waybill_status",
            authority="customs",
            order_no=filing.order_no,
            business_no=f"{filing.logistics_no}:{filing.status}",
            defaults={
                "ebc_code": waybill.ebc_code,
                "payload": payload,
                "fingerprint": fingerprint(payload),
            },
        )
        if created:
            nudge_filing()
    return decl
