"""Keys of the real payment adapters (WeChat Pay, Alipay): read from the PEM files the settings
name. On a development node (sandboxes enabled) whose key paths are unset, the adapters and
their local stand-ins (marketplace/standins/) share a generated set under
var/payment-standin/: made once, atomically, by whichever process needs it first."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# (file, what it is): the merchant's keys (we sign with them) and the provider's (the stand-in
# signs with them; the adapter holds only the public half).
STANDIN_FILES = (
    "wechatpay-merchant-private.pem",
    "wechatpay-merchant-public.pem",
    "wechatpay-platform-private.pem",
    "wechatpay-platform-public.pem",
    "alipay-app-private.pem",
    "alipay-app-public.pem",
    "alipay-private.pem",
    "alipay-public.pem",
    "wechatpay-apiv3.key",
)


def new_rsa_pair() -> tuple[str, str]:
    """(private PKCS#8 PEM, public SubjectPublicKeyInfo PEM) of a fresh RSA-2048 key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def standin_dir() -> Path:
    return Path(settings.PAYMENT_STANDIN_KEY_DIR)


def ensure_standin_keys() -> Path:
    """The development key set, generated once (a temporary folder renamed into place, so two
    processes starting together agree on one set)."""
    target = standin_dir()
    if (target / STANDIN_FILES[-1]).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".payment-standin-", dir=target.parent))
    for name in ("wechatpay-merchant", "wechatpay-platform", "alipay-app", "alipay"):
        private, public = new_rsa_pair()
        (tmp / f"{name}-private.pem").write_text(private)
        (tmp / f"{name}-public.pem").write_text(public)
    (tmp / "wechatpay-apiv3.key").write_text(secrets.token_hex(16))  # 32 characters
    try:
        os.rename(tmp, target)
    except OSError:  # another process won the race: use its set
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def read_key(setting: str, standin_file: str) -> str:
    """The PEM (or key text) the setting names; on a development node without it, the
    stand-in's generated one. Production without the setting is refused (config/checks.py
    refuses it at start too)."""
    path = getattr(settings, setting, "")
    if not path:
        if not settings.SANDBOXES_ENABLED:
            raise ImproperlyConfigured(f"{setting} must name a key file in production.")
        path = str(ensure_standin_keys() / standin_file)
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"{setting}: cannot read {path} ({exc.strerror}).") from None
