"""SM2/SM3 signatures of CEB messages: the standard's vectors, the XML signature the E-Port
checks (good, wrong key, tampered after signing, bad signature), and both signer backends."""

import base64
import threading

import pytest
from gmssl import sm2 as gm
from lxml import etree

from customs import sm2, xmlsig
from customs.sandbox.sign_agent import make_server
from customs.signer import AgentSigner, SignerError, SoftSigner

MESSAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<ceb:CEB311Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" guid="G-1" version="1.0">'
    b"<ceb:Order><ceb:OrderHead><ceb:orderNo>BP-1</ceb:orderNo>"
    b"<ceb:acturalPaid>105.00</ceb:acturalPaid><ceb:buyerName>\xe5\xbc\xa0\xe4\xb8\x89"
    b"</ceb:buyerName></ceb:OrderHead></ceb:Order>"
    b"<ceb:BaseTransfer><ceb:copCode>4101260001</ceb:copCode></ceb:BaseTransfer>"
    b"</ceb:CEB311Message>"
)


def test_sm3_vectors_of_gb_t_32905():
    assert sm2.sm3_hex(b"abc") == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )
    assert sm2.sm3_hex(b"abcd" * 16) == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_sm2_signature_vector_of_gb_t_32918_annex_a():
    """GB/T 32918.2-2016 Annex A.2 (its Fp-256 test curve, ID ALICE123@YAHOO.COM, fixed k):
    the library's arithmetic gives the standard's public key, Z_A, e, r and s."""
    curve = {
        "p": "8542d69e4c044f18e8b92435bf6ff7de457283915c45517d722edb8b08f1dfc3",
        "a": "787968b4fa32c3fd2417842e73bbfeff2f3c848b6831d7e0ec65228b3937e498",
        "b": "63e4c6d3b23b0c849cf84241484bfe48f61d59a5b16ba06e6e12d1da27c5249a",
        "g": "421debd61b62eab6746434ebc3cc315e32220b3badd50bdc4c4e6c147fedd43d"
        "0680512bcbb42c07d47349d2153b70c4e5d7fdfcbfa36ea1a85841b9e46e09a2",
        "n": "8542d69e4c044f18e8b92435bf6ff7dd297720630485628d5ae74ee7c32e79b7",
    }
    d = "128b2fa8bd433c6c068c8d803dff79792a519a55171b1b650c23661d15897263"
    public = gm.CryptSM2(private_key=d, public_key="0" * 128, ecc_table=curve)._kg(
        int(d, 16), curve["g"]
    )
    assert public == (
        "0ae4c7798aa0f119471bee11825be46202bb79e2a5844495e97c04ff4df2548a"
        "7c0240f88f1cd4e16352a73c17b7f16f07353e53a176d684a9fe0c6bb798e857"
    )
    uid = b"ALICE123@YAHOO.COM"
    z = (
        (len(uid) * 8).to_bytes(2, "big")
        + uid
        + bytes.fromhex(curve["a"] + curve["b"] + curve["g"] + public)
    )
    za = sm2.sm3_hex(z)
    assert za == "f4a38489e32b45b6f876e3ac2168ca392362dc8f23459c1d1146fc3dbfb7bc9a"
    e = sm2.sm3_digest(bytes.fromhex(za) + b"message digest")
    assert e.hex() == "b524f552cd82b8b028476e005c377fb19a87e6fc682d48bb5d42e3d9b9effe76"
    crypt = gm.CryptSM2(private_key=d, public_key=public, ecc_table=curve)
    k = "6cb28d99385c175c94f94e934817663fc176d925dd72b727260dbaae1fb2f96f"
    signature = crypt.sign(e, k)
    assert signature == (
        "40f1ec59f793d9f49e09dcef49130d4194f79fb1eed2caa55bacdb49c4e755d1"
        "6fc6dac32c5d5cf10c77dfb20f7c2eb667a457872fb09ec56327a67ec7deebe7"
    )
    assert crypt.verify(signature, e)
    assert not crypt.verify(signature, sm2.sm3_digest(b"message digesT"))


def test_sm2_sign_verify_on_the_recommended_curve():
    key = sm2.generate_private_key()
    public = sm2.public_key_of(key)
    signature = sm2.sign(key, b"payload")
    assert len(signature) == 64
    assert sm2.verify(public, b"payload", signature)
    assert sm2.verify("04" + public, b"payload", signature)  # uncompressed-point form too
    assert not sm2.verify(public, b"payloaD", signature)
    assert not sm2.verify(sm2.public_key_of(sm2.generate_private_key()), b"payload", signature)
    assert not sm2.verify(public, b"payload", signature[:63] + bytes([signature[63] ^ 1]))


@pytest.fixture
def soft():
    return SoftSigner(private_key=sm2.generate_private_key(), cert_no="01691fe9")


def registry_of(*signers):
    keys = {s.cert_no: s.public_key for s in signers}
    return keys.get


