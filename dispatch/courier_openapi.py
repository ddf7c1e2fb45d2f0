"""A real courier's adapter shape: an open-platform HTTP API in the style of SF Express's open
platform (丰桥 "std/service"), which Cainiao's and other couriers' electronic-waybill APIs
resemble. Point COURIER_PROVIDER at `dispatch.courier_openapi.OpenApiCourier` and set
COURIER_OPENAPI_URL, COURIER_OPENAPI_PARTNER_ID and COURIER_OPENAPI_CHECKWORD; the local
stand-in (dispatch/courier_standin.py, its own process) speaks the same contract.

The contract followed (as SF's public SDKs and integration guides describe it):

- Request: POST application/x-www-form-urlencoded with `partnerID` (our customer code),
  `requestID` (a fresh UUID), `serviceCode`, `timestamp` (milliseconds), `msgData` (the
  service's JSON) and `msgDigest` = base64(md5(urlencode(msgData + timestamp + checkword))),
  urlencode as Python's quote_plus / Java's URLEncoder (UTF-8).
- Answer: JSON {"apiResultCode": "A1000" (else A1001 missing parameter, A1002 expired,
  A1004 no permission, A1006 bad digest, ...), "apiErrorMsg", "apiResponseID",
  "apiResultData": a JSON string {"success", "errorCode" ("S0000"), "errorMsg", "msgData"}}.
- Services: EXP_RECE_CREATE_ORDER (order -> waybillNoInfoList[].waybillNo and
  routeLabelInfo[].routeLabelData: destRouteLabel, destCityCode, destDeptCode,
  sourceTransferCode, destTransferCode, twoDimensionCode), EXP_RECE_UPDATE_ORDER with
  dealType 2 (cancel), EXP_RECE_SEARCH_ROUTES (routes of a waybill: acceptTime, opCode).
- Route push to our callback URL: form fields `partnerID`, `timestamp`, `msgData`
  ({"WaybillRoute": [{"id", "mailno", "orderid", "acceptTime", "acceptAddress", "remark",
  "opCode"}]}) and `msgDigest` computed the same way; we answer {"return_code": "0000"}. opCode
  50 collected, 80 signed for (delivered), 70/33 failed attempt, others in transit. A route's
  `id` is the event id: the same push twice is applied once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qs, quote_plus

import requests
from django.conf import settings
from django.utils import timezone

from config.callbacks import CallbackRefused
from dispatch.courier import (
    Allocation,
    CourierAdapter,
    CourierError,
    DeliveryEvent,
    ParcelRequest,
)

logger = logging.getLogger(__name__)

OK = "A1000"
TRANSIENT = {"A1005", "A1009", "A1099"}  # throttled, target down, system error
OP_CODES = {"50": "collected", "80": "delivered", "8000": "delivered", "70": "failed",
            "33": "failed"}  # fmt: skip
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def msg_digest(msg_data: str, timestamp: str, checkword: str) -> str:
    """base64(md5(quote_plus(msgData + timestamp + checkword))): the open platform's digest."""
    if not checkword:
        raise ValueError("refusing to sign with an empty check word")
    plain = quote_plus(msg_data + timestamp + checkword).encode()
    return base64.b64encode(hashlib.md5(plain).digest()).decode()  # noqa: S324 - the contract


def digest_ok(msg_data: str, timestamp: str, checkword: str, digest: str) -> bool:
    return bool(digest) and hmac.compare_digest(msg_digest(msg_data, timestamp, checkword), digest)


def _local_time(text: str) -> datetime:
    """acceptTime is China time without a zone."""
    try:
        naive = datetime.strptime(text, TIME_FORMAT)
    except (TypeError, ValueError):
        return timezone.now()
    return timezone.make_aware(naive, timezone.get_default_timezone())


