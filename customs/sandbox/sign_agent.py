"""A stand-in for the U-Key / IC card signing agent (customs/signer.py AgentSigner).

It answers the E-Port client control's calls, as JSON over HTTP POST to any path, with a
software SM2 key in place of the card:
  cus-sec_SpcSignDataAsPEM   args {"inData", "passwd"} -> Data [base64 r||s, certificate no]
  cus-sec_SpcGetSignCertAsPEM                           -> Data [base64 certificate or ""]
  cus-sec_SpcGetCertNo                                  -> Data [certificate no]
A wrong card PIN is refused as the card refuses it (Result false, an Error).
"""

from __future__ import annotations

import base64
import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from customs import sm2

logger = logging.getLogger("customs.sign_agent")


def make_server(
    *,
    host: str,
    port: int,
    private_key: str,
    cert_no: str,
    password: str = "",
    certificate: str = "",
) -> ThreadingHTTPServer:
    def answer(call: dict) -> dict:
        method, args = call.get("_method", ""), call.get("args") or {}
        reply = {"_id": call.get("_id"), "_method": method, "_status": "00"}
        if password and args.get("passwd") != password:
            return {
                **reply,
                "_args": {
                    "Result": False,
                    "Data": [],
                    "Error": ["card PIN refused", "Err:Custom50010"],
                },
            }
        if method == "cus-sec_SpcSignDataAsPEM":
            data = str(args.get("inData", "")).encode()
            value = base64.b64encode(sm2.sign(private_key, data)).decode()
            return {**reply, "_args": {"Result": True, "Data": [value, cert_no], "Error": []}}
        if method == "cus-sec_SpcGetSignCertAsPEM":
            return {**reply, "_args": {"Result": True, "Data": [certificate], "Error": []}}
        if method == "cus-sec_SpcGetCertNo":
            return {**reply, "_args": {"Result": True, "Data": [cert_no], "Error": []}}
        return {**reply, "_args": {"Result": False, "Data": [], "Error": [f"no method {method}"]}}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            logger.debug(fmt, *args)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body, status = answer(json.loads(self.rfile.read(length) or b"{}")), 200
            except (ValueError, TypeError, AttributeError) as exc:
                body, status = (
                    {"_status": "01", "_args": {"Result": False, "Error": [str(exc)]}},
                    400,
                )
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    return ThreadingHTTPServer((host, port), Handler)
