"""Cart, checkout, my orders and the order page (with its live five-step timeline)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseNotModified, JsonResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html_join
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from bonded import selectors as bonded_selectors
from config.errors import DomainError
from customs import selectors as customs_selectors
from marketplace import poll
from marketplace.forms import CheckoutForm
from marketplace.selectors import orders as order_selectors
from marketplace.selectors.quota import annual_quota
from marketplace.selectors.shoppers import shopper_for_user
from marketplace.services import cart as cart_services
from marketplace.services.checkout import (
    HomeDelivery,
    PickupDelivery,
    checkout_preview,
    order_place,
)
from marketplace.services.orders import order_cancel
from marketplace.services.payments import payment_start
from marketplace.services.returns import order_return_request

logger = logging.getLogger(__name__)


def _cart_owner(request) -> dict:
    shopper = shopper_for_user(request.user)
    return {"shopper": shopper} if shopper else {"session": request.session}


def cart(request):
    owner = _cart_owner(request)
    if request.method == "POST":
        action = request.POST.get("action", "add")
        try:
            if action == "remove":
                cart_services.cart_remove(listing_id=int(request.POST["listing"]), **owner)
            else:
                # Only the listing and quantity are read: a posted price is ignored.
                cart_services.cart_add(
                    listing_id=int(request.POST.get("listing") or 0),
                    quantity=request.POST.get("quantity", "1"),
                    replace=action == "set",
                    **owner,
                )
                messages.success(request, _("Added to your cart."))
        except (DomainError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", _("That product is not available.")))
        return redirect("marketplace:cart")
    lines = cart_services.cart_lines(**owner)
    preview, error = None, None
    if lines:
        try:
            preview = checkout_preview(shopper=owner.get("shopper"), lines=lines)
        except DomainError as exc:
            error = exc.message
    return render(request, "marketplace/cart.html", {"preview": preview, "error": error})


def _delivery(data):
    if data["mode"] == "pickup":
        return PickupDelivery(counter_code=data["counter_code"])
    return HomeDelivery(
        consignee=data["consignee"],
        phone=data["phone"],
        address=data["address"],
        district=data.get("district", ""),
    )


def _summary_delivery(form, data, counters):
    """The delivery the totals are priced for while the shopper chooses: the chosen counter
    (or the first), or home delivery before its address is complete."""
    if (data.get("mode") or "pickup") == "delivery":
        if form.is_bound and form.is_valid():
            return _delivery(form.cleaned_data), None
        return None, "delivery"
    code = data.get("counter_code") or (counters[0].code if counters else "")
    return PickupDelivery(counter_code=code), None


@login_required
def checkout(request):
    """One page: delivery choice, the totals for it (updated by static/js/checkout.js as the
    shopper chooses, or by the "update totals" button without JavaScript) and one primary
    action, "place order". `?summary=1` answers just the totals for the script."""
    shopper = shopper_for_user(request.user)
    if shopper is None:
        raise Http404
    counters = bonded_selectors.zone_counters()
    lines = cart_services.cart_lines(shopper=shopper)
    if not lines:
        messages.info(request, _("Your cart is empty. Add products before checking out."))
        return redirect("marketplace:cart")
    placing = request.method == "POST" and "confirm" in request.POST
    source = request.POST if request.method == "POST" else request.GET
    if placing:
        form = CheckoutForm(request.POST, counters=counters)
    else:  # choosing: show what was chosen, without errors for fields not filled in yet
        chosen = {k: v for k, v in source.items() if k in CheckoutForm.base_fields}
        form = CheckoutForm(initial=chosen, counters=counters)
    data = form.data if form.is_bound else {**form.initial}
    preview, error = None, None
    if placing and form.is_valid():
        try:
            delivery = _delivery(form.cleaned_data)
            preview = checkout_preview(shopper=shopper, lines=lines, delivery=delivery)
            if preview.ok:
                orders = order_place(
                    shopper=shopper, lines=lines, delivery=delivery, channel="web",
                    actor=request.user.get_username(),
                )  # fmt: skip
                cart_services.cart_clear(shopper=shopper)
                if len(orders) > 1:
                    messages.info(
                        request,
                        _("Your cart became %(n)s orders, one per merchant; pay each of them.")
                        % {"n": len(orders)},
                    )
                return redirect("marketplace:order_detail", order_no=orders[0].number)
        except DomainError as exc:
            field = exc.extra.get("field")
            if field in form.fields:
                form.add_error(field, exc.message)
            else:
                error = exc.message
    if preview is None:
        try:
            delivery, mode = _summary_delivery(form, data, counters)
            preview = checkout_preview(shopper=shopper, lines=lines, delivery=delivery, mode=mode)
        except DomainError as exc:
            error = exc.message
    context = {
        "form": form,
        "mode": data.get("mode") or "pickup",
        "preview": preview,
        "error": error,
        "counters": counters,
        "quota": annual_quota(shopper=shopper),
    }
    if request.GET.get("summary"):
        return render(request, "marketplace/_checkout_summary.html", context)
    return render(request, "marketplace/checkout.html", context)


def _own_order(request, order_no: str):
    order = order_selectors.order_for_user(user=request.user, order_no=order_no)
    if order is None:
        raise Http404  # someone else's order looks exactly like a missing one
    return order


@login_required
@require_GET
def my_orders(request):
    shopper = shopper_for_user(request.user)
    if shopper is None:
        raise Http404
    return render(
        request,
        "marketplace/orders.html",
        {"orders": order_selectors.orders_for_shopper(shopper=shopper)[:100]},
    )


def render_panels(order, request) -> str:
    """Panels other apps contribute (settings.ORDER_PAGE_PANELS); a broken one is skipped."""
    parts = []
    for path in settings.ORDER_PAGE_PANELS:
        try:
            html = import_string(path)(order, request)
        except Exception:
            logger.warning("order page panel %s failed; skipped", path, exc_info=True)
            continue
        if html:
            parts.append((mark_safe(html),))  # noqa: S308  (panels return safe HTML)
    return format_html_join("\n", "{}", parts)


@login_required
@require_GET
def order_detail(request, order_no: str):
    order = _own_order(request, order_no)
    return render(
        request,
        "marketplace/order_detail.html",
        {
            "order": order,
            "timeline": order_selectors.order_timeline(order),
            "clearance": customs_selectors.order_clearance(order.number),
            "payment": order_selectors.order_payment(order),
            "panels": render_panels(order, request),
            "shopper_reason": shopper_reason(order),
        },
    )


def shopper_reason(order) -> str:
    """The reason a shopper reads beside the state. Only the authority's answer on a rejected
    order is meant for them; the other reasons are the system's own notes in English ("released
    by ciq and customs"), which the state's label already says in the page's language."""
    return order.state_reason if order.state == order.State.REJECTED else ""


