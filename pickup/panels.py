"""The pickup panel on the shopper's order page, reached through settings.ORDER_PAGE_PANELS."""

from datetime import timedelta

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from pickup.qr import qr_svg
from pickup.services.codes import code_for, pickup_code_issue

READY_STATE = "released"
WAITING_STATES = {"placed", "paid", "held"}


def pickup_panel(order, request) -> str:
    """Safe HTML: the code and its QR while released and uncollected; a note before; else ''.

    Only the order's own shopper reaches the order page, so the digits may be shown here.
    """
    if order.delivery_mode != "pickup":
        return ""
    context = {"order": order, "state": order.state}
    if order.state == READY_STATE:
        pickup_code = pickup_code_issue(order=order)
        if pickup_code.used_at is None:
            code = code_for(pickup_code)
            context |= {"code": code, "qr": qr_svg(code, box_size=8)}
        released = order.released_at or timezone.now()
        # The same deadline staff are told about (PICKUP_DEADLINE_DAYS after release).
        context["deadline"] = timezone.localtime(
            released + timedelta(days=settings.PICKUP_DEADLINE_DAYS)
        )
        context["deadline_days"] = settings.PICKUP_DEADLINE_DAYS
    elif order.state not in WAITING_STATES and order.state != "delivered":
        return ""
    return render_to_string("pickup/_panel.html", context, request=request)
