"""The China E-Port transport: signed CEB messages through the E-Port client's exchange folders.

Chosen by configuration only: CUSTOMS_TRANSPORT=eport (or customs.eport.EPortTransport). Each
message is signed (customs/xmlsig.py, the key behind customs/signer.py), put in its DXP
envelope and written atomically to CUSTOMS_EPORT_OUTBOX (customs/exchange.py has the naming
and the envelope). The client delivers it; its receipts land in CUSTOMS_EPORT_INBOX and are
read by the periodic task customs.tasks.eport_inbox_process (customs/services/exchange.py),
applied through the receipts service exactly like pushed ones.

What the file exchange has no counterpart for:
- no synchronous answer: send() returns no records; "2 declaring" comes as a receipt file;
- no receipt pushes over HTTP: verify_receipt_push refuses every push;
- no status query: query_status raises GatewayRejected, so the overdue check re-sends (the
  authority answers a re-sent record with its current state);
- officers' inspection decisions are taken at customs, not sent by the platform: refused.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.utils import timezone

from config.callbacks import CallbackRefused
from customs import exchange, sm2, xmlsig
from customs.errors import GatewayRejected, GatewayUnavailable
from customs.gateway import SendResult
from customs.signer import get_signer, read_key


class EPortTransport:
    def receiver(self, authority: str) -> str:
        if authority == "ciq":
            return settings.CUSTOMS_EPORT_CIQ_RECEIVER_ID
        return settings.CUSTOMS_EPORT_RECEIVER_ID

    def send(self, *, authority: str, message_guid: str, xml: bytes, order_nos: list[str]):
        signed = xmlsig.sign_xml(xml, get_signer())
        message_type = signed_type(xml)
        now = timezone.now()
        sender = settings.CUSTOMS_EPORT_DXP_ID
        envelope = exchange.wrap(
            xml=signed, guid=message_guid, msg_type=f"{message_type}Message", sender=sender,
            receiver=self.receiver(authority), now=now,
        )  # fmt: skip
        name = exchange.file_name(
            msg_type=f"{message_type}Message", sender=sender, guid=message_guid, now=now
        )
        try:
            exchange.write_atomic(settings.CUSTOMS_EPORT_OUTBOX, name, envelope)
        except OSError as exc:  # a full or unmounted exchange folder: try again later
            raise GatewayUnavailable(f"E-Port outbox: {exc}") from exc
        return SendResult(http_status=None, body={"file": name, "records": []})

    def fetch_receipts(self, *, authority: str, after: int) -> dict:
        return {"receipts": [], "next": after}  # receipts come as inbox files

    def send_decision(self, *, authority: str, decl_guid: str, decision: str, note: str) -> dict:
        raise GatewayRejected("inspection decisions are taken at customs, not sent over the E-Port")

    def query_status(self, *, authority: str, records: list[dict]) -> dict:
        raise GatewayRejected("the E-Port exchange offers no status query")

    def verify_receipt_push(
        self, *, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> None:
        raise CallbackRefused("bad_signature")  # receipts come as inbox files only

    def verify_file(self, xml: bytes) -> xmlsig.Verified:
        """A receipt message as the authority signed it; raises xmlsig.SignatureInvalid."""
        key = authority_public_key()
        return xmlsig.verify_xml(xml, lambda _cert_no: key)


def signed_type(xml: bytes) -> str:
    """CEB311 of a ceb:CEB311Message (the XML was validated against its XSD before)."""
    from lxml import etree

    return etree.QName(etree.fromstring(xml)).localname.removesuffix("Message")


def authority_public_key() -> str:
    """The key receipts and real-time queries must verify under; in development, the
    stand-in's (generated under var/eport/ on first use by either side)."""
    if settings.CUSTOMS_EPORT_AUTHORITY_PUBLIC_KEY:
        return sm2.normalise_public(settings.CUSTOMS_EPORT_AUTHORITY_PUBLIC_KEY)
    return sm2.public_key_of(standin_private_key())


def standin_private_key() -> str:
    from pathlib import Path

    generate = None if settings.PRODUCTION else Path(settings.VAR_DIR) / "eport" / "standin_sm2.key"
    return read_key(settings.CUSTOMS_EPORT_STANDIN_PRIVATE_KEY, "", generate=generate)
