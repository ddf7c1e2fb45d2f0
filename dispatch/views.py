"""The operator's pages (scanner and keyboard first) and the courier's callback endpoint.

Each page: validate, call one service, and redirect back (POST-redirect-GET) so a scanner that
sends Enter after every code always lands on a fresh page with the scan field focused.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from config.callbacks import CallbackRejected, refusal_response
from config.errors import DomainError
from dispatch import selectors, services
from dispatch.courier import courier
from dispatch.models import Mismatch, Shipment
from dispatch.services.parcels import weight_allowed
from dispatch.services.picking import next_line


def is_warehouse_operator(user) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    return user.is_staff and user.groups.filter(name=settings.DISPATCH_OPERATOR_GROUP).exists()


def operator_required(view):
    """Signed-in warehouse operators (and superusers) only; anyone else signed in gets 403."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_warehouse_operator(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _actor(request) -> str:
    return request.user.get_username()


def _attempt(request, call) -> bool:
    """Run a service call; a refusal becomes an error message on the next page, and an id
    that names nothing (a forged or stale form) a 404."""
    try:
        call()
    except ObjectDoesNotExist:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return False
    return True


@operator_required
def warehouse_home(request):
    return render(
        request,
        "dispatch/home.html",
        {
            "waves": selectors.waves_today(),
            "waiting": selectors.shipments_waiting()[:50],
            "held": selectors.shipments_held()[:50],
            "to_pack": selectors.shipments_to_pack()[:50],
            "at_risk": selectors.shipments_at_risk()[:50],
            "target_hours": settings.DISPATCH_TARGET_HOURS,
        },
    )


@operator_required
@require_POST
def wave_new(request):
    wave = services.wave_build(actor=_actor(request))
    if wave is None:
        messages.info(request, _("No released delivery orders are waiting for a wave."))
        return redirect("dispatch:home")
    return redirect("dispatch:wave", number=wave.number)


@operator_required
@require_http_methods(["GET", "POST"])
def wave_page(request, number: str):
    wave = selectors.wave_by_number(number)
    if wave is None:
        raise Http404
    if request.method == "POST":
        action = request.POST.get("action", "scan")
        actor = _actor(request)
        if action == "scan":
            barcode = request.POST.get("barcode", "").strip()
            if barcode:
                _attempt(
                    request,
                    lambda: services.pick_scan(wave_id=wave.pk, barcode=barcode, actor=actor),
                )
        elif action == "short":
            line_id, on_shelf = request.POST.get("line"), request.POST.get("on_shelf", "")
            if line_id and line_id.isdigit() and on_shelf.strip().isdigit():
                _attempt(
                    request,
                    lambda: services.pick_short(
                        line_id=int(line_id), on_shelf=int(on_shelf), actor=actor
                    ),
                )
            else:
                messages.error(request, _("Enter how many units are on the shelf."))
        elif action == "fix":
            _fix(request, actor)
        return redirect("dispatch:wave", number=wave.number)
    stop = selectors.open_mismatches(wave=wave).first()
    return render(
        request,
        "dispatch/wave.html",
        {
            "wave": wave,
            "stop": stop,
            "line": None if stop else next_line(wave),
            "groups": selectors.pick_list(wave),
            "shipments": wave.shipments.order_by("due_at", "id"),
        },
    )


@operator_required
@require_http_methods(["GET", "POST"])
def returns_page(request):
    """Approved returns arriving at the warehouse: scan the return (or order) number, then
    every unit's barcode, then "Received". Only then do the goods go back into bond."""
    from customs import selectors as customs_selectors
    from customs import services as customs_services

    if request.method == "POST":
        number = request.POST.get("number", "").strip()
        intake = customs_selectors.return_intake(number)
        barcodes = request.POST.get("barcodes", "").split()
        if intake is None:
            messages.error(request, _("No approved return has this number: %(number)s.") % {
                "number": number or "-"})  # fmt: skip
        elif _attempt(
            request,
            lambda: customs_services.return_scan_in(
                return_no=intake.return_no, barcodes=barcodes, actor=_actor(request)
            ),
        ):
            intake.refresh_from_db()
            if intake.into_bond_at:
                messages.success(
                    request,
                    _("Return %(return_no)s received: %(units)s units back in bond.")
                    % {"return_no": intake.return_no, "units": intake.units},
                )
            else:
                messages.warning(
                    request,
                    _("Return %(return_no)s received; putting it back into bond failed and "
                      "will be retried: %(error)s")
                    % {"return_no": intake.return_no, "error": intake.last_error},
                )  # fmt: skip
        return redirect("dispatch:returns")
    return render(
        request,
        "dispatch/returns.html",
        {
            "awaiting": customs_selectors.returns_awaiting_scan_in()[:100],
            "not_in_bond": customs_selectors.returns_not_in_bond()[:100],
        },
    )