def test_signed_message_has_the_e_port_signature_and_verifies(soft):
    signed = xmlsig.sign_xml(MESSAGE, soft)
    root = etree.fromstring(signed)
    ns = {"ds": xmlsig.DS}
    signature = root[-1]
    assert signature.tag == f"{{{xmlsig.DS}}}Signature"
    info = signature.find("ds:SignedInfo", ns)
    assert info.find("ds:CanonicalizationMethod", ns).get("Algorithm") == (
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    )
    assert info.find("ds:SignatureMethod", ns).get("Algorithm") == (
        "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"
    )
    reference = info.find("ds:Reference", ns)
    assert reference.get("URI") == ""
    assert reference.find("ds:DigestMethod", ns).get("Algorithm") == (
        "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3"
    )
    assert signature.findtext("ds:KeyInfo/ds:KeyName", namespaces=ns) == "01691fe9"
    # DigestValue is SM3 of the canonical message without the signature
    expected = base64.b64encode(sm2.sm3_digest(xmlsig.c14n(etree.fromstring(MESSAGE))))
    assert reference.findtext("ds:DigestValue", namespaces=ns) == expected.decode()
    verified = xmlsig.verify_xml(signed, registry_of(soft))
    assert verified.cert_no == "01691fe9"
    assert xmlsig.c14n(etree.fromstring(verified.xml)) == xmlsig.c14n(etree.fromstring(MESSAGE))


def test_wrong_key_is_refused(soft):
    other = SoftSigner(private_key=sm2.generate_private_key(), cert_no="01691fe9")
    signed = xmlsig.sign_xml(MESSAGE, other)  # same certificate number, another key
    with pytest.raises(xmlsig.SignatureInvalid, match="does not verify"):
        xmlsig.verify_xml(signed, registry_of(soft))


def test_unregistered_certificate_is_refused(soft):
    with pytest.raises(xmlsig.SignatureInvalid, match="not registered"):
        xmlsig.verify_xml(xmlsig.sign_xml(MESSAGE, soft), {}.get)


def test_tampered_after_signing_is_refused(soft):
    signed = xmlsig.sign_xml(MESSAGE, soft)
    tampered = signed.replace(b"105.00", b"1.05")
    assert tampered != signed
    with pytest.raises(xmlsig.SignatureInvalid, match="altered after signing"):
        xmlsig.verify_xml(tampered, registry_of(soft))


def test_bad_signature_value_and_altered_signed_info_are_refused(soft):
    signed = xmlsig.sign_xml(MESSAGE, soft)
    root = etree.fromstring(signed)
    ns = {"ds": xmlsig.DS}
    value = root.find("ds:Signature/ds:SignatureValue", ns)
    raw = bytearray(base64.b64decode(value.text))
    raw[5] ^= 0x40
    value.text = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(xmlsig.SignatureInvalid, match="does not verify"):
        xmlsig.verify_xml(etree.tostring(root), registry_of(soft))
    # a digest recomputed over altered content does not help: SignedInfo is signed
    root = etree.fromstring(signed.replace(b"105.00", b"1.05"))
    digest = root.find("ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue", ns)
    copy = etree.fromstring(etree.tostring(root))
    copy.remove(copy[-1])
    digest.text = base64.b64encode(sm2.sm3_digest(xmlsig.c14n(copy))).decode()
    with pytest.raises(xmlsig.SignatureInvalid, match="does not verify"):
        xmlsig.verify_xml(etree.tostring(root), registry_of(soft))


def test_unsigned_and_other_algorithms_are_refused(soft):
    with pytest.raises(xmlsig.SignatureInvalid, match="0 ds:Signature"):
        xmlsig.verify_xml(MESSAGE, registry_of(soft))
    rsa = xmlsig.sign_xml(MESSAGE, soft).replace(
        b"2022/04/xmldsig#sm2-sm3", b"2000/09/xmldsig#rsa-sha1"
    )
    with pytest.raises(xmlsig.SignatureInvalid, match="SignatureMethod"):
        xmlsig.verify_xml(rsa, registry_of(soft))


@pytest.fixture
def agent():
    key = sm2.generate_private_key()
    server = make_server(host="127.0.0.1", port=0, private_key=key, cert_no="UKEY-7",
                         password="88888888", certificate="TUlJQ0VSVA==")  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/", sm2.public_key_of(key)
    server.shutdown()
    server.server_close()


def test_agent_signer_signs_through_the_agent(agent):
    url, public = agent
    signer = AgentSigner(url=url, password="88888888")
    signed = xmlsig.sign_xml(MESSAGE, signer)
    root = etree.fromstring(signed)
    ns = {"ds": xmlsig.DS}
    assert root.findtext("ds:Signature/ds:KeyInfo/ds:KeyName", namespaces=ns) == "UKEY-7"
    assert (
        root.findtext("ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=ns)
        == "TUlJQ0VSVA=="
    )
    assert xmlsig.verify_xml(signed, {"UKEY-7": public}.get).cert_no == "UKEY-7"


def test_agent_refusing_the_pin_or_down_is_a_transient_failure(agent):
    url, _public = agent
    with pytest.raises(SignerError, match="PIN refused"):
        AgentSigner(url=url, password="wrong").sign(b"<x/>")
    with pytest.raises(SignerError):
        AgentSigner(url="http://127.0.0.1:9/", timeout=0.5).sign(b"<x/>")
