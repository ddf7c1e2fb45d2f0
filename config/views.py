"""Error pages: JSON for the API, a styled, translated page for people; never a stack trace."""

from django.http import JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def _json(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "extra": {}}, status=status)


def _stylesheet() -> str:
    """The site's style sheet URL, or nothing: the 500 page must render even when static files
    (the manifest) are the thing that broke."""
    try:
        return static("css/site.css")
    except Exception:  # any failure here means: show the page unstyled
        return ""


def server_error(request):
    if _wants_json(request):
        return _json(
            "server_error",
            _("Something went wrong on our side. Please try again in a moment."),
            500,
        )
    return render(request, "500.html", {"stylesheet": _stylesheet()}, status=500)


def not_found(request, exception=None):
    if _wants_json(request):
        return _json("not_found", _("Not found."), 404)
    return render(request, "404.html", status=404)


def permission_denied(request, exception=None):
    if _wants_json(request):
        return _json("permission_denied", _("You may not do this."), 403)
    return render(request, "403.html", status=403)


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: the reason is for logs, not for people (it names tokens and cookies)."""
    if _wants_json(request):
        return _json("csrf_failed", _("The form expired. Reload the page and send it again."), 403)
    return render(request, "403_csrf.html", status=403)


def too_many_requests(request, *, wait_seconds: int | None = None):
    """The page for a rate limit hit; views that throttle people return this."""
    minutes = -(-wait_seconds // 60) if wait_seconds else None
    if _wants_json(request):
        return _json(
            "too_many_requests", _("Too many requests. Please wait a moment and try again."), 429
        )
    return render(request, "429.html", {"wait_minutes": minutes}, status=429)