def _elapsed(seconds) -> str:
    if seconds is None:
        return ""
    return ngettext("+%(s)d second", "+%(s)d seconds", seconds) % {"s": seconds}


def status_payload(order) -> dict:
    return {
        "number": order.number,
        "state": order.state,
        "state_label": str(order.get_state_display()),
        "reason": shopper_reason(order),
        "clearance": order.clearance_state,
        # Times come formatted on the site's clock (Beijing time): the page never converts them
        # to the browser's zone, so they read the same before and after a refresh.
        "steps": [
            {
                "key": s.key,
                "label": s.label,
                "at": s.at.isoformat() if s.at else None,
                "at_local": s.at_local,
                "elapsed": _elapsed(s.elapsed_seconds),
            }
            for s in order_selectors.order_timeline(order)
        ],
    }


@require_GET
def order_status(request, order_no: str):
    """The small JSON the order page polls: the session and the order's columns (two
    statements), 304 while its ETag still matches, and when to ask again (marketplace.poll)."""
    row, authenticated = poll.order_row_for_request(
        request, order_no, extra=("shopper__created_at",)
    )
    if row is None:
        if not authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404  # someone else's order looks exactly like a missing one
    etag = poll.etag_for(row)
    ms = poll.poll_after_ms(row["state"])
    if poll.if_none_match(request, etag):
        return poll.with_interval(HttpResponseNotModified(), ms, etag)
    payload = status_payload(poll.order_from_row(row))
    payload |= {"final": ms is None, "poll_after_ms": ms, **poll.extras(row)}
    return poll.with_interval(JsonResponse(payload), ms, etag)


@login_required
@require_POST
def order_pay(request, order_no: str):
    order = _own_order(request, order_no)
    try:
        payment = payment_start(order=order, client_ip=request.META.get("REMOTE_ADDR", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("marketplace:order_detail", order_no=order.number)
    return redirect(payment.pay_url)


@login_required
@require_POST
def order_cancel_view(request, order_no: str):
    order = _own_order(request, order_no)
    try:
        order_cancel(
            order=order,
            actor=request.user.get_username(),
            reason=request.POST.get("reason", "")[:300],
        )
        messages.success(request, _("Order %(number)s is cancelled.") % {"number": order.number})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("marketplace:order_detail", order_no=order.number)


@login_required
@require_POST
def order_return_view(request, order_no: str):
    order = _own_order(request, order_no)
    try:
        order_return_request(
            order=order,
            actor=request.user.get_username(),
            reason=request.POST.get("reason", "")[:300],
        )
        messages.success(
            request, _("Your return request for %(number)s is filed.") % {"number": order.number}
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("marketplace:order_detail", order_no=order.number)
