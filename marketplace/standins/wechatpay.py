"""A WeChat Pay APIv3 stand-in: the requests our adapter makes, checked and answered as WeChat
Pay documents them (see marketplace/payment_wechat.py for the contract).

It checks every request's `Authorization` (WECHATPAY2-SHA256-RSA2048, RSA-SHA256 over
METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY\\n) with the merchant's public key, signs its answers
and notifications with its own platform key (Wechatpay-* headers over
TIMESTAMP\\nNONCE\\nBODY\\n) and encrypts the notification's resource with the APIv3 key
(AEAD_AES_256_GCM). Its QR code_url and h5_url lead to its own pay page (the real ones open
WeChat), where the payer must be the identity the charge carried, as the wallet requires."""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from marketplace.standins import json_answer, page, pay_form, post_notification
from marketplace.standins.customs_filing import CustomsFiler, PaymentRecord

CST = timezone(timedelta(hours=8))
AUTH = re.compile(r'(\w+)="([^"]*)"')


class WeChatPayStandIn:
    # WeChat Pay's payment company (Tenpay) as registered with customs: the CEB411's payCode.
    pay_code, pay_name = "4403169D3W", "财付通支付科技有限公司"
    wallet_telephone = "13800000000"  # the mobile bound to the stand-in's wallets

    def __init__(self, *, merchant_public_pem: str, platform_private_pem: str,
                 public_key_id: str, apiv3_key: str, mchid: str, appid: str,
                 filer: CustomsFiler | None = None):  # fmt: skip
        self.merchant_key = load_pem_public_key(merchant_public_pem.encode())
        self.platform_key = load_pem_private_key(platform_private_pem.encode(), password=None)
        self.public_key_id = public_key_id
        self.apiv3_key = apiv3_key
        self.mchid, self.appid = mchid, appid
        self.base_url = ""
        self.lock = threading.Lock()
        self.charges: dict[str, dict] = {}
        self.refunds: list[dict] = []
        self.customs: list[dict] = []  # declarations as received
        self.certificates: list[dict] = []  # identity checks, decrypted
        self.refused: list[str] = []  # why requests were refused (bad signature...)
        self.filer = filer  # files the CEB411 with customs on an accepted declaration

    # --- signatures ------------------------------------------------------------------------
    def sign(self, message: str) -> str:
        return base64.b64encode(
            self.platform_key.sign(message.encode(), PKCS1v15(), SHA256())
        ).decode()

    def signed_headers(self, body: str) -> dict:
        ts, nonce = str(int(time.time())), secrets.token_hex(16).upper()
        return {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": self.sign(f"{ts}\n{nonce}\n{body}\n"),
            "Wechatpay-Serial": self.public_key_id,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    def _authorized(self, method: str, path: str, headers, body: bytes) -> bool:
        auth = headers.get("Authorization", "")
        if not auth.startswith("WECHATPAY2-SHA256-RSA2048 "):
            return False
        fields = dict(AUTH.findall(auth))
        if fields.get("mchid") != self.mchid:
            return False
        message = f"{method}\n{path}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n"
        message += body.decode() + "\n"
        try:
            self.merchant_key.verify(base64.b64decode(fields.get("signature", "")),
                                     message.encode(), PKCS1v15(), SHA256())  # fmt: skip
        except (InvalidSignature, ValueError):
            return False
        return abs(time.time() - int(fields.get("timestamp", "0"))) < 300

    def answer(self, status: int, data: dict):
        body = json.dumps(data, ensure_ascii=False)
        return json_answer(status, body.encode(), self.signed_headers(body))

    # --- HTTP ------------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers, body: bytes):
        route = urlsplit(path).path
        if route.startswith("/pay/"):
            no = route.removeprefix("/pay/").strip("/")
            back = parse_qs(urlsplit(path).query).get("redirect_url")
            if back and no in self.charges:
                self.charges[no]["redirect_url"] = back[0]
            return self.pay_page(method, no, body)
        if not self._authorized(method, path, headers, body):
            self.refused.append(f"{method} {route}: bad signature")
            return json_answer(401, b'{"code":"SIGN_ERROR","message":"signature is wrong"}')
        data = json.loads(body) if body else {}
        with self.lock:
            if method == "POST" and route in ("/v3/pay/transactions/native",
                                              "/v3/pay/transactions/h5"):  # fmt: skip
                return self.charge(route.rsplit("/", 1)[1], data)
            if method == "GET" and route.startswith("/v3/pay/transactions/out-trade-no/"):
                return self.query(route.rsplit("/", 1)[1], parse_qs(urlsplit(path).query))
            if method == "POST" and route == "/v3/refund/domestic/refunds":
                return self.refund(data)
            if method == "POST" and route == "/v3/global/customs/orders":
                return self.declare(data)
            if method == "POST" and route == "/v3/global/customs/verify-certificate":
                return self.verify_certificate(data)
        return self.answer(404, {"code": "NOT_FOUND", "message": route})

    def charge(self, kind: str, data: dict):
        no = data.get("out_trade_no", "")
        if data.get("mchid") != self.mchid or data.get("appid") != self.appid or not no:
            return self.answer(400, {"code": "PARAM_ERROR", "message": "mchid/appid"})
        if kind == "h5" and not (data.get("scene_info") or {}).get("payer_client_ip"):
            return self.answer(400, {"code": "PARAM_ERROR", "message": "scene_info"})
        self.charges.setdefault(no, {**data, "kind": kind, "trade_state": "NOTPAY"})
        if kind == "native":
            return self.answer(200, {"code_url": f"{self.base_url}/pay/{no}"})
        return self.answer(200, {"h5_url": f"{self.base_url}/pay/{no}?prepay_id=wx{no[:16]}"})

    def query(self, no: str, query: dict):
        charge = self.charges.get(no)
        if charge is None or query.get("mchid") != [self.mchid]:
            return self.answer(404, {"code": "ORDER_NOT_EXIST", "message": "no such order"})
        return self.answer(200, self._transaction(charge))

    def refund(self, data: dict):
        charge = self.charges.get(data.get("out_trade_no", ""))
        amount = data.get("amount") or {}
        if charge is None or charge["trade_state"] not in ("SUCCESS", "REFUND"):
            return self.answer(400, {"code": "INVALID_REQUEST", "message": "not paid"})
        if amount.get("total") != charge["amount"]["total"] or not (
            0 < int(amount.get("refund", 0)) <= charge["amount"]["total"]
        ):
            return self.answer(400, {"code": "PARAM_ERROR", "message": "amount"})
        for done in self.refunds:
            if done["out_refund_no"] == data["out_refund_no"]:
                return self.answer(200, done["answer"])
        charge["trade_state"] = "REFUND"
        answer = {
            "refund_id": f"50{secrets.randbelow(10**16):016d}",
            "out_refund_no": data["out_refund_no"],
            "transaction_id": charge["transaction_id"],
            "out_trade_no": charge["out_trade_no"],
            "status": "SUCCESS",
            "amount": {"refund": amount["refund"], "total": amount["total"], "currency": "CNY"},
        }
        self.refunds.append({**data, "answer": answer})
        return self.answer(200, answer)

    def declare(self, data: dict):
        charge = self.charges.get(data.get("out_trade_no", ""))
        if charge is None or charge.get("transaction_id") != data.get("transaction_id"):
            return self.answer(400, {"code": "PARAM_ERROR", "message": "unknown transaction"})
        if not data.get("customs") or not data.get("merchant_customs_no"):
            return self.answer(400, {"code": "PARAM_ERROR", "message": "customs"})
        self.customs.append(data)
        if self.filer is not None:
            self.filer.submit(self._payment_record(charge, data))
        return self.answer(200, {
            "appid": self.appid, "mchid": self.mchid, "out_trade_no": data["out_trade_no"],
            "transaction_id": data["transaction_id"], "customs": data["customs"],
            "merchant_customs_no": data["merchant_customs_no"],
            "sub_order_no": data.get("sub_order_no", ""),
            "sub_order_id": f"SUB{data['transaction_id'][-12:]}",
            "state": "SUBMITTED", "verify_department": "UNIONPAY",
            "verify_department_trade_id": f"VD{data['transaction_id'][-12:]}",
            "modify_time": datetime.now(CST).isoformat(timespec="seconds"),
        })  # fmt: skip

    def _payment_record(self, charge: dict, data: dict) -> PaymentRecord:
        """The payment as WeChat Pay holds it: amount paid, transaction, the wallet's payer."""
        paid_by = charge.get("paid_by") or {}
        return PaymentRecord(
            pay_code=self.pay_code, pay_name=self.pay_name,
            pay_transaction_id=charge["transaction_id"],
            order_no=data.get("sub_order_no") or charge.get("attach") or charge["out_trade_no"],
            ebp_code=data["merchant_customs_no"], ebp_name=data["merchant_customs_no"],
            payer_name=paid_by.get("name", ""), payer_id_number=paid_by.get("number", ""),
            telephone=self.wallet_telephone,
            amount_paid=Decimal(charge["amount"]["total"]) / 100,
            pay_time=datetime.fromisoformat(charge["success_time"]),
        )  # fmt: skip

    def verify_certificate(self, data: dict):
        charge = self.charges.get(data.get("out_trade_no", ""))
        if charge is None or not any(
            c["out_trade_no"] == charge["out_trade_no"] for c in self.customs
        ):
            return self.answer(400, {"code": "INVALID_REQUEST", "message": "not declared"})
        try:
            name = self._decrypt(data["certificate_name"])
            number = self._decrypt(data["certificate_id"])
        except (KeyError, ValueError):
            return self.answer(400, {"code": "PARAM_ERROR", "message": "certificate"})
        self.certificates.append({**data, "certificate_name": name, "certificate_id": number})
        paid_by = charge.get("paid_by") or {}
        same = paid_by.get("name") == name and paid_by.get("number") == number
        return self.answer(200, {
            "out_trade_no": charge["out_trade_no"], "transaction_id": charge["transaction_id"],
            "certificate_check_result": "SAME" if same else "DIFFERENT",
        })  # fmt: skip

    def _decrypt(self, value: str) -> str:
        return self.platform_key.decrypt(base64.b64decode(value), PKCS1v15()).decode()

    # --- the payer -------------------------------------------------------------------------
    def pay_page(self, method: str, no: str, body: bytes):
        charge = self.charges.get(no)
        if charge is None:
            return page("订单不存在 / No such order", "", 404)
        amount = f"{charge['amount']['total'] / 100:.2f}"
        if method == "POST" and charge["trade_state"] == "NOTPAY":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            try:
                self.pay(no, payer_name=form.get("payer_name", ""),
                         payer_id_number=form.get("payer_id_number", ""), deliver=True)  # fmt: skip
            except PermissionError as refused:
                return page("付款被拒 / Payment refused", f"<p>{refused}</p>", 403)
        if charge["trade_state"] != "NOTPAY":
            back = html.escape(charge.get("redirect_url", ""))
            link = f"<p><a href='{back}'>返回商户 / Back to the shop</a></p>" if back else ""
            return page("支付成功 / Paid", f"<p>¥{amount}</p>{link}")
        identity = (charge.get("payer") or {}).get("identity") or {}
        return page(
            "微信支付 / WeChat Pay", pay_form(f"/pay/{no}", amount, identity.get("name", ""))
        )

    def pay(self, no: str, *, payer_name: str = "", payer_id_number: str = "",
            deliver: bool = False) -> tuple[bytes, dict]:  # fmt: skip
        """The payer confirms. The charge's payer.identity must be the payer (empty: the holder),
        as WeChat Pay's real-name payment requires; returns the signed notification."""
        with self.lock:
            charge = self.charges[no]
            identity = (charge.get("payer") or {}).get("identity") or {}
            name = payer_name.strip() or identity.get("name", "")
            number = payer_id_number.strip().upper() or identity.get("number", "")
            if identity and (name, number) != (identity.get("name"), identity.get("number")):
                raise PermissionError(
                    "此订单须由下单人本人支付 / Only the buyer may pay this order."
                )
            charge.update(
                trade_state="SUCCESS",
                transaction_id=f"42{secrets.randbelow(10**26):026d}",
                success_time=datetime.now(CST).isoformat(timespec="seconds"),
                paid_by={"name": name, "number": number},
            )
        body, headers = self.notification(no)
        if deliver:
            post_notification(charge["notify_url"], body, headers)
        return body, headers

    def _transaction(self, charge: dict) -> dict:
        data = {
            "appid": self.appid, "mchid": self.mchid, "out_trade_no": charge["out_trade_no"],
            "trade_state": charge["trade_state"], "attach": charge.get("attach", ""),
            "amount": {"total": charge["amount"]["total"], "currency": "CNY"},
        }  # fmt: skip
        if charge.get("transaction_id"):
            data |= {
                "transaction_id": charge["transaction_id"],
                "trade_type": charge["kind"].upper().replace("H5", "MWEB"),
                "success_time": charge["success_time"],
                "payer": {"openid": "o" + charge["transaction_id"][-27:]},
            }
            data["amount"] |= {"payer_total": charge["amount"]["total"], "payer_currency": "CNY"}
        return data

    def notification(
        self, no: str, *, event_type: str = "TRANSACTION.SUCCESS"
    ) -> tuple[bytes, dict]:
        resource = json.dumps(self._transaction(self.charges[no]), ensure_ascii=False)
        nonce = secrets.token_hex(6)
        ciphertext = AESGCM(self.apiv3_key.encode()).encrypt(
            nonce.encode(), resource.encode(), b"transaction"
        )
        created = datetime.now(CST).isoformat(timespec="seconds")
        body = json.dumps({
            "id": secrets.token_hex(18), "create_time": created,
            "resource_type": "encrypt-resource", "event_type": event_type, "summary": "支付成功",
            "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(ciphertext).decode(),
                         "associated_data": "transaction", "nonce": nonce},
        }, ensure_ascii=False)  # fmt: skip
        return body.encode(), {"Content-Type": "application/json", **self.signed_headers(body)}
