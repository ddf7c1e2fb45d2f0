"""SM2 signatures with SM3 (GB/T 32918, GB/T 32905), on gmssl (PyPI, pure Python).

One form everywhere: keys as hex (private: 64 hex digits; public: x||y, 128 hex digits, an
optional leading "04" of the uncompressed point is dropped), signatures as the raw r||s, 64
bytes (what the E-Port's SignatureValue carries, base64; the U-Key answers it that way).
"SM3WITHSM2" signs SM3(Z || M), Z from the default user ID "1234567812345678" (GM/T 0009),
as gmssl's sign_with_sm3 and the E-Port client compute it.
"""

from __future__ import annotations

import secrets

from gmssl import func, sm2, sm3

CURVE = sm2.default_ecc_table  # the recommended curve of GB/T 32918.5
N = int(CURVE["n"], 16)


class SM2Error(Exception):
    """A key that is not an SM2 key of the recommended curve."""


def sm3_hex(data: bytes) -> str:
    return sm3.sm3_hash(func.bytes_to_list(data))


def sm3_digest(data: bytes) -> bytes:
    return bytes.fromhex(sm3_hex(data))


def normalise_public(public_hex: str) -> str:
    """x||y in 128 hex digits. gmssl's own lstrip("04") would also eat a leading 0 or 4 of x,
    so the prefix is cut here, by length, and never left to it."""
    value = (public_hex or "").strip().lower()
    if len(value) == 130 and value.startswith("04"):
        value = value[2:]
    if len(value) != 128 or any(c not in "0123456789abcdef" for c in value):
        raise SM2Error("an SM2 public key is 64 bytes (x||y) in hex")
    return value


def _private(private_hex: str) -> str:
    value = (private_hex or "").strip().lower()
    try:
        d = int(value, 16)
    except ValueError as exc:
        raise SM2Error("an SM2 private key is 32 bytes in hex") from exc
    if not 1 <= d < N - 1:
        raise SM2Error("the SM2 private key is out of range")
    return f"{d:064x}"


def public_key_of(private_hex: str) -> str:
    d = int(_private(private_hex), 16)
    return sm2.CryptSM2(private_key="", public_key="0" * 128)._kg(d, CURVE["g"])


def generate_private_key() -> str:
    return f"{secrets.randbelow(N - 2) + 1:064x}"


def sign(private_hex: str, data: bytes) -> bytes:
    """SM3WITHSM2 over `data`: r||s, 64 bytes (a fresh random k each time)."""
    private = _private(private_hex)
    crypt = sm2.CryptSM2(private_key=private, public_key=public_key_of(private))
    while True:  # sign() gives None for the rare k that makes r or s zero
        value = crypt.sign_with_sm3(data, func.random_hex(crypt.para_len))
        if value:
            return bytes.fromhex(value)


def verify(public_hex: str, data: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        return False
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (1 <= r < N and 1 <= s < N):
        return False
    crypt = sm2.CryptSM2(private_key="", public_key=normalise_public(public_hex))
    try:
        return bool(crypt.verify_with_sm3(signature.hex(), data))
    except (ValueError, TypeError, ZeroDivisionError):
        return False
