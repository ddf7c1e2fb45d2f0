"""Alipay (OpenAPI gateway) through `python-alipay-sdk` (PyPI, pinned in pyproject).

What we use of Alipay's published OpenAPI contract (every request signed RSA2 by the SDK:
SHA256withRSA over the sorted `k=v&...` of all parameters but `sign`, with the app's private
key; every synchronous answer verified by the SDK with Alipay's public key over the JSON of
`<method>_response`):
- Charges: `alipay.trade.precreate` (the counter's QR: `qr_code`) and `alipay.trade.wap.pay`
  (the mobile web: the signed gateway URL the shopper opens). The buyer's identity travels as
  `ext_user_info` {name, cert_type IDENTITY_CARD, cert_no, need_check_info "T"}: Alipay checks
  the payer is that person and refuses another (the merchant needs the feature enabled).
- The asynchronous notification (form-encoded POST) is verified with Alipay's public key
  (RSA2 over the sorted parameters without `sign` and `sign_type`, the SDK's `verify`); its
  `app_id` must be ours. Alipay re-sends the same notification until answered "success", so
  no nonce is kept: the signed content is applied once (payments.payment_notified).
- `alipay.trade.query`, `alipay.trade.refund` (refund_amount in yuan with two decimals,
  out_request_no our refund's number).
- Customs: `alipay.trade.customs.declare` (the OpenAPI method; the older MAPI
  `alipay.acquire.customs` lives on another gateway with MD5/partner signing the SDK does not
  speak), called through the SDK's generic `server_api`: {out_request_no, trade_no,
  merchant_customs_code, merchant_customs_name, amount, customs_place, is_split, buyer_name,
  buyer_id_no}. Alipay files the payment record with customs and answers alipay_declare_no,
  identity_check (T: the payer is the buyer) and the customs' payment company code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from urllib.parse import parse_qsl

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig
from django.conf import settings

from config.callbacks import CallbackRefused
from marketplace.payment_keys import read_key
from marketplace.payment_provider import ProviderError

logger = logging.getLogger(__name__)

CST = dt_timezone(timedelta(hours=8))  # Alipay's times are Beijing time, without a zone
OK = "10000"


def money(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(Decimal("0.01")))


class AlipayProvider:
    """PAYMENT_PROVIDER=alipay. Settings: ALIPAY_* (README, .env.example)."""

    sandbox = False
    name = "alipay"
    files_customs_payment = True  # Alipay files the payment record (CEB411), not us
    required_settings = (  # in production (config/checks.py)
        "ALIPAY_APP_ID", "ALIPAY_APP_PRIVATE_KEY_PATH", "ALIPAY_PUBLIC_KEY_PATH",
        "ALIPAY_MERCHANT_CUSTOMS_CODE", "ALIPAY_MERCHANT_CUSTOMS_NAME", "ALIPAY_CUSTOMS_PLACE",
    )  # fmt: skip

    def __init__(self):
        self._client = None

    def client(self) -> AliPay:
        if self._client is None:
            self._client = AliPay(
                appid=settings.ALIPAY_APP_ID,
                app_notify_url=settings.PAYMENT_NOTIFY_URL,
                app_private_key_string=read_key(
                    "ALIPAY_APP_PRIVATE_KEY_PATH", "alipay-app-private.pem"
                ),
                alipay_public_key_string=read_key("ALIPAY_PUBLIC_KEY_PATH", "alipay-public.pem"),
                sign_type="RSA2",
                config=AliPayConfig(timeout=15),
            )
            # The SDK's gateway is Alipay's (or its sandbox's); the setting may name a stand-in.
            self._client._gateway = settings.ALIPAY_GATEWAY_URL
        return self._client

    def _call(self, what: str, fn, *args, **kwargs) -> dict:
        try:
            data = fn(*args, **kwargs)
        except AliPayValidationError:
            raise ProviderError(f"Alipay {what}: the answer's signature is wrong") from None
        except AliPayException as exc:
            raise ProviderError(f"Alipay {what}: code {exc.code}") from None
        except OSError as exc:  # urllib: unreachable, timed out, HTTP error
            raise ProviderError(f"Alipay {what}: unreachable ({type(exc).__name__})") from None
        if data.get("code") != OK:
            raise ProviderError(
                f"Alipay {what}: {data.get('code')} {data.get('sub_code', '')} "
                f"{data.get('sub_msg', data.get('msg', ''))}"
            )
        return data

    @staticmethod
    def _identity(holder_name: str, holder_id_number: str) -> dict:
        return {
            "name": holder_name,
            "cert_type": "IDENTITY_CARD",
            "cert_no": holder_id_number,
            "need_check_info": "T",
        }

    def create_charge(
        self, *, token, order_no, amount, subject, holder_name, holder_id_number, notify_url,
        return_url, channel="web", client_ip="",
    ) -> str:  # fmt: skip
        alipay = self.client()
        identity = self._identity(holder_name, holder_id_number)
        if channel == "counter":
            data = self._call(
                "precreate",
                alipay.api_alipay_trade_precreate,
                subject=subject[:256],
                out_trade_no=token,
                total_amount=money(amount),
                notify_url=notify_url,
                ext_user_info=identity,
            )
            return data["qr_code"]
        signed = alipay.api_alipay_trade_wap_pay(
            subject=subject[:256],
            out_trade_no=token,
            total_amount=money(amount),
            return_url=return_url,
            notify_url=notify_url,
            ext_user_info=identity,
            passback_params=order_no,
            quit_url=return_url,
        )
        return f"{alipay._gateway}?{signed}"

    def query(self, *, token: str) -> dict:
        try:
            data = self._call("query", self.client().api_alipay_trade_query, out_trade_no=token)
        except ProviderError as exc:
            if "ACQ.TRADE_NOT_EXIST" not in str(exc):
                raise
            # Alipay creates the trade when the buyer opens the pay page or scans the code.
            return {"state": "open", "transaction_id": "", "amount": None, "provider_state": ""}
        status = data.get("trade_status", "")
        return {
            "state": {
                "TRADE_SUCCESS": "paid",
                "TRADE_FINISHED": "paid",
                "WAIT_BUYER_PAY": "open",
                "TRADE_CLOSED": "closed",
            }.get(status, status.lower()),
            "transaction_id": data.get("trade_no", ""),
            "amount": Decimal(data["total_amount"]) if data.get("total_amount") else None,
            "provider_state": status,
        }

    def refund(self, *, token: str, amount: Decimal, total: Decimal | None = None,
               refund_no: str = "") -> dict:  # fmt: skip
        return self._call(
            "refund",
            self.client().api_alipay_trade_refund,
            refund_amount=money(amount),
            out_trade_no=token,
            out_request_no=refund_no or f"R{token}"[:64],
        )

    def verify_notification(self, *, body: bytes, headers: Mapping[str, str]) -> dict:
        try:
            data = dict(
                parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            )
        except (UnicodeDecodeError, ValueError):
            raise CallbackRefused("malformed") from None
        signature = data.pop("sign", "")
        try:
            good = bool(signature) and self.client().verify(dict(data), signature)
        except (AliPayException, ValueError, TypeError, IndexError):
            good = False
        if not good or data.get("app_id") != settings.ALIPAY_APP_ID:
            logger.warning("Alipay notification refused: bad signature (notify %s)",
                           data.get("notify_id", "")[:64])  # fmt: skip
            raise CallbackRefused("bad_signature")
        if data.get("trade_status") not in ("TRADE_SUCCESS", "TRADE_FINISHED") or data.get(
            "refund_fee"
        ):
            return {"ignored": True}
        paid_at = ""
        if data.get("gmt_payment"):
            paid_at = (
                datetime.strptime(data["gmt_payment"], "%Y-%m-%d %H:%M:%S")
                .replace(tzinfo=CST)
                .isoformat()
            )
        return {
            "token": data["out_trade_no"],
            "order_no": data.get("passback_params", ""),
            "transaction_id": data["trade_no"],
            "amount": data["total_amount"],
            "paid_at": paid_at,
            "payer_checked_by_provider": True,
        }

    def customs_declare(
        self, *, token, transaction_id, order_no, amount, freight, buyer_name, buyer_id_number,
    ) -> dict:  # fmt: skip
        data = self._call(
            "customs declaration",
            self.client().server_api,
            "alipay.trade.customs.declare",
            biz_content={
                "out_request_no": order_no,
                "trade_no": transaction_id,
                "merchant_customs_code": settings.ALIPAY_MERCHANT_CUSTOMS_CODE,
                "merchant_customs_name": settings.ALIPAY_MERCHANT_CUSTOMS_NAME,
                "amount": money(amount),
                "customs_place": settings.ALIPAY_CUSTOMS_PLACE,
                "is_split": "F",
                "buyer_name": buyer_name,
                "buyer_id_no": buyer_id_number,
            },
        )
        identity = data.get("identity_check", "")
        return {
            "provider": self.name,
            "accepted": identity == "T",
            "state": "SUBMITTED",
            "identity_check": identity,
            "declared_no": data.get("alipay_declare_no", ""),
            "verify_department": data.get("ver_dept", ""),
            "verify_department_trade_id": data.get("pay_transaction_id", ""),
            "explanation": "",
            "paid_at": None,
        }
