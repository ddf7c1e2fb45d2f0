"""The gateway interface and its HTTP adapter (sandbox contract: signed XML over HTTP).

A real E-Port transport implements the same methods and is chosen by the setting
CUSTOMS_TRANSPORT; nothing else in the app changes. That includes the inbound side: the
receipt endpoint asks the transport (verify_receipt_push) whether a push is authentic.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings
from django.utils.module_loading import import_string

from config import correlation
from config.callbacks import CallbackRefused
from customs.errors import GatewayRejected, GatewayUnavailable
from customs.signing import MAX_SKEW_SECONDS, SignatureError, signed_headers, verify

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    http_status: int
    body: dict


class Transport(Protocol):
    def send(self, *, authority: str, message_guid: str, xml: bytes, order_nos: list[str]):
        """Deliver one message; raise GatewayUnavailable (retry) or GatewayRejected (never)."""

    def fetch_receipts(self, *, authority: str, after: int) -> dict:
        """Receipts after a cursor: {"receipts": [...], "next": int}."""

    def send_decision(self, *, authority: str, decl_guid: str, decision: str, note: str) -> dict:
        """An officer's inspection decision on a held declaration, to the authority's record."""

    def verify_receipt_push(
        self, *, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> None:
        """Raise config.callbacks.CallbackRefused(reason) unless the gateway signed this push
        (recently, once). Reasons: bad_signature, stale, replayed."""

    def query_status(self, *, authority: str, records: list[dict]) -> dict:
        """Ask the authority where records stand (each {"guid", "messageType", "orderNo"}):
        {"receipts": [rows shaped as fetch_receipts gives them], "unknown": [guid, ...]}.
        Raise GatewayRejected when the authority offers no status query (re-send instead)."""


class HttpTransport:
    """HMAC-signed HTTP, timeouts on every call, one pooled session per process.

    Another party filing with the same authority (the payment stand-ins file CEB411 as the
    payment company) passes its own customs URL, key and sender code; we use the settings."""

    def __init__(self, *, customs_url: str = "", secret: str = "", sender: str = "") -> None:
        self.session = requests.Session()
        self.customs_url, self.secret, self.sender = customs_url, secret, sender

    def _url(self, authority: str) -> str:
        if authority == "ciq":
            return settings.CUSTOMS_CIQ_URL.rstrip("/")
        return (self.customs_url or settings.CUSTOMS_GATEWAY_URL).rstrip("/")

    def _request(self, method: str, url: str, body: bytes, headers: dict) -> requests.Response:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        cid = correlation.current()
        headers = {
            **headers,
            **({correlation.HEADER: cid} if cid else {}),
            **signed_headers(
                secret=self.secret or settings.CUSTOMS_GATEWAY_SECRET,
                method=method,
                path=path,
                body=body,
                sender=self.sender or settings.CUSTOMS_SENDER_CODE,
            ),
        }
        try:
            response = self.session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=(settings.CUSTOMS_CONNECT_TIMEOUT, settings.CUSTOMS_READ_TIMEOUT),
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            logger.info("gateway %s %s: %s", method, parts.path, exc.__class__.__name__)
            raise GatewayUnavailable(f"{exc.__class__.__name__}: {url}") from exc
        logger.info("gateway %s %s -> HTTP %s", method, parts.path, response.status_code)
        if response.status_code >= 500 or response.status_code == 429:
            raise GatewayUnavailable(f"HTTP {response.status_code} from {url}")
        if response.status_code >= 400:
            raise GatewayRejected(_reason(response), extra={"http_status": response.status_code})
        return response

    def send(self, *, authority: str, message_guid: str, xml: bytes, order_nos: list[str]):
        response = self._request(
            "POST",
            f"{self._url(authority)}/messages",
            xml,
            {
                "Content-Type": "application/xml",
                "X-Ceb-Message-Guid": message_guid,
                "X-Ceb-Order-Nos": ",".join(order_nos),
            },
        )
        return SendResult(http_status=response.status_code, body=response.json())

    def send_decision(self, *, authority: str, decl_guid: str, decision: str, note: str) -> dict:
        body = json.dumps({"guid": decl_guid, "decision": decision, "note": note}).encode()
        response = self._request(
            "POST",
            f"{self._url(authority)}/decisions",
            body,
            {"Content-Type": "application/json"},
        )
        return response.json()

    def fetch_receipts(self, *, authority: str, after: int) -> dict:
        query = urlencode({"after": after, "limit": 500})
        response = self._request("GET", f"{self._url(authority)}/receipts?{query}", b"", {})
        return response.json()

    def query_status(self, *, authority: str, records: list[dict]) -> dict:
        body = json.dumps({"records": records}).encode()
        response = self._request(
            "POST", f"{self._url(authority)}/status", body, {"Content-Type": "application/json"}
        )
        return response.json()

    def verify_receipt_push(
        self, *, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> None:
        try:
            verify(
                secret=settings.CUSTOMS_GATEWAY_SECRET,
                method=method,
                path=path,
                body=body,
                headers=headers,
                remember_nonce=_remember_nonce,
            )
        except SignatureError as exc:
            raise CallbackRefused(exc.reason) from exc


def _remember_nonce(nonce: str) -> bool:
    """Nonces of accepted pushes, in the shared cache for twice the allowed clock skew."""
    from django.core.cache import cache

    return cache.add(f"customs:nonce:{nonce}", 1, timeout=2 * MAX_SKEW_SECONDS)


def _reason(response: requests.Response) -> str:
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return f"HTTP {response.status_code}: {response.text[:300]}"
    return f"HTTP {response.status_code}: {body.get('reason') or body}"[:480]


_transport: Transport | None = None
_transport_path: str | None = None


# CUSTOMS_TRANSPORT takes a dotted path or one of these names.
TRANSPORTS = {
    "http": "customs.gateway.HttpTransport",
    "sandbox": "customs.gateway.HttpTransport",
    "eport": "customs.eport.EPortTransport",
}


def get_transport() -> Transport:
    global _transport, _transport_path
    path = TRANSPORTS.get(settings.CUSTOMS_TRANSPORT, settings.CUSTOMS_TRANSPORT)
    if _transport is None or _transport_path != path:
        _transport, _transport_path = import_string(path)(), path
    return _transport
