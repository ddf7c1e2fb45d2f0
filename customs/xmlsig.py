"""The XML digital signature the China E-Port requires on every CEB message, SM2 with SM3.

An enveloped ds:Signature, the last child of the message's root (after ceb:BaseTransfer), as
the E-Port's samples and the public data-signature services build it (Weasley-J/
chinaport-data-signature: CEB621Message_signed.xml and its SignHandler; the Kotlin
ClientEndPointCertType enum of me.zhengjin.customs for the SM2 identifiers):

    <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
      <ds:SignedInfo>
        <ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>
        <ds:SignatureMethod Algorithm="http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"/>
        <ds:Reference URI="">
          <ds:Transforms>
            <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
          </ds:Transforms>
          <ds:DigestMethod Algorithm="http://www.chinaport.gov.cn/2022/04/xmldsig#sm3"/>
          <ds:DigestValue>base64(SM3(C14N(message without its ds:Signature)))</ds:DigestValue>
        </ds:Reference>
      </ds:SignedInfo>
      <ds:SignatureValue>base64(SM2-with-SM3 r||s over C14N(ds:SignedInfo))</ds:SignatureValue>
      <ds:KeyInfo>
        <ds:KeyName>the certificate number (the U-Key's cus-sec_SpcGetCertNo)</ds:KeyName>
        <ds:X509Data><ds:X509Certificate>base64 DER</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </ds:Signature>

The RSA variant (rsa-sha1 / sha1) of older certificates is not produced. C14N is inclusive
C14N 1.0 without comments (lxml): SignedInfo is canonicalised in place, inside the message,
so it carries the namespaces in scope (xmlns:ceb, xmlns:ds), as the U-Key's inData does.

The verifier never trusts the key a message brings: the certificate number names the key
registered for it (`public_key_for`), as the E-Port checks against its registry.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from customs import sm2

DS = "http://www.w3.org/2000/09/xmldsig#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
SM2_SM3 = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"
SM3 = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"


class SignatureInvalid(Exception):
    """The message's signature does not hold: `reason` says why (for the CEB900 receipt and
    the quarantine)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Verified:
    cert_no: str
    xml: bytes  # the message without its signature, as it was signed


def _ds(tag: str) -> str:
    return f"{{{DS}}}{tag}"


def _parse(xml: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise SignatureInvalid(f"not well-formed XML: {exc}") from exc


def c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=False, with_comments=False)


def _digest(root: etree._Element) -> str:
    """SM3 of the message without any ds:Signature of its root (the enveloped transform)."""
    copy = etree.fromstring(etree.tostring(root))
    for signature in copy.findall(_ds("Signature")):
        copy.remove(signature)
    return base64.b64encode(sm2.sm3_digest(c14n(copy))).decode()


def unsigned(xml: bytes) -> bytes:
    """The message with its signature taken off (what the XSDs describe)."""
    root = _parse(xml)
    for signature in root.findall(_ds("Signature")):
        root.remove(signature)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def sign_xml(xml: bytes, signer) -> bytes:
    """Sign a CEB message (any earlier signature is replaced) with a customs.signer.Signer."""
    root = _parse(xml)
    for old in root.findall(_ds("Signature")):
        root.remove(old)
    digest = _digest(root)
    signature = etree.SubElement(root, _ds("Signature"), nsmap={"ds": DS})
    info = etree.SubElement(signature, _ds("SignedInfo"))
    etree.SubElement(info, _ds("CanonicalizationMethod"), Algorithm=C14N)
    etree.SubElement(info, _ds("SignatureMethod"), Algorithm=SM2_SM3)
    reference = etree.SubElement(info, _ds("Reference"), URI="")
    transforms = etree.SubElement(reference, _ds("Transforms"))
    etree.SubElement(transforms, _ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=SM3)
    etree.SubElement(reference, _ds("DigestValue")).text = digest
    signed = signer.sign(c14n(info))
    value = base64.b64encode(signed.value).decode()
    etree.SubElement(signature, _ds("SignatureValue")).text = value
    key_info = etree.SubElement(signature, _ds("KeyInfo"))
    etree.SubElement(key_info, _ds("KeyName")).text = signed.cert_no
    if signed.certificate:
        x509 = etree.SubElement(key_info, _ds("X509Data"))
        etree.SubElement(x509, _ds("X509Certificate")).text = signed.certificate
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def verify_xml(xml: bytes, public_key_for: Callable[[str], str | None]) -> Verified:
    """Raise SignatureInvalid unless the message carries one E-Port SM2 signature that holds
    under the key registered for its certificate number."""
    root = _parse(xml)
    signatures = root.findall(_ds("Signature"))
    if len(signatures) != 1:
        raise SignatureInvalid(f"{len(signatures)} ds:Signature elements, one expected")
    signature = signatures[0]
    info = signature.find(_ds("SignedInfo"))
    if info is None:
        raise SignatureInvalid("no ds:SignedInfo")

    def algorithm(path: str) -> str:
        element = info.find(path, {"ds": DS})
        return element.get("Algorithm", "") if element is not None else ""

    expected = {
        "ds:CanonicalizationMethod": C14N,
        "ds:SignatureMethod": SM2_SM3,
        "ds:Reference/ds:DigestMethod": SM3,
        "ds:Reference/ds:Transforms/ds:Transform": ENVELOPED,
    }
    for path, value in expected.items():
        if algorithm(path) != value:
            raise SignatureInvalid(f"{path} is {algorithm(path) or 'missing'}, not {value}")
    references = info.findall(_ds("Reference"))
    if len(references) != 1 or references[0].get("URI") != "":
        raise SignatureInvalid('one ds:Reference URI="" expected (the whole message)')
    cert_no = (signature.findtext(f"{_ds('KeyInfo')}/{_ds('KeyName')}") or "").strip()
    public_key = public_key_for(cert_no) if cert_no else None
    if not public_key:
        raise SignatureInvalid(f"certificate {cert_no or '(none)'} is not registered")
    try:
        value = base64.b64decode(signature.findtext(_ds("SignatureValue")) or "", validate=False)
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("SignatureValue is not base64") from exc
    if not sm2.verify(public_key, c14n(info), value):
        raise SignatureInvalid("SignatureValue does not verify (wrong key or altered SignedInfo)")
    digest = (references[0].findtext(_ds("DigestValue")) or "").strip()
    if digest != _digest(root):
        raise SignatureInvalid("DigestValue does not match the message (altered after signing)")
    root.remove(signature)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return Verified(cert_no=cert_no, xml=xml)
