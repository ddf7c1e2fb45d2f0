"""A local stand-in for the China E-Port client and the authority behind it (its own process:
`manage.py run_eport_standin`).

It follows the exchange-folder contract of customs/exchange.py, not ours: it picks the DXP
files the platform writes to the outbox, opens the envelope, verifies the SM2 signature
against the platform's registered key (customs/xmlsig.py) and hands the message to the
sandbox authority's own decision logic (customs/sandbox/server.py, authority.py), so orders
clear as they do against the sandbox. Every receipt the authority gives is written, signed
with the stand-in's own SM2 key, in its DXP envelope, to the inbox. A message it cannot take
(not an envelope, bad signature, not valid) is answered with the format-error receipt CEB900.
Taken files move to the "sent" folder, as the client moves what it has delivered.

It also plays customs' side of the real-time data request (customs/realtime.py): it serves
the upload endpoint (POST /ceb2grab/grab/realTimeDataUpload, form field payExInfoStr) and asks
the platform for an order's data on POST /standin/query {"orderNo"}.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from customs import exchange, sm2, xmlsig
from customs.sandbox.authority import Knobs
from customs.sandbox.server import RECEIPT_TYPES, Sandbox
from customs.signer import SoftSigner

logger = logging.getLogger("customs.eport_standin")


class EPortStandIn(Sandbox):
    def __init__(self, *, db_path: str, outbox: str, inbox: str, sent: str, private_key: str,
                 platform_keys: dict[str, str], ciq_receiver: str, receiver: str,
                 knobs: Knobs | None = None, poll_seconds: float = 0.2) -> None:  # fmt: skip
        knobs = knobs or Knobs()
        knobs.push_receipts = False
        # no HTTP pushes here: the HMAC key of the sandbox contract is never used
        super().__init__(db_path=db_path, secret=secrets.token_hex(16), knobs=knobs)
        self.outbox_dir, self.inbox_dir, self.sent_dir = Path(outbox), Path(inbox), Path(sent)
        self.signer = SoftSigner(private_key=private_key, cert_no="EPORT-STANDIN")
        self.platform_keys = {k: sm2.normalise_public(v) for k, v in platform_keys.items()}
        self.receiver, self.ciq_receiver = receiver, ciq_receiver
        self.poll_seconds = poll_seconds
        self.stats |= {"files": 0, "format_errors": 0}
        threading.Thread(target=self._run_outbox, daemon=True, name="outbox").start()

    # --- outbox: what the platform sends ---------------------------------------------------
    def _run_outbox(self) -> None:
        while True:
            try:
                for path in exchange.ready_files(self.outbox_dir, settle_seconds=0,
                                                 now=time.time()):  # fmt: skip
                    self.take(path)
            except Exception:
                logger.exception("E-Port stand-in outbox run failed")
            time.sleep(self.poll_seconds)

    def take(self, path: Path) -> None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return
        guid = path.stem.rsplit("_", 1)[-1]
        message_type = path.name.split("_", 1)[0].removesuffix("Message")
        authority = "customs"
        try:
            envelope = exchange.unwrap(raw)
            guid, message_type = envelope["guid"], envelope["msg_type"].removesuffix("Message")
            authority = "ciq" if self.ciq_receiver in envelope["receivers"] else "customs"
            verified = xmlsig.verify_xml(envelope["xml"], self.platform_keys.get)
            status, answer = self.receive(authority, verified.xml)
            if status != 200:
                raise exchange.ExchangeError(answer.get("reason", f"refused ({status})"))
            self.answer_again(authority, message_type, answer)
        except xmlsig.SignatureInvalid as exc:
            self.format_error(authority, guid, message_type, f"bad signature: {exc.reason}")
        except exchange.ExchangeError as exc:
            self.format_error(authority, guid, message_type, str(exc))
        except Exception as exc:  # a message the authority's code could not handle
            logger.exception("E-Port stand-in could not process %s", path.name)
            self.format_error(authority, guid, message_type, f"not processed: {exc!r}"[:480])
        self.stats["files"] += 1
        exchange.move(path, self.sent_dir)

    def answer_again(self, authority: str, message_type: str, answer: dict) -> None:
        """A file exchange has no synchronous answer: what the HTTP sandbox says in its
        response to a re-sent message or record (its current status, or "duplicate business
        key") comes as a receipt file here, as the E-Port answers a re-sent record."""
        for record in answer.get("records", []):
            if not (answer.get("duplicate") or record.get("returnStatus") != 2):
                continue
            status, info = record["returnStatus"], record.get("returnInfo", "")
            held = self._one("SELECT status, info FROM records WHERE authority=? AND guid=?",
                             authority, record["declGuid"])  # fmt: skip
            if answer.get("duplicate") and held:  # the stored answer is the first one
                status, info = held[0], held[1] or ""
            self.write_receipt(authority, RECEIPT_TYPES[message_type], {
                "guid": record["declGuid"], "orderNo": record.get("orderNo", ""),
                "returnStatus": status, "returnInfo": info,
            })  # fmt: skip

    # --- inbox: what the platform receives -------------------------------------------------
    def format_error(self, authority: str, guid: str, message_type: str, reason: str) -> None:
        self.stats["format_errors"] += 1
        self.write_receipt(authority, "CEB900", {
            "guid": guid, "messageGuid": guid, "messageType": message_type,
            "returnStatus": -1, "returnInfo": reason[:480],
        })  # fmt: skip

    def deliver(self, body: dict) -> None:
        self.write_receipt(body["authority"], body["messageType"], {
            "guid": body["declGuid"], "orderNo": body["orderNo"],
            "returnStatus": body["returnStatus"], "returnInfo": body["returnInfo"],
            "invtNo": body.get("invtNo", ""),
        }, guid=body["guid"])  # fmt: skip

    def write_receipt(self, authority: str, message_type: str, row: dict, guid: str = "") -> None:
        guid = guid or str(uuid.uuid4())
        now = datetime.now(UTC)
        xml = exchange.render_receipt(
            message_type=message_type, guid=guid, returns=[{**row, "returnTime": now}]
        )
        signed = xmlsig.sign_xml(xml, self.signer)
        sender = self.ciq_receiver if authority == "ciq" else self.receiver
        msg_type = f"{message_type}Message"
        raw = exchange.wrap(xml=signed, guid=guid, msg_type=msg_type, sender=sender,
                            receiver="PLATFORM", now=now)  # fmt: skip
        name = exchange.file_name(msg_type=msg_type, sender=sender, guid=guid, now=now)
        exchange.write_atomic(self.inbox_dir, name, raw)
