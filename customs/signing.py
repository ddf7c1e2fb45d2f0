"""HMAC-SHA256 request signing shared by our client, our receipt endpoint and the sandbox.

The signed string binds method, path (with query), body hash, timestamp and nonce, so a
captured request can neither be altered nor replayed outside the time window (the receiver
also remembers nonces for that window).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping

HEADER_TIMESTAMP = "X-Ceb-Timestamp"
HEADER_NONCE = "X-Ceb-Nonce"
HEADER_SIGNATURE = "X-Ceb-Signature"
HEADER_SENDER = "X-Ceb-Sender"
MAX_SKEW_SECONDS = 300


class SignatureError(Exception):
    """`reason` is the refusal's code (config.callbacks.CallbackRejected): bad_signature,
    stale or replayed."""

    def __init__(self, message: str, reason: str = "bad_signature"):
        super().__init__(message)
        self.reason = reason


def _string_to_sign(method: str, path: str, body: bytes, timestamp: str, nonce: str) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), path, digest, timestamp, nonce]).encode()


def sign(*, secret: str, method: str, path: str, body: bytes, timestamp: str, nonce: str) -> str:
    # An empty key is no key: anyone can compute HMAC(b"", ...), so neither side uses one.
    if not secret:
        raise SignatureError("no signing key configured")
    message = _string_to_sign(method, path, body, timestamp, nonce)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(*, secret: str, method: str, path: str, body: bytes, sender: str) -> dict:
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    return {
        HEADER_SENDER: sender,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: sign(
            secret=secret, method=method, path=path, body=body, timestamp=timestamp, nonce=nonce
        ),
    }


def verify(
    *,
    secret: str,
    method: str,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    remember_nonce: Callable[[str], bool] | None = None,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless the headers sign this exact request, recently, once.
    Refused outright when `secret` is empty (on every environment): a request HMAC'd with an
    empty key proves nothing."""
    if not secret:
        raise SignatureError("no signing key configured")
    timestamp = headers.get(HEADER_TIMESTAMP, "")
    nonce = headers.get(HEADER_NONCE, "")
    signature = headers.get(HEADER_SIGNATURE, "")
    if not (timestamp.isdigit() and nonce and signature):
        raise SignatureError("missing signature headers")
    if abs((now or time.time()) - int(timestamp)) > MAX_SKEW_SECONDS:
        raise SignatureError("timestamp outside the allowed window", "stale")
    expected = sign(
        secret=secret, method=method, path=path, body=body, timestamp=timestamp, nonce=nonce
    )
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("signature does not match")
    if remember_nonce is not None and not remember_nonce(nonce):
        raise SignatureError("nonce already used", "replayed")
