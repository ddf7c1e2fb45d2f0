"""DRF exception handler: every error is {"code", "message", "extra"}, never a stack trace."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError


def _flatten(detail) -> dict:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.http_status)
    if isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # Django's 500 handler answers (JSON for /api/, see config.views)
    if isinstance(exc, exceptions.ValidationError):
        body = {
            "code": "invalid",
            "message": _("Some fields are not valid; see extra.fields and correct them."),
            "extra": {"fields": _flatten(exc.detail)},
        }
    else:
        codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        body = {
            "code": codes if isinstance(codes, str) else "error",
            "message": str(exc.detail) if hasattr(exc, "detail") else str(exc),
            "extra": {},
        }
    response.data = body
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and hasattr(exc, "wait"):
        response.data["extra"]["retry_after_s"] = exc.wait
    return response
