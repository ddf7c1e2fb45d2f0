"""Kiosk pages: sign in with the key, the full-screen counter app, the staff timing page."""

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import DomainError
from pickup.auth import SESSION_KEY, session_kiosk
from pickup.forms import KioskSignInForm
from pickup.selectors import SOURCE_AVERAGE_SECONDS, pickup_timing
from pickup.services import kiosk_authenticate


def _ui_strings() -> dict[str, str]:
    """Words the kiosk's script shows, translated here so the JS holds no language."""
    return {
        "scanned": _("Scanned"),
        "missing": _("Still to scan"),
        "extra": _("Not on this order: take it back"),
        "handed_over": _("Handed over"),
        "already": _("Already handed over earlier; nothing more to hand over."),
        "identity_ok": _("Identity checked"),
        "network": _("No answer from the server; check the network and try again."),
        "waiting": _("Waiting"),
        "ready": _("Released: ready to collect now"),
        "unknown_barcode": _("Unknown barcode"),
        "registered": _("Registered"),
        "collect_now": _("Collect now"),
        "remove_one": _("Remove one"),
        "remove_one_of": _("Remove one: %(name)s"),
        "to_pay": _("To pay"),
        "incl_tax": _("incl. import tax"),
    }


def kiosk_home(request):
    kiosk = session_kiosk(request)
    if kiosk is None:
        return render(request, "pickup/kiosk_signin.html", {"form": KioskSignInForm()})
    return render(
        request,
        "pickup/kiosk.html",
        {"kiosk": kiosk, "ui": _ui_strings(), "poll_ms": settings.PICKUP_POLL_MS},
    )


@require_POST
def kiosk_signin(request):
    form = KioskSignInForm(request.POST)
    if form.is_valid():
        try:
            kiosk = kiosk_authenticate(key=form.cleaned_data["key"])
        except DomainError as exc:
            form.add_error("key", exc.message)
        else:
            request.session.cycle_key()
            request.session[SESSION_KEY] = kiosk.pk
            return redirect("pickup:kiosk")
    return render(request, "pickup/kiosk_signin.html", {"form": form}, status=400)


@require_POST
def kiosk_signout(request):
    request.session.pop(SESSION_KEY, None)
    return redirect("pickup:kiosk")


@staff_member_required
def pickup_timing_view(request):
    days = pickup_timing(days=30)
    return render(
        request,
        "pickup/timing.html",
        {"days": days, "source_seconds": SOURCE_AVERAGE_SECONDS},
    )
