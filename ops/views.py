"""/metrics for Prometheus: only for the bearer token and/or the networks the settings name."""

from __future__ import annotations

import hmac
import ipaddress
from functools import cache

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from ops.metrics import scrape

LOOPBACK = ("127.0.0.0/8", "::1/128")


@cache
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _from_network(request, cidrs: tuple[str, ...]) -> bool:
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in network for network in _networks(cidrs) if peer.version == network.version)


def _bearer_ok(request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def metrics_allowed(request) -> bool:
    """Every protection that is configured must pass (token and network, when both are set).
    Neither set: loopback only in the demo; production does not serve the page at all."""
    token = settings.METRICS_TOKEN
    cidrs = tuple(settings.METRICS_ALLOWED_NETWORKS)
    if not token and not cidrs:
        if settings.PRODUCTION:
            raise Http404
        cidrs = LOOPBACK
    if token and not _bearer_ok(request, token):
        return False
    return not cidrs or _from_network(request, cidrs)


@never_cache
@require_GET
def metrics(request):
    if not metrics_allowed(request):
        return HttpResponseForbidden("metrics: not for this client\n", content_type="text/plain")
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)
