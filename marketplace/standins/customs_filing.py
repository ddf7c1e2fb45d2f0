"""The payment company's side of customs, for the stand-ins: once WeChat Pay or Alipay has
accepted a merchant's customs declaration, it files the payment record (CEB411) with customs
itself, under its own customs code. The stand-ins do the same with the local authority: the
record in the project's own format (customs/messages.py), posted over the sandbox contract's
signed HTTP (customs/gateway.py HttpTransport) with the payment company as the sender.

Filing runs on a background thread after the declaration is answered, retried with backoff
while the authority is unreachable, and idempotent: the message and record guids derive from
the payment company, the order and the transaction, so a declaration asked for again (or a
retry whose answer was lost) is the same filing, which the authority answers as a duplicate.
Log lines name orders and guids, never the payer's resident ID."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from customs import messages
from customs.errors import GatewayRejected, GatewayUnavailable, InvalidMessage
from customs.gateway import HttpTransport

logger = logging.getLogger("marketplace.standins")
GUIDS = uuid.UUID("6f1d3c52-8a4e-4f0b-9a57-2b0c1d7e4f10")  # namespace of the filing guids


@dataclass(frozen=True)
class PaymentRecord:
    """A CEB411 payment record as the payment company holds the payment."""

    pay_code: str
    pay_name: str
    pay_transaction_id: str
    order_no: str
    ebp_code: str
    ebp_name: str
    payer_name: str
    payer_id_number: str
    telephone: str
    amount_paid: Decimal
    pay_time: datetime

    @property
    def key(self) -> str:
        return f"{self.pay_code}|{self.order_no}|{self.pay_transaction_id}"

    @property
    def guid(self) -> str:
        return str(uuid.uuid5(GUIDS, f"record|{self.key}")).upper()

    @property
    def message_guid(self) -> str:
        return str(uuid.uuid5(GUIDS, f"message|{self.key}")).upper()

    def xml(self) -> bytes:
        head = {
            "guid": self.guid, "appType": "1", "appTime": messages.time14(self.pay_time),
            "appStatus": "2", "payCode": self.pay_code, "payName": self.pay_name,
            "payTransactionId": self.pay_transaction_id, "orderNo": self.order_no,
            "ebpCode": self.ebp_code, "ebpName": self.ebp_name or self.ebp_code,
            "payerIdType": "1", "payerIdNumber": self.payer_id_number,
            "payerName": self.payer_name, "telephone": self.telephone,
            "amountPaid": self.amount_paid, "currency": "142",
            "payTime": messages.time14(self.pay_time),
        }  # fmt: skip
        return messages.render(
            message_type="CEB411", guid=self.message_guid, records=[{"head": head}],
            sender_code=self.pay_code, sender_name=self.pay_name,
        )  # fmt: skip


class CustomsFiler:
    """Files payment records with the authority at `customs_url` (the sandbox's /customs),
    signed with `secret` (CUSTOMS_GATEWAY_SECRET), each under its payment company's code."""

    def __init__(self, *, customs_url: str, secret: str, retry_seconds: float = 2.0,
                 max_retry_seconds: float = 60.0) -> None:  # fmt: skip
        self.customs_url, self.secret = customs_url, secret
        self.retry_seconds, self.max_retry_seconds = retry_seconds, max_retry_seconds
        self.transports: dict[str, HttpTransport] = {}
        self.filings: dict[str, dict] = {}  # by record guid: state, attempts, answer
        self.queue: dict[str, tuple[float, PaymentRecord]] = {}  # guid -> (due, record)
        self.wake = threading.Condition()
        threading.Thread(target=self._run, daemon=True, name="customs-filer").start()

    def submit(self, record: PaymentRecord) -> str:
        """Queue a filing; the same payment again is the same filing (filed once)."""
        with self.wake:
            if record.guid not in self.filings:
                self.filings[record.guid] = {
                    "order_no": record.order_no, "pay_code": record.pay_code,
                    "pay_transaction_id": record.pay_transaction_id, "state": "queued",
                    "attempts": 0, "answer": None,
                }  # fmt: skip
                self.queue[record.guid] = (time.monotonic(), record)
                self.wake.notify()
        return record.guid

    def filed(self, order_no: str) -> list[dict]:
        with self.wake:
            return [dict(f) for f in self.filings.values() if f["order_no"] == order_no]

    def _transport(self, sender: str) -> HttpTransport:
        if sender not in self.transports:
            self.transports[sender] = HttpTransport(
                customs_url=self.customs_url, secret=self.secret, sender=sender
            )
        return self.transports[sender]

    def _run(self) -> None:
        while True:
            with self.wake:
                while not self.queue or min(d for d, _ in self.queue.values()) > time.monotonic():
                    due = min((d for d, _ in self.queue.values()), default=None)
                    self.wake.wait(None if due is None else max(due - time.monotonic(), 0))
                guid, (_due, record) = min(self.queue.items(), key=lambda kv: kv[1][0])
                filing = self.filings[guid]
                filing["attempts"] += 1
            try:
                self._file(record, filing)
            except Exception:  # never let one filing stop the thread
                logger.exception("filing CEB411 %s failed", guid)
                self._retry(guid, record, filing, "error")

    def _file(self, record: PaymentRecord, filing: dict) -> None:
        try:
            xml = record.xml()
        except InvalidMessage as exc:  # e.g. no payer identity: sending it again cannot help
            self._done(record, filing, "invalid", exc.message)
            logger.warning("CEB411 for %s not filed: %s", record.order_no, exc.message)
            return
        try:
            result = self._transport(record.pay_code).send(
                authority="customs", message_guid=record.message_guid, xml=xml,
                order_nos=[record.order_no],
            )  # fmt: skip
        except GatewayUnavailable as exc:
            self._retry(record.guid, record, filing, str(exc))
            return
        except GatewayRejected as exc:
            self._done(record, filing, "refused", exc.message)
            # The reason may quote a field's value (the payer's ID): only the status is logged.
            logger.warning("CEB411 for %s refused: HTTP %s", record.order_no,
                           exc.extra.get("http_status"))  # fmt: skip
            return
        answers = result.body.get("records") or [{}]
        self._done(record, filing, "filed", answers[0].get("returnStatus"))
        logger.info("CEB411 %s for %s filed by %s: %s", record.guid, record.order_no,
                    record.pay_code, filing["answer"])  # fmt: skip

    def _done(self, record: PaymentRecord, filing: dict, state: str, answer) -> None:
        """An outcome no retry changes: kept for `filed`, taken off the queue."""
        with self.wake:
            filing.update(state=state, answer=answer)
            self.queue.pop(record.guid, None)

    def _retry(self, guid: str, record: PaymentRecord, filing: dict, why: str) -> None:
        delay = min(self.retry_seconds * 2 ** (filing["attempts"] - 1), self.max_retry_seconds)
        with self.wake:
            filing["last_error"] = why[:200]
            self.queue[guid] = (time.monotonic() + delay, record)
        logger.info("CEB411 for %s not filed (%s): again in %.1f s", record.order_no, why, delay)
