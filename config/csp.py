"""Content-Security-Policy on every response: pages load nothing from the web (the kiosks sit in
a bonded zone and must work offline), scripts and style sheets come from our own origin, and the
few inline <style> blocks we draw ourselves (the API docs) carry a per-response
nonce. Templates read it as `{{ csp_nonce }}` (context processor below)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.functional import SimpleLazyObject


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def policy(nonce: str) -> str:
    # The pay button redirects to the payment provider's page: allow that origin as a form
    # target (the sandbox provider is our own origin in the demo).
    form_targets = " ".join(
        {"'self'", *filter(None, [_origin(settings.PAYMENT_SANDBOX_URL)])} - {""}
    )
    return settings.CONTENT_SECURITY_POLICY.format(nonce=nonce, form_targets=form_targets)


class ContentSecurityPolicyMiddleware:
    header = "Content-Security-Policy"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        nonce = SimpleLazyObject(lambda: secrets.token_urlsafe(18))
        request.csp_nonce = nonce
        response = self.get_response(request)
        if self.header not in response and settings.CONTENT_SECURITY_POLICY:
            response[self.header] = policy(str(nonce))
        return response


def csp_nonce(request) -> dict:
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
