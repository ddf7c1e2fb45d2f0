"""Provider adapters for tests, chosen by setting (PAYMENT_PROVIDER, COURIER_PROVIDER,
CUSTOMS_TRANSPORT) as a real provider's would be: they prove the endpoints ask the configured
adapter, and give production settings a non-sandbox adapter to start with."""

from __future__ import annotations

import hashlib
import hmac

from config.callbacks import CallbackRefused
from customs.gateway import HttpTransport
from dispatch.courier import SandboxCourier
from marketplace.payment_provider import SandboxProvider

CONSULTED: list[str] = []  # what the refusing adapters were asked, in order


class RefusingProvider(SandboxProvider):
    """Charges like the sandbox, but refuses every notification, however well signed."""

    sandbox = False

    def verify_notification(self, *, body, headers) -> None:
        CONSULTED.append("payment")
        raise CallbackRefused("bad_signature")


class RefusingCourier(SandboxCourier):
    sandbox = False

    def verify_callback(self, *, body, headers) -> None:
        CONSULTED.append("courier")
        raise CallbackRefused("bad_signature")


class RefusingTransport(HttpTransport):
    def verify_receipt_push(self, *, method, path, body, headers) -> None:
        CONSULTED.append("customs")
        raise CallbackRefused("bad_signature")


TOKEN_KEY = b"another-providers-own-key-0123456789"


def token_signature(body: bytes) -> str:
    """Another provider's scheme: one header, HMAC-SHA512 of the body, no timestamp."""
    return hmac.new(TOKEN_KEY, body, hashlib.sha512).hexdigest()


def _token_check(body: bytes, headers) -> None:
    given = headers.get("X-Other-Signature", "")
    if not given or not hmac.compare_digest(given, token_signature(body)):
        raise CallbackRefused("bad_signature")


class OtherSchemeProvider(SandboxProvider):
    sandbox = False

    def verify_notification(self, *, body, headers) -> None:
        _token_check(body, headers)


class OtherSchemeCourier(SandboxCourier):
    sandbox = False

    def verify_callback(self, *, body, headers) -> None:
        _token_check(body, headers)


class OtherSchemeTransport(HttpTransport):
    def verify_receipt_push(self, *, method, path, body, headers) -> None:
        _token_check(body, headers)


class ProductionProvider:
    """Stands for a real provider in production-settings tests (never charges anything)."""

    def create_charge(self, **kwargs) -> str:
        raise NotImplementedError

    def refund(self, **kwargs) -> None:
        raise NotImplementedError

    def verify_notification(self, *, body, headers) -> None:
        raise CallbackRefused("bad_signature")


class ProductionCourier:
    def collect(self, **kwargs) -> None:
        raise NotImplementedError

    def verify_callback(self, *, body, headers) -> None:
        raise CallbackRefused("bad_signature")


class SandboxSubclassProvider(SandboxProvider):
    """A renamed sandbox: still marked sandbox, so production must refuse it at start."""
