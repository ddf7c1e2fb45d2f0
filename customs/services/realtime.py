"""Customs' real-time data request: record the query, assemble the original data, upload it
signed (customs/realtime.py has the wire format), record what was sent and the answer."""

from __future__ import annotations

import json
import logging
import uuid

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.tasks import send_on_commit
from customs import realtime
from customs.eport import authority_public_key
from customs.errors import GatewayUnavailable
from customs.messages import time14
from customs.models import Declaration, RealtimeQuery
from customs.signer import get_signer

logger = logging.getLogger(__name__)
Q = RealtimeQuery.State


class QueryRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def realtime_query_receive(*, query: dict) -> RealtimeQuery:
    """A verified query is recorded once per sessionID and its upload queued; raise
    QueryRefused (code, message) for a bad signature, a malformed query or an unknown order
    (the last is recorded too, for staff)."""
    try:
        order_no, session_id = str(query["orderNo"]), str(query["sessionID"])
        service_time = str(query["serviceTime"])
    except (KeyError, TypeError) as exc:
        raise QueryRefused(realtime.BAD_REQUEST, f"malformed query: {exc}") from exc
    message = realtime.query_sign_string(query)
    if not realtime.signature_holds(authority_public_key(), message, query.get("signValue", "")):
        raise QueryRefused(realtime.BAD_SIGNATURE, "the query's signature does not verify")
    known = Declaration.objects.filter(order_no=order_no, kind="payment").exists()
    with transaction.atomic():
        row, created = RealtimeQuery.objects.get_or_create(
            session_id=session_id[:128],
            defaults={"order_no": order_no[:64], "service_time": service_time[:20],
                      "state": Q.RECEIVED if known else Q.UNKNOWN_ORDER},
        )  # fmt: skip
        if created and known:
            send_on_commit("customs.tasks.realtime_data_upload", args=(row.pk,))
    if row.state == Q.UNKNOWN_ORDER:
        raise QueryRefused(realtime.UNKNOWN_ORDER, f"no paid order {order_no} on this platform")
    return row


def original_data(order_no: str, session_id: str) -> dict:
    """The order's original payment data, from what was filed with customs."""
    payment = Declaration.objects.filter(order_no=order_no, kind="payment").latest("created_at")
    order = Declaration.objects.filter(order_no=order_no, kind="order").first()
    p = payment.payload
    lines = (order.payload.get("lines") if order else None) or []
    initial = {
        "orderNo": order_no, "payTransactionId": p["pay_transaction_id"],
        "amountPaid": str(p["amount_paid"]), "payCode": p["pay_code"], "paidAt": p["paid_at"],
    }  # fmt: skip
    head = {
        "guid": str(uuid.uuid4()).upper(),
        "initalRequest": realtime.compact(initial),
        "initalResponse": "ok",
        "ebpCode": p["ebp_code"],
        "payCode": p["pay_code"],
        "payTransactionId": p["pay_transaction_id"],
        "totalAmount": float(p["amount_paid"]),
        "currency": "142",
        "verDept": "3",
        "payType": "1",
        "tradingTime": time14(p["paid_at"]),
        "note": "",
    }
    goods = [
        {"gname": x["item_name"], "itemLink": f"{settings.SITE_URL}/items/{x['item_no']}"}
        for x in lines
    ]
    lists = [{
        "orderNo": order_no, "goodsInfo": goods,
        "recpAccount": settings.CUSTOMS_REALTIME_RECP_ACCOUNT, "recpCode": p["ebp_code"],
        "recpName": settings.CUSTOMS_REALTIME_RECP_NAME,
    }]  # fmt: skip
    return {
        "sessionID": session_id,
        "payExchangeInfoHead": head,
        "payExchangeInfoLists": lists,
        "serviceTime": str(int(timezone.now().timestamp() * 1000)),
    }


def realtime_data_upload(*, query_id: int) -> str:
    """Upload once: a query already answered is left alone. Raises GatewayUnavailable when
    customs cannot be reached (the task retries)."""
    row = RealtimeQuery.objects.get(pk=query_id)
    if row.state != Q.RECEIVED:
        return row.state
    data = realtime.sign_upload(original_data(row.order_no, row.session_id), get_signer())
    body = realtime.compact(data)
    RealtimeQuery.objects.filter(pk=row.pk).update(uploaded=body)
    try:
        response = requests.post(
            settings.CUSTOMS_REALTIME_UPLOAD_URL,
            data={"payExInfoStr": body},
            timeout=(settings.CUSTOMS_CONNECT_TIMEOUT, settings.CUSTOMS_READ_TIMEOUT),
        )
        answer = response.json()
    except (requests.RequestException, ValueError) as exc:
        RealtimeQuery.objects.filter(pk=row.pk).update(
            attempts=row.attempts + 1, last_error=str(exc)[:500]
        )
        raise GatewayUnavailable(f"real-time data upload: {exc}") from exc
    state = Q.UPLOADED if str(answer.get("code")) == realtime.OK else Q.REFUSED
    RealtimeQuery.objects.filter(pk=row.pk).update(
        state=state, answer=json.dumps(answer, ensure_ascii=False)[:4000],
        attempts=row.attempts + 1, uploaded_at=timezone.now(),
        last_error="" if state == Q.UPLOADED else str(answer.get("message", ""))[:500],
    )  # fmt: skip
    return state


def realtime_uploads_pending() -> int:
    """The beat's catch-up: queries whose upload message was lost or failed."""
    done = 0
    for pk in RealtimeQuery.objects.filter(state=Q.RECEIVED).values_list("pk", flat=True)[:50]:
        try:
            realtime_data_upload(query_id=pk)
            done += 1
        except GatewayUnavailable as exc:
            logger.info("real-time upload %s failed: %s", pk, exc)
    return done
