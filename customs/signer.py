"""The operator's signing key, behind one interface with two backends (CUSTOMS_SIGNER).

- "soft": a software SM2 key (tests, and operators with a soft certificate): the key from
  CUSTOMS_SM2_PRIVATE_KEY (hex) or the file CUSTOMS_SM2_PRIVATE_KEY_FILE; in development a key
  is generated under var/ on first use.
- "agent": a signing agent over HTTP, the way operators sign with a U-Key / IC card: the
  agent next to the card reader answers the E-Port client control's own calls, carried as
  JSON over HTTP POST to CUSTOMS_SIGNER_AGENT_URL (the real control speaks them over a local
  WebSocket, ws://127.0.0.1:61232):
      {"_id": 1, "_method": "cus-sec_SpcSignDataAsPEM",
       "args": {"inData": "<C14N of ds:SignedInfo>", "passwd": "<card PIN>"}}
   -> {"_id": 1, "_method": "cus-sec_SpcSignDataAsPEM", "_status": "00",
       "_args": {"Result": true, "Data": ["<base64 r||s>", "<certificate number>"],
                 "Error": []}}
  and "cus-sec_SpcGetSignCertAsPEM" -> Data: ["<base64 DER certificate>"] (field names as in
  Weasley-J/chinaport-data-signature's UkeyRequest and the E-Port's eportclient.js).
  customs/sandbox/sign_agent.py is a stand-in for it (`manage.py run_sign_agent`).

Both give a Signed(value=r||s, cert_no, certificate) over SM3WITHSM2 (customs.sm2).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests
from django.conf import settings

from customs import sm2
from customs.errors import GatewayUnavailable


@dataclass(frozen=True)
class Signed:
    value: bytes  # r||s, 64 bytes
    cert_no: str
    certificate: str = ""  # base64 DER, when the backend has one


class SignerError(GatewayUnavailable):
    """The key could not sign now (agent down, card refused): the message waits and is
    signed and sent again later, like any transient gateway failure."""


class Signer(Protocol):
    def sign(self, data: bytes) -> Signed: ...


class SoftSigner:
    def __init__(self, *, private_key: str, cert_no: str, certificate: str = "") -> None:
        self.private_key = private_key
        self.public_key = sm2.public_key_of(private_key)
        self.cert_no = cert_no
        self.certificate = certificate

    def sign(self, data: bytes) -> Signed:
        return Signed(sm2.sign(self.private_key, data), self.cert_no, self.certificate)


class AgentSigner:
    SIGN = "cus-sec_SpcSignDataAsPEM"
    CERT = "cus-sec_SpcGetSignCertAsPEM"

    def __init__(self, *, url: str, password: str = "", timeout: float = 10.0) -> None:
        self.url = url
        self.password = password
        self.timeout = timeout
        self.session = requests.Session()
        self.ids = itertools.count(1)
        self._certificate: str | None = None

    def _call(self, method: str, args: dict) -> list[str]:
        call_id = next(self.ids)
        try:
            response = self.session.post(
                self.url,
                json={"_id": call_id, "_method": method, "args": args},
                timeout=self.timeout,
            )
            response.raise_for_status()
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise SignerError(f"signing agent {self.url}: {exc}") from exc
        body = answer.get("_args", answer)
        if answer.get("_status", "00") != "00" or not body.get("Result"):
            raise SignerError(f"signing agent refused {method}: {body.get('Error') or answer}")
        return list(body.get("Data") or [])

    def certificate(self) -> str:
        if self._certificate is None:
            data = self._call(self.CERT, {"passwd": self.password})
            self._certificate = data[0] if data else ""
        return self._certificate

    def sign(self, data: bytes) -> Signed:
        answer = self._call(self.SIGN, {"inData": data.decode(), "passwd": self.password})
        if len(answer) < 2:
            raise SignerError("signing agent gave no signature and certificate number")
        try:
            value = base64.b64decode(answer[0], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignerError("signing agent's signature is not base64") from exc
        return Signed(value, answer[1], self.certificate())


def read_key(value: str, path: str, *, generate: Path | None = None) -> str:
    """A hex key from a setting, else from a file; in development, generated into `generate`
    on first use."""
    if value:
        return value.strip()
    if path:
        return Path(path).read_text().strip()
    if generate is None:
        raise SignerError("no SM2 key configured")
    if not generate.exists():  # created whole, once: two processes starting together agree
        generate.parent.mkdir(parents=True, exist_ok=True)
        temporary = generate.with_name(f".{generate.name}.{os.getpid()}")
        temporary.write_text(sm2.generate_private_key())
        temporary.chmod(0o600)
        try:
            os.link(temporary, generate)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return generate.read_text().strip()


def _dev_key_path(name: str) -> Path | None:
    return None if settings.PRODUCTION else Path(settings.VAR_DIR) / "eport" / name


def platform_private_key() -> str:
    return read_key(
        settings.CUSTOMS_SM2_PRIVATE_KEY,
        settings.CUSTOMS_SM2_PRIVATE_KEY_FILE,
        generate=_dev_key_path("platform_sm2.key"),
    )


def build_signer() -> Signer:
    if settings.CUSTOMS_SIGNER == "agent":
        return AgentSigner(
            url=settings.CUSTOMS_SIGNER_AGENT_URL,
            password=settings.CUSTOMS_SIGNER_AGENT_PASSWORD,
            timeout=settings.CUSTOMS_READ_TIMEOUT,
        )
    certificate = ""
    if settings.CUSTOMS_SIGNER_CERT_FILE:
        certificate = "".join(Path(settings.CUSTOMS_SIGNER_CERT_FILE).read_text().split())
        certificate = certificate.replace("-----BEGINCERTIFICATE-----", "").replace(
            "-----ENDCERTIFICATE-----", ""
        )
    return SoftSigner(
        private_key=platform_private_key(),
        cert_no=settings.CUSTOMS_SIGNER_CERT_NO,
        certificate=certificate,
    )


_signer: Signer | None = None
_signer_key: tuple | None = None


def get_signer() -> Signer:
    """One signer per process, rebuilt when its settings change (tests override them)."""
    global _signer, _signer_key
    key = (
        settings.CUSTOMS_SIGNER,
        settings.CUSTOMS_SM2_PRIVATE_KEY,
        settings.CUSTOMS_SM2_PRIVATE_KEY_FILE,
        settings.CUSTOMS_SIGNER_AGENT_URL,
        settings.CUSTOMS_SIGNER_CERT_NO,
    )
    if _signer is None or _signer_key != key:
        _signer, _signer_key = build_signer(), key
    return _signer
