"""The delivery panel on the shopper's order page, reached through settings.ORDER_PAGE_PANELS:
courier and waybill number once the parcel left, and when it was delivered."""

from django.conf import settings
from django.template.loader import render_to_string

from dispatch.selectors import shipment_by_order, waybill_allocation

SHOWN_STATES = {"released", "dispatched", "delivered"}


def dispatch_panel(order, request) -> str:
    if order.delivery_mode != "delivery" or order.state not in SHOWN_STATES:
        return ""
    shipment = shipment_by_order(order.number)
    allocation = waybill_allocation(order.logistics_no)  # the courier that allocated it
    context = {
        "order": order,
        "shipment": shipment,
        "courier": allocation.logistics_name if allocation else settings.COURIER_NAME,
        "left": bool(shipment and shipment.left),
    }
    return render_to_string("dispatch/_panel.html", context, request=request)