class OpenApiCourier(CourierAdapter):
    """Allocation, cancellation and status query over the open platform; route pushes
    verified by their digest."""

    def __init__(self, *, url: str = "", partner_id: str = "", checkword: str = ""):
        self.url = url or settings.COURIER_OPENAPI_URL
        self.partner_id = partner_id or settings.COURIER_OPENAPI_PARTNER_ID
        self.checkword = checkword or settings.COURIER_OPENAPI_CHECKWORD

    # --- requests -------------------------------------------------------------------------
    def call(self, service_code: str, msg: dict) -> dict:
        if not (self.partner_id and self.checkword):
            raise CourierError("COURIER_OPENAPI_PARTNER_ID and _CHECKWORD are not set")
        msg_data = json.dumps(msg, ensure_ascii=False, separators=(",", ":"))
        timestamp = str(int(time.time() * 1000))
        form = {
            "partnerID": self.partner_id,
            "requestID": str(uuid.uuid4()),
            "serviceCode": service_code,
            "timestamp": timestamp,
            "msgDigest": msg_digest(msg_data, timestamp, self.checkword),
            "msgData": msg_data,
        }
        try:
            response = requests.post(
                self.url, data=form, timeout=(3, settings.COURIER_OPENAPI_TIMEOUT)
            )
        except requests.RequestException as exc:
            name = exc.__class__.__name__
            raise CourierError(f"{service_code}: {name}", transient=True) from None
        if response.status_code >= 500:
            raise CourierError(f"{service_code}: HTTP {response.status_code}", transient=True)
        try:
            answer = response.json()
        except ValueError:
            raise CourierError(f"{service_code}: not JSON (HTTP {response.status_code})") from None
        code = str(answer.get("apiResultCode", ""))
        if code != OK:
            message = f"{service_code}: {code} {answer.get('apiErrorMsg') or ''}".strip()
            raise CourierError(message, transient=code in TRANSIENT)
        try:
            result = json.loads(answer.get("apiResultData") or "{}")
        except ValueError:
            raise CourierError(f"{service_code}: apiResultData is not JSON") from None
        if not result.get("success"):
            raise CourierError(
                f"{service_code}: {result.get('errorCode')} {result.get('errorMsg') or ''}".strip()
            )
        return result.get("msgData") or {}

    def allocate(self, *, parcel: ParcelRequest) -> Allocation:
        data = self.call("EXP_RECE_CREATE_ORDER", {
            "language": "zh-CN",
            "orderId": parcel.order_no,
            "monthlyCard": settings.COURIER_OPENAPI_MONTHLY_CARD,
            "expressTypeId": 1,
            "isReturnRoutelabel": 1,
            "parcelQty": parcel.pieces,
            "totalWeight": float(parcel.weight_kg),
            "contactInfoList": [
                {"contactType": 1, "company": "Bondport", "contact": "Bondport",
                 "address": settings.COURIER_SENDER_ADDRESS},
                {"contactType": 2, "contact": parcel.consignee, "mobile": parcel.phone,
                 "address": parcel.address, "county": parcel.district},
            ],
            "cargoDetails": [{"name": "跨境保税商品", "count": parcel.pieces,
                              "weight": float(parcel.weight_kg)}],
        })  # fmt: skip
        numbers = [w.get("waybillNo") for w in data.get("waybillNoInfoList") or []
                   if str(w.get("waybillType", 1)) == "1"]  # fmt: skip
        if not numbers or not numbers[0]:
            raise CourierError("EXP_RECE_CREATE_ORDER: no master waybill number in the answer")
        labels = [x.get("routeLabelData") or {} for x in data.get("routeLabelInfo") or []
                  if str(x.get("code")) == "1000"]  # fmt: skip
        label = labels[0] if labels else {}
        route = "-".join(p for p in (label.get("sourceTransferCode"),
                                     label.get("destTransferCode")) if p)  # fmt: skip
        return Allocation(
            logistics_no=str(numbers[0]),
            sort_code=str(label.get("destRouteLabel") or ""),
            destination_code=str(label.get("destDeptCode") or label.get("destCityCode") or ""),
            route=route,
            barcode=str(label.get("waybillNo") or numbers[0]),
            answer=data,
        )

    def cancel(self, *, logistics_no: str, order_no: str) -> None:
        waybills = [{"waybillNo": logistics_no}]
        self.call("EXP_RECE_UPDATE_ORDER",
                  {"orderId": order_no, "dealType": 2, "waybillNoInfoList": waybills})  # fmt: skip

    def collect(self, *, logistics_no, order_no, consignee, weight_kg, callback_url) -> None:
        """Nothing to call: the pickup was booked with the order; the courier's collection
        scan (opCode 50) comes back as a route push."""

    def status(self, *, logistics_no: str) -> list[DeliveryEvent]:
        data = self.call("EXP_RECE_SEARCH_ROUTES", {"language": "0", "trackingType": "1",
                                                    "trackingNumber": [logistics_no],
                                                    "methodType": "1"})  # fmt: skip
        events = []
        for resp in data.get("routeResps") or []:
            for n, route in enumerate(resp.get("routes") or []):
                events.append(self._event(str(resp.get("mailNo") or logistics_no), route, n))
        return events

    # --- route pushes ---------------------------------------------------------------------
    @staticmethod
    def _fields(body: bytes) -> dict[str, str]:
        try:
            parsed = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise CallbackRefused("malformed") from None
        return {k: v[0] for k, v in parsed.items()}

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        fields = self._fields(body)
        timestamp, msg_data = fields.get("timestamp", ""), fields.get("msgData", "")
        if not self.checkword or fields.get("partnerID") != self.partner_id:
            logger.warning("courier route push refused: not for our partner id")
            raise CallbackRefused("bad_signature")
        if not digest_ok(msg_data, timestamp, self.checkword, fields.get("msgDigest", "")):
            logger.warning("courier route push refused: bad digest")
            raise CallbackRefused("bad_signature")
        try:
            age = abs(time.time() - int(timestamp) / 1000)
        except ValueError:
            age = float("inf")
        if age > settings.COURIER_CALLBACK_MAX_AGE_SECONDS:
            logger.warning("courier route push refused: stale timestamp")
            raise CallbackRefused("stale")

    def parse_callback(self, *, body: bytes, headers: Mapping[str, str]) -> list[DeliveryEvent]:
        try:
            routes = json.loads(self._fields(body)["msgData"])["WaybillRoute"]
            return [self._event(str(r["mailno"]), r, str(r["id"])) for r in routes]
        except (ValueError, KeyError, TypeError):
            raise CallbackRefused("malformed") from None

    @staticmethod
    def _event(logistics_no: str, route: dict, event_id) -> DeliveryEvent:
        op = str(route.get("opCode", ""))
        return DeliveryEvent(
            logistics_no=logistics_no,
            status=OP_CODES.get(op, "in_transit"),
            at=_local_time(route.get("acceptTime", "")),
            event_id=str(route.get("id") or f"{op}:{route.get('acceptTime')}:{event_id}"),
            note=f"{op} {route.get('remark') or ''} {route.get('acceptAddress') or ''}".strip(),
        )

    def callback_answer(self) -> tuple[bytes, str]:
        return b'{"return_code":"0000","return_msg":"success"}', "application/json"
