"""WeChat Pay (APIv3) through the maintained `wechatpayv3` SDK (PyPI, pinned in pyproject).

What we use of WeChat Pay's published APIv3 contract:
- Charges: `POST /v3/pay/transactions/native` (the counter's QR: `code_url`) and
  `POST /v3/pay/transactions/h5` (the mobile web: `h5_url`), amounts in fen. The buyer's
  identity travels as `payer.identity` {type IDCARD, number, name} (WeChat Pay's real-name
  payment: the wallet refuses a payer who is not that person; the merchant needs the
  permission enabled by WeChat Pay).
- Requests are signed by the SDK: `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=...,
  nonce_str, signature, timestamp, serial_no`, RSA-SHA256 over
  "METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY\\n" with the merchant's API private key.
- Answers and notifications are verified with the WeChat Pay platform public key (public-key
  mode: `Wechatpay-Serial` is the key's id PUB_KEY_ID_...): headers Wechatpay-Timestamp,
  -Nonce, -Signature, -Serial, -Signature-Type (WECHATPAY2-SHA256-RSA2048), RSA-SHA256 over
  "TIMESTAMP\\nNONCE\\nBODY\\n"; the notification's `resource` is AEAD_AES_256_GCM encrypted
  with the APIv3 key (nonce, associated_data, ciphertext). We refuse a serial other than the
  configured key's (so the SDK never goes fetching certificates), timestamps older than
  PAYMENT_NOTIFY_MAX_AGE_SECONDS and replayed nonces (NotificationNonce, "wx:" prefix).
- Query `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=`, refund
  `POST /v3/refund/domestic/refunds` (amount.refund / amount.total in fen).
- Customs (cross-border payment declaration, WeChat Pay's 报关 API v3, on the customs host
  WECHATPAY_CUSTOMS_BASE_URL): `POST /v3/global/customs/orders` {appid, mchid, out_trade_no,
  transaction_id, customs, merchant_customs_no, sub_order_no, fee_type, order_fee,
  product_fee, transport_fee} (WeChat Pay files the payment record with customs; we declare
  under sub_order_no = our order number with its amount in fen), then
  `POST /v3/global/customs/verify-certificate` with certificate_type IDCARD and the buyer's
  certificate_id / certificate_name RSA-encrypted (RSAES-PKCS1-v1_5, the platform public key,
  base64) so WeChat Pay checks the payer against the buyer and tells us.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Mapping
from decimal import Decimal

import requests
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.db import IntegrityError, transaction
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.type import RequestType

from config.callbacks import CallbackRefused
from marketplace.payment_keys import read_key
from marketplace.payment_provider import ProviderError

logger = logging.getLogger(__name__)

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"


def fen(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).quantize(Decimal("1")))


def yuan(fen_amount: int | str) -> Decimal:
    return (Decimal(int(fen_amount)) / 100).quantize(Decimal("0.01"))


def apiv3_key() -> str:
    if settings.WECHATPAY_APIV3_KEY:
        return settings.WECHATPAY_APIV3_KEY
    return read_key("WECHATPAY_APIV3_KEY_PATH", "wechatpay-apiv3.key")


class WeChatPayProvider:
    """PAYMENT_PROVIDER=wechatpay. Settings: WECHATPAY_* (README, .env.example)."""

    sandbox = False
    name = "wechatpay"
    files_customs_payment = True  # WeChat Pay files the payment record (CEB411), not us
    required_settings = (  # in production (config/checks.py)
        "WECHATPAY_MCHID", "WECHATPAY_APPID", "WECHATPAY_CERT_SERIAL_NO",
        "WECHATPAY_PRIVATE_KEY_PATH", "WECHATPAY_PUBLIC_KEY_ID", "WECHATPAY_PUBLIC_KEY_PATH",
        ("WECHATPAY_APIV3_KEY", "WECHATPAY_APIV3_KEY_PATH"), "WECHATPAY_MERCHANT_CUSTOMS_NO",
        "WECHATPAY_CUSTOMS",
    )  # fmt: skip

    def __init__(self):
        self.public_key_pem = read_key("WECHATPAY_PUBLIC_KEY_PATH", "wechatpay-platform-public.pem")
        self.public_key_id = settings.WECHATPAY_PUBLIC_KEY_ID
        self._clients: dict[tuple, WeChatPay] = {}

    def client(self, pay_type=WeChatPayType.NATIVE, *, base_url: str = "") -> WeChatPay:
        key = (pay_type, base_url)
        if key not in self._clients:
            wxpay = WeChatPay(
                wechatpay_type=pay_type,
                mchid=settings.WECHATPAY_MCHID,
                private_key=read_key(
                    "WECHATPAY_PRIVATE_KEY_PATH", "wechatpay-merchant-private.pem"
                ),
                cert_serial_no=settings.WECHATPAY_CERT_SERIAL_NO,
                appid=settings.WECHATPAY_APPID,
                apiv3_key=apiv3_key(),
                notify_url=settings.PAYMENT_NOTIFY_URL,
                public_key=self.public_key_pem,
                public_key_id=self.public_key_id,
                timeout=(3, 15),
                logger=None,  # the SDK's debug log would carry bodies (identity): never on
            )
            # The SDK's gateway is fixed; the setting points it at WeChat Pay or a stand-in.
            wxpay._core._gate_way = (base_url or settings.WECHATPAY_BASE_URL).rstrip("/")
            self._clients[key] = wxpay
        return self._clients[key]

    @staticmethod
    def _send(fn, *args, **kwargs):
        """One SDK call; unreachable, or an answer whose signature fails (the SDK raises a
        bare Exception for it), is a ProviderError."""
        try:
            return fn(*args, **kwargs)
        except requests.RequestException as exc:
            raise ProviderError(f"WeChat Pay unreachable: {type(exc).__name__}") from None
        except Exception as exc:
            raise ProviderError(f"WeChat Pay: {exc}"[:200]) from None

    @staticmethod
    def _answer(code: int, message, what: str) -> dict:
        try:
            data = json.loads(message) if message else {}
        except (TypeError, ValueError):
            data = {}
        if not 200 <= code < 300:
            raise ProviderError(
                f"WeChat Pay {what}: HTTP {code} {data.get('code', '')} {data.get('message', '')}"
            )
        return data

    # --- charges -------------------------------------------------------------------------
    def create_charge(
        self, *, token, order_no, amount, subject, holder_name, holder_id_number, notify_url,
        return_url, channel="web", client_ip="",
    ) -> str:  # fmt: skip
        """The counter gets Native's code_url (shown as a QR code), the web H5's h5_url."""
        pay_type = WeChatPayType.NATIVE if channel == "counter" else WeChatPayType.H5
        kwargs = {}
        if pay_type == WeChatPayType.H5:
            kwargs["scene_info"] = {
                "payer_client_ip": client_ip or "127.0.0.1",
                "h5_info": {"type": "Wap"},
            }
        code, message = self._send(
            self.client(pay_type).pay,
            description=subject[:127],
            out_trade_no=token,
            amount={"total": fen(amount), "currency": "CNY"},
            payer={"identity": {"type": "IDCARD", "number": holder_id_number, "name": holder_name}},
            attach=order_no,
            notify_url=notify_url,
            pay_type=pay_type,
            **kwargs,
        )
        data = self._answer(code, message, "charge")
        url = data.get("code_url") or data.get("h5_url")
        if not url:
            raise ProviderError("WeChat Pay charge: no code_url/h5_url in the answer")
        if pay_type == WeChatPayType.H5 and return_url:
            from urllib.parse import quote

            url += ("&" if "?" in url else "?") + "redirect_url=" + quote(return_url, safe="")
        return url

    def query(self, *, token: str) -> dict:
        code, message = self._send(self.client().query, out_trade_no=token)
        data = self._answer(code, message, "query")
        total = (data.get("amount") or {}).get("total")
        return {
            "state": {"SUCCESS": "paid", "REFUND": "refunded", "NOTPAY": "open"}.get(
                data.get("trade_state", ""), data.get("trade_state", "").lower()
            ),
            "transaction_id": data.get("transaction_id", ""),
            "amount": yuan(total) if total is not None else None,
            "provider_state": data.get("trade_state", ""),
        }

    def refund(self, *, token: str, amount: Decimal, total: Decimal | None = None,
               refund_no: str = "") -> dict:  # fmt: skip
        code, message = self._send(
            self.client().refund,
            out_refund_no=refund_no or f"R{token}"[:64],
            amount={
                "refund": fen(amount),
                "total": fen(total if total is not None else amount),
                "currency": "CNY",
            },
            out_trade_no=token,
        )
        data = self._answer(code, message, "refund")
        if data.get("status") not in ("SUCCESS", "PROCESSING"):
            raise ProviderError(f"WeChat Pay refund: status {data.get('status')}")
        return data

    # --- notifications -------------------------------------------------------------------
    def verify_notification(self, *, body: bytes, headers: Mapping[str, str]) -> dict:
        """Verified with the platform public key, the resource decrypted with the APIv3 key;
        returns the payment as payments.notification_verify reads it ({"ignored": True} for
        another kind of notification, e.g. a refund's)."""
        from marketplace.models import NotificationNonce

        h = {k.lower(): v for k, v in headers.items()}
        serial = h.get("wechatpay-serial", "")
        nonce = h.get("wechatpay-nonce", "")
        if h.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise CallbackRefused("bad_signature")
        if not serial or serial != self.public_key_id:
            logger.warning("WeChat Pay notification refused: unknown serial %s", serial[:64])
            raise CallbackRefused("bad_signature")
        sdk_headers = {
            "Wechatpay-Signature": h.get("wechatpay-signature", ""),
            "Wechatpay-Timestamp": h.get("wechatpay-timestamp", ""),
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": serial,
            "Wechatpay-Signature-Type": h.get("wechatpay-signature-type", SIGNATURE_TYPE),
        }
        try:
            result = self.client().callback(sdk_headers, body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, TypeError):
            result = None
        if not result:
            logger.warning("WeChat Pay notification refused: bad signature (nonce %s)", nonce[:64])
            raise CallbackRefused("bad_signature")
        try:
            age = abs(time.time() - int(sdk_headers["Wechatpay-Timestamp"]))
        except ValueError:
            age = float("inf")
        if age > settings.PAYMENT_NOTIFY_MAX_AGE_SECONDS:
            raise CallbackRefused("stale")
        if not 8 <= len(nonce) <= 61:
            raise CallbackRefused("bad_nonce")
        try:
            with transaction.atomic():
                NotificationNonce.objects.create(nonce=f"wx:{nonce}")
        except IntegrityError:
            logger.warning("WeChat Pay notification refused: replayed nonce %s", nonce[:64])
            raise CallbackRefused("replayed") from None
        resource = result.get("resource") or {}
        if result.get("event_type") != "TRANSACTION.SUCCESS" or resource.get("trade_state") != (
            "SUCCESS"
        ):
            return {"ignored": True}
        return {
            "token": resource["out_trade_no"],
            "order_no": resource.get("attach", ""),
            "transaction_id": resource["transaction_id"],
            "amount": str(yuan(resource["amount"]["total"])),
            "paid_at": resource.get("success_time", ""),
            "payer_checked_by_provider": True,
        }

    # --- customs -------------------------------------------------------------------------
    def _encrypt(self, text: str) -> str:
        key = load_pem_public_key(self.public_key_pem.encode())
        return base64.b64encode(key.encrypt(text.encode(), PKCS1v15())).decode()

    def customs_declare(
        self, *, token, transaction_id, order_no, amount, freight, buyer_name, buyer_id_number,
    ) -> dict:  # fmt: skip
        """Ask WeChat Pay to file the payment with customs, then to check the buyer's identity
        against the payer; the answer as we record it (accepted, state, identity check)."""
        wxpay = self.client(base_url=settings.WECHATPAY_CUSTOMS_BASE_URL)
        common = {
            "appid": settings.WECHATPAY_APPID,
            "mchid": settings.WECHATPAY_MCHID,
            "out_trade_no": token,
            "transaction_id": transaction_id,
            "customs": settings.WECHATPAY_CUSTOMS,
            "merchant_customs_no": settings.WECHATPAY_MERCHANT_CUSTOMS_NO,
            "sub_order_no": order_no,
        }
        total = fen(amount)
        code, message = self._send(
            wxpay._core.request,
            "/v3/global/customs/orders",
            method=RequestType.POST,
            data={
                **common,
                "fee_type": "CNY",
                "order_fee": total,
                "transport_fee": fen(freight),
                "product_fee": total - fen(freight),
            },
        )
        declared = self._answer(code, message, "customs declaration")
        code, message = self._send(
            wxpay._core.request,
            "/v3/global/customs/verify-certificate",
            method=RequestType.POST,
            data={
                **common,
                "certificate_type": "IDCARD",
                "certificate_id": self._encrypt(buyer_id_number),
                "certificate_name": self._encrypt(buyer_name),
            },
        )
        checked = self._answer(code, message, "identity verification")
        state = declared.get("state", "")
        identity = checked.get("certificate_check_result", "")
        return {
            "provider": self.name,
            "accepted": state in ("PROCESSING", "SUBMITTED", "SUCCESS") and identity == "SAME",
            "state": state,
            "identity_check": identity,
            "declared_no": declared.get("sub_order_id", ""),
            "verify_department": declared.get("verify_department", ""),
            "verify_department_trade_id": declared.get("verify_department_trade_id", ""),
            "explanation": declared.get("explanation", "")[:200],
            "paid_at": None,
        }
