"""Encryption of personal identifiers (resident ID numbers) at rest, shared by every app.

An ID is stored twice: encrypted (Fernet: AES-128-CBC + HMAC, random IV, so equal IDs give
different ciphertexts) and as a keyed hash (HMAC-SHA256), which is what uniqueness checks and
lookups use. Both keys are derived from FIELD_ENCRYPTION_KEY, so one secret rotates both.
"""

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


def _derive(purpose: bytes) -> bytes:
    secret = settings.FIELD_ENCRYPTION_KEY.encode()
    return hmac.new(secret, b"bondport:" + purpose, hashlib.sha256).digest()


@cache
def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(b"encrypt")))


def encrypt(plain: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong FIELD_ENCRYPTION_KEY or corrupt value") from exc


def keyed_hash(plain: str) -> str:
    """Stable lookup key: one ID always hashes the same; without the key nobody can test one."""
    normalized = plain.strip().upper()
    return hmac.new(_derive(b"lookup"), normalized.encode(), hashlib.sha256).hexdigest()


def mask_id(plain: str) -> str:
    """What may be shown on any screen: only the last 4 characters."""
    return "*" * max(len(plain) - 4, 0) + plain[-4:]


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python code sees the plain value.

    Never filter on it (ciphertexts differ each time): store `keyed_hash()` beside it and
    look up by that.
    """

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value in (None, "") else encrypt(value)
