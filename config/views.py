"""Error pages: JSON for the API, a plain page for people; never a stack trace."""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def server_error(request):
    if _wants_json(request):
        return JsonResponse(
            {
                "code": "server_error",
                "message": _("Something went wrong on our side. Please try again in a moment."),
                "extra": {},
            },
            status=500,
        )
    return render(request, "500.html", status=500)


def not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse(
            {"code": "not_found", "message": _("Not found."), "extra": {}}, status=404
        )
    return render(request, "404.html", status=404)