def _fix(request, actor: str) -> None:
    mismatch_id = request.POST.get("mismatch", "")
    if not mismatch_id.isdigit():
        raise Http404
    _attempt(
        request,
        lambda: services.mismatch_resolve(
            mismatch_id=int(mismatch_id),
            resolution=request.POST.get("resolution", ""),
            actor=actor,
            note=request.POST.get("note", ""),
        ),
    )


@operator_required
def shipment_label(request, order_no: str):
    """The printable waybill label (print CSS, 100 x 150 mm): once the parcel is packed."""
    from dispatch.labels import code128_svg

    shipment = selectors.shipment_by_order(order_no)
    if shipment is None or shipment.packed_at is None:
        raise Http404
    # The courier's answer when it allocated the waybill: its barcode value and sort marks.
    allocation = selectors.waybill_allocation(shipment.logistics_no)
    barcode = (allocation.barcode if allocation else "") or shipment.logistics_no
    return render(
        request,
        "dispatch/label.html",
        {"shipment": shipment, "barcode_svg": code128_svg(barcode), "allocation": allocation,
         "courier": allocation.logistics_name if allocation else settings.COURIER_NAME},
    )  # fmt: skip


@operator_required
@require_http_methods(["GET", "POST"])
def shipment_page(request, order_no: str):
    shipment = selectors.shipment_by_order(order_no)
    if shipment is None:
        raise Http404
    if request.method == "POST":
        action = request.POST.get("action", "")
        actor = _actor(request)
        if action == "pack":
            weight = request.POST.get("weight", "")
            if _attempt(
                request,
                lambda: services.shipment_pack(shipment_id=shipment.pk, weight_kg=weight,
                                               actor=actor),
            ):  # fmt: skip
                messages.success(request, _("Packed: waybill complete. Hand it to the courier."))
        elif action == "dispatch":
            result = {}

            def dispatch():
                result["sent"] = services.shipment_dispatch(shipment_id=shipment.pk, actor=actor)

            if _attempt(request, dispatch):
                if result["sent"][1]:
                    messages.success(request, _("Dispatched: the parcel left the bonded zone."))
                else:
                    messages.info(request, _("Already dispatched; nothing was issued again."))
        elif action == "fix":
            _fix(request, actor)
        elif action == "requeue":
            _attempt(
                request, lambda: services.shipment_requeue(shipment_id=shipment.pk, actor=actor)
            )
        return redirect("dispatch:shipment", order_no=shipment.order_no)
    return render(
        request,
        "dispatch/shipment.html",
        {
            "shipment": shipment,
            "lines": shipment.lines.all(),
            "stop": shipment.mismatches.filter(resolved_at__isnull=True).first(),
            "history": shipment.mismatches.filter(resolved_at__isnull=False),
            "allowed": weight_allowed(shipment.declared_weight_kg),
            "courier": settings.COURIER_NAME,
            "S": Shipment.State,
            "K": Mismatch.Kind,
        },
    )


@csrf_exempt
@require_POST
def courier_callback(request):
    """The courier's signed delivery callback. 200 "success" once applied (also for a repeat);
    403 {"code", "message", "extra"} for a stale, replayed or badly signed one (the same answer
    as every callback endpoint's); 409 in that shape when it names no dispatched parcel."""
    try:
        with transaction.atomic():  # refused as a whole: its events are not kept either
            events = services.courier_callback_verify(body=request.body, headers=request.headers)
            for event in events:
                services.shipment_delivered(callback=event)
    except CallbackRejected as exc:
        return refusal_response(exc)
    except DomainError as exc:
        return refusal_response(exc, status=409)
    body, content_type = courier().callback_answer()
    return HttpResponse(body, content_type=content_type)
