"""Local stand-ins for the real payment providers (WeChat Pay, Alipay): small HTTP servers that
speak the provider's published contract as the adapters use it (signed requests checked with
the merchant's public key, answers and notifications signed with the provider's own test key),
so the adapters' real SDK code runs against them. Tests run one on a free port in a thread;
`make run` runs one as its own process (manage.py run_payment_standin). Never in production."""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

Answer = tuple[int, dict, bytes]


def json_answer(status: int, body: bytes, headers: dict | None = None) -> Answer:
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body


def page(title: str, body_html: str, status: int = 200) -> Answer:
    doc = (
        "<!doctype html><html lang='zh-Hans'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width'>"
        f"<title>{html.escape(title)}</title></head><body><main><h1>{html.escape(title)}</h1>"
        f"{body_html}</main></body></html>"
    )
    return status, {"Content-Type": "text/html; charset=utf-8"}, doc.encode()


def pay_form(action: str, amount: str, holder: str) -> str:
    return (
        f"<p>¥{html.escape(amount)}</p><p>付款人 / payer: {html.escape(holder)}</p>"
        f"<form method='post' action='{html.escape(action)}'>"
        "<label>姓名 / name <input name='payer_name'></label> "
        "<label>身份证号 / resident ID <input name='payer_id_number'></label> "
        "<p><small>空白 = 本人 (the account holder)</small></p>"
        "<button type='submit'>确认付款 / Pay</button></form>"
    )


def post_notification(url: str, body: bytes, headers: dict) -> int:
    return requests.post(url, data=body, headers=headers, timeout=(2, 10)).status_code


class StandInServer:
    """The stand-in on an HTTP port (0: a free one); `url` once started."""

    def __init__(self, standin, host: str = "127.0.0.1", port: int = 0):
        handler = _handler(standin)
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        standin.base_url = self.url
        self.thread = None

    def start(self) -> StandInServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(standin):
    class Handler(BaseHTTPRequestHandler):
        def _any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, out = standin.handle(self.command, self.path, self.headers, body)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = _any

        def log_message(self, format, *args):  # quiet: bodies carry identities
            pass

    return Handler
