"""Our payment notify endpoint, and the sandbox provider's pages (a third party in spirit)."""

from __future__ import annotations

import io
import logging

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from config.callbacks import CallbackRejected, refusal_response
from marketplace import payment_provider
from marketplace.errors import NotificationRejected
from marketplace.models import SandboxCharge
from marketplace.services.payments import notification_verify, payment_notified

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def payment_notify(request):
    """The provider's signed asynchronous notification. 200 "success" once applied (also for a
    repeat); 403 {"code", "message", "extra"} for a stale, replayed or badly signed one (the
    same answer as every callback endpoint's)."""
    try:
        notification = notification_verify(body=request.body, headers=request.headers)
        if notification is not None:  # None: verified news of something else (a refund's)
            payment_notified(notification=notification)
    except (CallbackRejected, NotificationRejected) as exc:
        return refusal_response(exc)
    return HttpResponse("success", content_type="text/plain")


def _sandboxes_on() -> None:
    """The sandbox pages are not mounted in production (marketplace/urls.py); should a URLconf
    mount them anyway, they still answer 404 there."""
    if not settings.SANDBOXES_ENABLED:
        raise Http404


@require_http_methods(["GET", "POST"])
def sandbox_pay_page(request, token: str):
    """The provider's pay page (phone-sized: the kiosk shows its URL as a QR code)."""
    _sandboxes_on()
    charge = SandboxCharge.objects.filter(token=token).first()
    if charge is None:
        raise Http404
    if request.method == "POST" and charge.state == SandboxCharge.State.OPEN:
        charge = payment_provider.sandbox_pay(
            token=token,
            payer_name=request.POST.get("payer_name", ""),
            payer_id_number=request.POST.get("payer_id_number", ""),
        )
    return render(request, "marketplace/sandbox_pay.html", {"charge": charge})


def sandbox_pay_qr(request, token: str):
    """The pay page URL as a QR code (SVG), for the kiosk screen."""
    import qrcode
    import qrcode.image.svg

    _sandboxes_on()
    charge = SandboxCharge.objects.filter(token=token).first()
    if charge is None:
        raise Http404
    url = request.build_absolute_uri(f"/sandbox/pay/{token}/")
    out = io.BytesIO()
    qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return HttpResponse(out.getvalue(), content_type="image/svg+xml")
