"""A local stand-in for an open-platform courier (SF Express style; the contract is described
in dispatch/courier_openapi.py): its own process, standard library only, so it checks what a
real courier checks and nothing of ours.

    python -m dispatch.courier_standin --port 8790 --partner-id BONDPORT \
        --checkword <secret> --push-url http://127.0.0.1:8000/courier/callback/

It refuses a request whose msgDigest does not match (A1006), a stale timestamp (A1002) or an
unknown partner (A1004); allocates waybill numbers from its own range (--prefix, --start:
"SF" + 13 digits), the same number again for the same orderId; answers route label data
derived from the address; cancels an order not yet collected; answers route queries; and, on
POST /standin/route {"waybillNo", "opCode"}, records a route and pushes it, signed, to
--push-url. State is kept in memory (one run)."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote_plus, urlencode
from urllib.request import Request, urlopen

CHINA = timezone(timedelta(hours=8))
MAX_AGE_SECONDS = 600


def digest(msg_data: str, timestamp: str, checkword: str) -> str:
    plain = quote_plus(msg_data + timestamp + checkword).encode()
    return base64.b64encode(hashlib.md5(plain).digest()).decode()  # noqa: S324 - the contract


class CourierStandIn:
    def __init__(self, *, partner_id: str, checkword: str, prefix: str = "SF",
                 start: int = 1400000000001, push_url: str = "", origin: str = "371"):  # fmt: skip
        if not checkword:
            raise ValueError("a check word is required")
        self.partner_id, self.checkword = partner_id, checkword
        self.prefix, self.next_no, self.push_url, self.origin = prefix, start, push_url, origin
        self.lock = threading.Lock()
        self.orders: dict[str, dict] = {}  # orderId -> order
        self.by_waybill: dict[str, dict] = {}
        self.requests: list[dict] = []  # what was received (service code, verdict)
        self.server: ThreadingHTTPServer | None = None

    # --- the open platform ----------------------------------------------------------------
    def handle(self, form: dict[str, str]) -> dict:
        service = form.get("serviceCode", "")
        verdict = self._check(form)
        self.requests.append({"serviceCode": service, "apiResultCode": verdict,
                              "requestID": form.get("requestID", "")})  # fmt: skip
        if verdict != "A1000":
            messages = {"A1001": "必传参数不可为空", "A1002": "请求时效已过期",
                        "A1004": "无对应服务权限", "A1006": "数字签名无效"}  # fmt: skip
            return self._answer(verdict, error=messages[verdict])
        try:
            msg = json.loads(form["msgData"])
        except ValueError:
            return self._answer("A1000", result={"success": False, "errorCode": "1010",
                                                 "errorMsg": "msgData 不是 JSON"})  # fmt: skip
        handler = {
            "EXP_RECE_CREATE_ORDER": self._create,
            "EXP_RECE_UPDATE_ORDER": self._update,
            "EXP_RECE_SEARCH_ROUTES": self._routes,
        }.get(service)
        if handler is None:
            return self._answer("A1004", error="无对应服务权限")
        with self.lock:
            return self._answer("A1000", result=handler(msg))

    def _check(self, form: dict[str, str]) -> str:
        needed = ("partnerID", "requestID", "serviceCode", "timestamp", "msgDigest", "msgData")
        if any(not form.get(name) for name in needed):
            return "A1001"
        if form["partnerID"] != self.partner_id:
            return "A1004"
        expected = digest(form["msgData"], form["timestamp"], self.checkword)
        if not hmac.compare_digest(expected, form["msgDigest"]):
            return "A1006"
        try:
            age = abs(time.time() - int(form["timestamp"]) / 1000)
        except ValueError:
            return "A1002"
        return "A1002" if age > MAX_AGE_SECONDS else "A1000"

    @staticmethod
    def _answer(code: str, *, result: dict | None = None, error: str = "") -> dict:
        return {
            "apiResultCode": code,
            "apiErrorMsg": error,
            "apiResponseID": uuid.uuid4().hex.upper(),
            "apiResultData": json.dumps(result, ensure_ascii=False) if result else None,
        }

    @staticmethod
    def _ok(msg_data) -> dict:
        return {"success": True, "errorCode": "S0000", "errorMsg": None, "msgData": msg_data}

    def _create(self, msg: dict) -> dict:
        order_id = str(msg.get("orderId") or "")
        consignee = next((c for c in msg.get("contactInfoList") or []
                          if str(c.get("contactType")) == "2"), None)  # fmt: skip
        if not order_id or not consignee or not consignee.get("address"):
            return {"success": False, "errorCode": "1010", "errorMsg": "收件人地址不能为空"}
        order = self.orders.get(order_id)
        if order is None or order["cancelled"]:
            number = f"{self.prefix}{self.next_no:013d}"
            self.next_no += 1
            order = {"orderId": order_id, "waybillNo": number, "cancelled": False,
                     "address": consignee.get("address", ""), "routes": []}  # fmt: skip
            self.orders[order_id] = order
            self.by_waybill[number] = order
        return self._ok(self._label(order))

    def _label(self, order: dict) -> dict:
        crc, number = zlib.crc32(order["address"].encode()), order["waybillNo"]
        city = f"{100 + crc % 900:03d}"
        dept = f"{city}{'ABCDEFGHJKLMNPQRSTUVWXYZ'[crc // 900 % 24]}{crc // 21600 % 10}"
        return {
            "orderId": order["orderId"],
            "waybillNoInfoList": [{"waybillType": 1, "waybillNo": order["waybillNo"]}],
            "routeLabelInfo": [{"code": "1000", "message": "SYSTEM_SUCCESS", "routeLabelData": {
                "waybillNo": order["waybillNo"],
                "sourceTransferCode": f"{self.origin}W",
                "sourceCityCode": self.origin,
                "destCityCode": city,
                "destDeptCode": dept,
                "destTransferCode": f"{city}W",
                "destRouteLabel": f"{dept}-{crc // 216000 % 90 + 10:02d}",
                "twoDimensionCode": f"MMM={{'k1':'{city}W','k2':'{dept}','k5':'{number}'}}",
            }}],
        }  # fmt: skip

    def _update(self, msg: dict) -> dict:
        order = self.orders.get(str(msg.get("orderId") or ""))
        if order is None:
            return {"success": False, "errorCode": "8024", "errorMsg": "未下单"}
        if str(msg.get("dealType")) != "2":
            return self._ok({"orderId": order["orderId"], "resStatus": 1})
        if any(r["opCode"] == "50" for r in order["routes"]):
            return {"success": False, "errorCode": "8016", "errorMsg": "已收件，不能取消"}
        order["cancelled"] = True
        return self._ok({"orderId": order["orderId"], "resStatus": 2})

    def _routes(self, msg: dict) -> dict:
        numbers = msg.get("trackingNumber") or []
        resps = []
        for number in numbers:
            order = self.by_waybill.get(str(number))
            routes = order["routes"] if order else []
            resps.append({"mailNo": number, "routes": [
                {"acceptTime": r["acceptTime"], "acceptAddress": r["acceptAddress"],
                 "remark": r["remark"], "opCode": r["opCode"]} for r in routes]})  # fmt: skip
        return self._ok({"routeResps": resps})

    # --- route pushes ---------------------------------------------------------------------
    def route(self, waybill_no: str, op_code: str, *, remark: str = "") -> dict:
        """Record a route of the waybill; the push body (form fields) for it, signed."""
        with self.lock:
            order = self.by_waybill[waybill_no]
            route = {
                "id": uuid.uuid4().hex,
                "mailno": waybill_no,
                "orderid": order["orderId"],
                "acceptTime": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                "acceptAddress": "郑州市",
                "remark": remark or {"50": "顺丰速运 已收取快件", "80": "已签收"}.get(op_code, ""),
                "opCode": op_code,
            }
            order["routes"].append(route)
        return self.push_fields([route])

    def push_fields(self, routes: list[dict]) -> dict[str, str]:
        msg_data = json.dumps({"WaybillRoute": routes}, ensure_ascii=False)
        timestamp = str(int(time.time() * 1000))
        return {"partnerID": self.partner_id, "requestID": str(uuid.uuid4()),
                "timestamp": timestamp, "msgData": msg_data,
                "msgDigest": digest(msg_data, timestamp, self.checkword)}  # fmt: skip

    def push(self, fields: dict[str, str]) -> int:
        request = Request(  # noqa: S310 - our own push URL
            self.push_url,
            data=urlencode(fields).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urlopen(request, timeout=10) as response:  # noqa: S310 - our own URL
                return response.status
        except OSError as exc:  # HTTPError carries the status
            return getattr(exc, "code", 0)

    # --- serving --------------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; returns the base URL."""
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://{host}:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _handler(standin: CourierStandIn):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _reply(self, status: int, payload: dict) -> None:
            body = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/standin/route"):
                try:
                    data = json.loads(raw)
                    fields = standin.route(str(data["waybillNo"]), str(data["opCode"]))
                except (ValueError, KeyError):
                    return self._reply(404, {"error": "unknown waybill"})
                status = standin.push(fields) if standin.push_url else 0
                return self._reply(200, {"pushed": status})
            if not self.path.startswith("/std/service"):
                return self._reply(404, {"error": "not found"})
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
            return self._reply(200, standin.handle(form))

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--partner-id", required=True)
    parser.add_argument("--checkword", required=True)
    parser.add_argument("--prefix", default="SF")
    parser.add_argument("--start", type=int, default=1400000000001)
    parser.add_argument("--push-url", default="")
    args = parser.parse_args()
    standin = CourierStandIn(
        partner_id=args.partner_id, checkword=args.checkword, prefix=args.prefix,
        start=args.start, push_url=args.push_url,
    )  # fmt: skip
    server = ThreadingHTTPServer((args.host, args.port), _handler(standin))
    print(f"courier stand-in on http://{args.host}:{args.port}/std/service", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
