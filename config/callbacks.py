"""Signed callbacks from third parties (the payment provider, the courier): HMAC-SHA256 over
timestamp, nonce and body. One mechanism for every such callback, so a fix to how they are
checked reaches all of them; each caller keeps its own headers, secret, nonce table and errors.

(Customs messages sign more: method and path too. See customs/signing.py.)"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time

from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError

logger = logging.getLogger(__name__)


class CallbackRefused(Exception):
    """Why a callback was refused: bad_signature, stale, bad_nonce, replayed or malformed."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class CallbackRejected(DomainError):
    """The one answer to a refused inbound callback (payment notification, courier callback,
    customs receipt push): 403 and {"code": <reason>, "message", "extra"}, the same on every
    endpoint, so a bad signature looks alike wherever it is tried."""

    code = "bad_signature"
    http_status = 403
    MESSAGES = {
        "bad_signature": _("Bad signature."),
        "stale": _("Stale timestamp: sign the request again."),
        "bad_nonce": _("Bad nonce."),
        "replayed": _("Replayed request."),
        "malformed": _("Malformed body."),
    }

    @classmethod
    def because(cls, reason: str) -> CallbackRejected:
        reason = reason if reason in cls.MESSAGES else "bad_signature"
        return cls(cls.MESSAGES[reason], code=reason)


def refusal_response(exc: DomainError, *, status: int | None = None) -> JsonResponse:
    """A plain Django view's answer to a refusal: the DRF handler's shape (config/api.py)."""
    return JsonResponse(exc.as_dict(), status=status or exc.http_status)


def sign(*, secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    # An empty key is no key: anyone can compute HMAC(b"", ...), so neither side uses one.
    if not secret:
        raise ValueError("refusing to sign with an empty key")
    message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(*, secret: str, body: bytes, prefix: str) -> dict[str, str]:
    """Headers of a JSON callback signed now with a fresh nonce (X-<prefix>-Timestamp, ...)."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    return {
        "Content-Type": "application/json",
        f"X-{prefix}-Timestamp": timestamp,
        f"X-{prefix}-Nonce": nonce,
        f"X-{prefix}-Signature": sign(secret=secret, timestamp=timestamp, nonce=nonce, body=body),
    }


def verify(
    *,
    secret: str,
    body: bytes,
    timestamp: str,
    nonce: str,
    signature: str,
    max_age_seconds: float,
    nonce_model,
    label: str,
) -> None:
    """Raise CallbackRefused unless the callback is signed with `secret`, recent and new.
    An accepted nonce is stored in `nonce_model` (a model with a unique `nonce`); the refusal
    is logged under `label`, never the body. An empty `secret` refuses everything."""
    if not secret:
        logger.warning("%s refused: no key configured", label)
        raise CallbackRefused("bad_signature")
    expected = sign(secret=secret, timestamp=timestamp, nonce=nonce, body=body)
    if not signature or not hmac.compare_digest(expected, signature):
        logger.warning("%s refused: bad signature (nonce %s)", label, nonce[:64])
        raise CallbackRefused("bad_signature")
    try:
        age = abs(time.time() - int(timestamp))
    except (TypeError, ValueError):
        age = float("inf")
    if age > max_age_seconds:
        logger.warning("%s refused: stale timestamp (nonce %s)", label, nonce[:64])
        raise CallbackRefused("stale")
    if not 16 <= len(nonce) <= 64:
        raise CallbackRefused("bad_nonce")
    try:
        with transaction.atomic():
            nonce_model.objects.create(nonce=nonce)
    except IntegrityError:
        logger.warning("%s refused: replayed nonce %s", label, nonce[:64])
        raise CallbackRefused("replayed") from None
